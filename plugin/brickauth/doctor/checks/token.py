"""Token checks: one acquisition through the library's own ``TokenSource`` (what ``sql.connect`` will
do), the PAT doctor was given, or the cached U2M sign-in; then the token's claims (decoded, not trusted).

M2M and any other non-interactive flow go through ``brickauth.provider.build_source`` with an HTTP
client bounded by the step (one try, the step's timeout): a flow added to ``brickauth.flows.FLOWS`` is
tested here as it is, with no code of doctor's. Its errors carry a stable code, which names the cause.
"""

from __future__ import annotations

from brickauth.doctor.model import AZURE_DATABRICKS_RESOURCE, TIMED_OUT, Check, Context, Outcome
from brickauth.errors import BrickauthError
from brickauth.token import decode_jwt_claims


def check_token(ctx: Context) -> Outcome:
    plan = ctx.plan
    if plan.auth_type == "pat":
        assert plan.token is not None
        ctx.state["token"] = plan.token.reveal()
        return Outcome(
            "ok",
            f"personal access token from {plan.source('token')} (doctor tests it; brickauth itself "
            "ignores PATs and signs in with OAuth)",
        )
    if plan.is_u2m:
        from brickauth.doctor.u2m import cached_sign_in

        return cached_sign_in(ctx)
    return _acquire(ctx)


def _acquire(ctx: Context) -> Outcome:
    """One token from the flow's own ``TokenSource``, its HTTP bounded by the step."""
    from brickauth.provider import build_source

    settings = ctx.plan.settings
    assert settings is not None
    try:
        source = build_source(settings, clock=ctx.clock, http=ctx.http_client())
        token = source.fetch()
    except BrickauthError as err:
        if err.code == TIMED_OUT:
            raise  # the runner names the service that did not answer
        return ctx.error_outcome(f"{settings.auth_type} token request failed", err)
    ctx.redact.add(token.token)
    if token.refresh_token:
        ctx.redact.add(token.refresh_token)
    ctx.state["token"] = token.token
    ctx.state["expiry"] = (token.expires_at, ctx.clock)
    left = int(token.expires_at - ctx.clock.now())
    return Outcome(
        "ok",
        f"{source.describe()}: token issued (expires in {left} s)",
        details={"expires_in": left, "scopes": list(token.scopes)},
    )


def check_claims(ctx: Context) -> Outcome:
    plan = ctx.plan
    claims = decode_jwt_claims(ctx.state["token"])
    if not claims:
        return Outcome("ok", "opaque token (not a JWT): nothing to decode")
    identity = (
        claims.get("upn")
        or claims.get("preferred_username")
        or claims.get("unique_name")
        or claims.get("appid")
        or claims.get("azp")
        or claims.get("client_id")
        or claims.get("sub")
    )
    # The expiry the library will act on (the flow's one rule, on the flow's clock); the claim only
    # when the token came without one (a PAT).
    exp, clock = ctx.state.get("expiry", (claims.get("exp"), ctx.clock))
    now = clock.now()
    shown = {
        k: claims[k]
        for k in ("aud", "iss", "tid", "appid", "azp", "oid", "upn", "sub", "exp", "scp", "roles")
        if k in claims
    }
    expires = f"expires in {int(exp - now)} s" if isinstance(exp, (int, float)) else "no expiry"
    summary = f"identity {identity}, {expires}"
    iss = str(claims.get("iss", ""))
    entra = "sts.windows.net" in iss or "login." in iss or bool(claims.get("tid"))
    if isinstance(exp, (int, float)) and exp <= now:
        return Outcome(
            "fail",
            f"the token expired {int(now - exp)} s ago ({summary})",
            "databricks.token_expired",
            details={"claims": shown},
        )
    if entra and plan.is_azure_flow:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not any(a in (AZURE_DATABRICKS_RESOURCE, f"api://{AZURE_DATABRICKS_RESOURCE}") for a in auds):
            return Outcome(
                "fail",
                f"audience is {aud}, not Azure Databricks ({summary})",
                "token.wrong_audience",
                details={"claims": shown},
            )
        tid = claims.get("tid")
        if tid and plan.tenant_id and _is_guid(plan.tenant_id) and tid.lower() != plan.tenant_id.lower():
            return Outcome(
                "warn",
                f"token tenant {tid} differs from the configured tenant {plan.tenant_id}",
                "token.wrong_tenant",
                details={"claims": shown},
            )
    ctx.state["identity"] = identity
    return Outcome(
        "ok",
        summary + (f", audience {claims.get('aud')}" if claims.get("aud") else ""),
        details={"claims": shown},
    )


def _is_guid(text: str) -> bool:
    import uuid

    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


CHECKS: tuple[Check, ...] = (
    Check(
        "token.acquire", "Token acquisition", check_token, ("settings.auth", "idp.discovery"), target="idp"
    ),
    Check("token.claims", "Token claims", check_claims, ("token.acquire",)),
)
