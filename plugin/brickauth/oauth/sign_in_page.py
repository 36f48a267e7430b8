"""Before a browser sign-in: load the authorize URL once ourselves, so that an identity provider that
answers with an error page (unknown app, redirect URL not registered, bad scope) is reported at once,
in the terminal, with the fix, instead of a browser tab showing the error while the CLI waits
``login_timeout`` seconds for a redirect that will never come.

The probe sends exactly what the browser would send (no cookies, no credentials): a GET of the
authorize URL, redirects not followed, bounded by the settings' timeout. What it reads:

- a redirect (302, or Entra's ``form_post`` page) back to our redirect URI carrying ``error=``: the
  server's own error for the request (RFC 6749 4.1.2.1);
- an Entra error page (``AADSTSnnnn: ...``) or a Databricks JSON error: the page the browser would show;
- anything else (the sign-in form): fine, open the browser.

Fixes for sign-in come from the doctor's knowledge base (``brickauth.doctor.knowledge``), the U2M part
of it, flattened to one line; a few are specific to the sign-in app choice (``u2m_client_id``).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from brickauth.errors import BrickauthError, LoginError

log = logging.getLogger(__name__)

_AADSTS_TEXT = re.compile(r"AADSTS(\d+):\s*([^<\n]{0,400})")
_HIDDEN = re.compile(r"<input[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"", re.IGNORECASE)
_FORM_ACTION = re.compile(r"<form[^>]*action=\"([^\"]+)\"", re.IGNORECASE)

# Sign-in specific fixes (the doctor's entries speak of AZURE_CLIENT_ID, the M2M setting).
_U2M_FIXES = {
    700016: "set BRICKAUTH_AZURE_U2M_CLIENT_ID (or --client-id) to the Application (client) ID of an app "
    "registration in tenant {tenant}, or unset it to sign in with the Azure CLI's app; check "
    "AZURE_TENANT_ID is the tenant where that app is registered.",
}


@dataclass(frozen=True)
class PageError:
    """What the sign-in page (or the redirect) said instead of asking the user to sign in."""

    error: str
    description: str
    redirected: bool  # True: sent back to our redirect URI (the server's OAuth error)
    aadsts: int | None = None


def read_sign_in_page(http: Any, url: str, redirect_uri: str) -> PageError | None:
    """GET ``url`` as the browser would (no redirects followed); the error it shows, or None."""
    try:
        response = http.get(url, headers={"Accept": "text/html,application/json"})
    except BrickauthError as err:  # unreachable IdP: the browser would fail too; say so later
        log.debug("sign-in page probe failed: %s", err.code)
        return None
    try:
        status = int(response.status_code)
        if status in (301, 302, 303, 307, 308):
            return _from_redirect(str(response.headers.get("Location") or ""), redirect_uri)
        text = response.text or ""
    finally:
        response.close()
    content_type = str(response.headers.get("Content-Type") or "")
    if "json" in content_type and status >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if isinstance(body, Mapping) and body.get("error"):
            return PageError(str(body["error"]), str(body.get("error_description") or ""), False)
    action = _FORM_ACTION.search(text)
    if action and _same_target(html.unescape(action.group(1)), redirect_uri):  # Entra form_post
        fields = {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(text)}
        if fields.get("error"):
            return _page_error(fields["error"], fields.get("error_description", ""), True)
        return None
    found = _AADSTS_TEXT.search(html.unescape(text))
    if found is not None:
        return PageError("invalid_request", f"AADSTS{found.group(1)}: {found.group(2).strip()}", False,
                         int(found.group(1)))  # fmt: skip
    if status >= 400:
        said = re.sub(r"<[^>]+>", " ", text)
        return PageError(f"http_{status}", " ".join(said.split())[:300], False)
    return None


def _from_redirect(location: str, redirect_uri: str) -> PageError | None:
    if not _same_target(location, redirect_uri):
        return None  # e.g. a hop to a login page on another path: the browser will follow it
    parts = urlsplit(location)
    params = {k: v[0] for k, v in parse_qs(parts.query or parts.fragment).items()}
    if not params.get("error"):
        return None
    return _page_error(params["error"], params.get("error_description", ""), True)


def _page_error(error: str, description: str, redirected: bool) -> PageError:
    found = re.search(r"AADSTS(\d+)", description)
    return PageError(error, description, redirected, int(found.group(1)) if found else None)


def _same_target(url: str, redirect_uri: str) -> bool:
    a, b = urlsplit(url), urlsplit(redirect_uri)
    return (a.scheme, a.hostname, a.port, a.path.rstrip("/")) == (
        b.scheme, b.hostname, b.port, b.path.rstrip("/"))  # fmt: skip


def doctor_fix(text: str, *, client_id: str | None = None) -> str | None:
    """The doctor's fix for an error text, the U2M (browser sign-in) part, on one line; None if the
    knowledge base has no specific cause for it."""
    try:
        from brickauth.doctor.knowledge import load

        cause = load().best(text)
    except Exception:  # a broken knowledge base must not break a sign-in
        log.debug("doctor knowledge base unavailable", exc_info=True)
        return None
    if cause is None or cause.generic:
        return None
    fix = cause.fix.split("\nM2M (", 1)[0]
    fix = re.sub(r"^U2M \(browser sign-in\):\s*", "", fix)
    if client_id:
        fix = fix.replace("<your app>", f"the app {client_id}")
    return " ".join(fix.split())


def page_error_to_login_error(page: PageError, *, provider: str, client_id: str, tenant: str | None,
                              url: str) -> LoginError:  # fmt: skip
    """One line: what the browser would show and the fix."""
    said = re.split(r"\s*(Trace ID|Correlation ID|Timestamp):", page.description, maxsplit=1)[0].strip()
    said = " ".join(said.split())[:400] or page.error
    where = urlsplit(url)
    page_name = f"{where.scheme}://{where.netloc}{where.path}"
    if page.redirected:
        what = f"{provider} refused the sign-in request ({page.error}): {said}"
    else:
        what = f"{provider}'s sign-in page ({page_name}) shows an error instead of the sign-in form: {said}"
    fix: str | None = None
    code = "BA614"
    if page.aadsts is not None:
        from brickauth.idp_errors import from_entra

        classified = from_entra({"error": page.error, "error_description": page.description})
        code = classified.code if classified.code != "BA200" else "BA614"
        template = _U2M_FIXES.get(page.aadsts)
        fix = template.format(tenant=tenant or "organizations") if template else None
    fix = fix or doctor_fix(page.description or page.error, client_id=client_id)
    if fix is None and page.error == "invalid_scope":
        fix = "leave scopes unset (BRICKAUTH_SCOPES), or enable the scope on the OAuth app."
    fix = fix or ("check the sign-in app (u2m_client_id), its redirect URLs and the scopes; "
                  "`brickauth doctor` explains common causes.")  # fmt: skip
    return LoginError(what.rstrip("."), fix=fix, code=code)
