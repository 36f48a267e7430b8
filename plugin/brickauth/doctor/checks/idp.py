"""Identity provider checks: discovery (Entra or the workspace's OAuth metadata) and, for U2M, how the
identity provider sees the sign-in app (without a browser)."""

from __future__ import annotations

from brickauth.doctor.model import (
    AZURE_DATABRICKS_RESOURCE,
    PLATFORM_TOKEN_FLOWS,
    Check,
    Context,
    Outcome,
    json_body,
)

PROBE_CODE = "brickauth-doctor-probe"  # a code Entra cannot know: the answer tells how it sees the app


def check_discovery(ctx: Context) -> Outcome:
    plan = ctx.plan
    if plan.auth_type in PLATFORM_TOKEN_FLOWS:
        return Outcome(
            "ok", f"not used: {plan.auth_type} gets its token from {PLATFORM_TOKEN_FLOWS[plan.auth_type]}"
        )
    if plan.is_azure_flow:
        url = f"{plan.authority_host}/{plan.tenant_id}/v2.0/.well-known/openid-configuration"
        what = "Entra ID discovery"
    else:
        url = f"{plan.base_url}/oidc/.well-known/oauth-authorization-server"
        what = "workspace OAuth discovery"
    response = ctx.session().get(url, timeout=ctx.timeouts())
    data = json_body(response)
    if response.status_code != 200 or data is None or "token_endpoint" not in data:
        if response.status_code == 200 and data is None:
            return Outcome(
                "fail", f"{what} at {url} returned a non-JSON page", "databricks.html_instead_of_json"
            )
        return ctx.refusal(f"{what} at {url} refused", ctx.evidence(response), None)
    ctx.state["discovery"] = data
    return Outcome(
        "ok", f"{what}: token endpoint {data['token_endpoint']}", details={"issuer": data.get("issuer")}
    )


def check_client_registration(ctx: Context) -> Outcome:
    """U2M: ask the IdP how it sees the app, without a browser."""
    plan = ctx.plan
    session = ctx.session()
    if plan.auth_type == "azure-u2m":
        # A code redemption with a code Entra cannot know: a public client gets invalid_grant for the
        # code; an app whose redirect URI is registered as Web is told to send a secret (AADSTS7000218).
        data = {
            "client_id": plan.client_id,
            "grant_type": "authorization_code",
            "code": PROBE_CODE,
            "redirect_uri": f"http://localhost:{plan.redirect_port or 8020}",
            "scope": f"{AZURE_DATABRICKS_RESOURCE}/user_impersonation offline_access",
            "code_verifier": "x" * 43,
        }
        response = session.post(ctx.state["discovery"]["token_endpoint"], data=data, timeout=ctx.timeouts())
        body = json_body(response) or {}
        if body.get("error") == "invalid_grant":
            return Outcome("ok", "the app accepts browser sign-in as a public client (Mobile and desktop)")
        return ctx.refusal("the app registration refuses public-client sign-in", ctx.evidence(response), None)
    # databricks-u2m: the authorize endpoint checks client id and redirect URL before any sign-in.
    port = plan.redirect_port or 8020
    params = {
        "client_id": plan.client_id,
        "redirect_uri": f"http://localhost:{port}",
        "response_type": "code",
        "state": "doctor",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
        "scope": "all-apis offline_access",
    }
    url = ctx.state["discovery"].get("authorization_endpoint") or f"{plan.base_url}/oidc/v1/authorize"
    response = session.get(url, params=params, timeout=ctx.timeouts(), allow_redirects=False)
    if response.status_code in (200, 302, 303):
        return Outcome("ok", f"OAuth app {plan.client_id} accepts redirect http://localhost:{port}")
    return ctx.refusal(
        f"OAuth app {plan.client_id} refused the sign-in request", ctx.evidence(response), None
    )


def _not_for_pat(ctx: Context) -> str | None:
    return "not used with a PAT" if ctx.plan.auth_type == "pat" else None


def _u2m_only(ctx: Context) -> str | None:
    return None if ctx.plan.is_u2m else "M2M"


CHECKS: tuple[Check, ...] = (
    Check(
        "idp.discovery",
        "Identity provider discovery",
        check_discovery,
        ("network.tls", "settings.auth"),
        target="idp",
        skip_if=_not_for_pat,
    ),
    Check(
        "idp.client",
        "App registration (browser sign-in)",
        check_client_registration,
        ("idp.discovery",),
        target="idp",
        skip_if=_u2m_only,
    ),
)
