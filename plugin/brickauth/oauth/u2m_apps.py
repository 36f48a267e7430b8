"""Which OAuth app a person signs in with (issue 10): ``AZURE_CLIENT_ID``/``DATABRICKS_CLIENT_ID`` in
the environment usually name a service principal and are never used for a user sign-in; U2M has its
own setting (``u2m_client_id``) and the published default apps. Every sign-in says which app and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from brickauth.config import Settings
from brickauth.secret import Secret


@dataclass(frozen=True)
class AppChoice:
    """The OAuth app (client id) a person signs in with, and why that one (shown at sign-in)."""

    client_id: str
    why: str
    chosen: bool  # True: the user named this app; False: the published default
    client_secret: Secret | None = field(default=None, repr=False)  # a confidential app's, if given


_U2M_ENV = {"azure-u2m": "BRICKAUTH_AZURE_U2M_CLIENT_ID",
            "databricks-u2m": "BRICKAUTH_DATABRICKS_U2M_CLIENT_ID"}


def _source_label(source: str) -> str:
    if source.startswith("env:"):
        return source[4:]
    if source.startswith("profile:"):
        return f"profile key {source.rsplit(':', 1)[-1]} in {source[8:].rsplit(':', 1)[0]}"
    return "client_id=" if source == "explicit" else source


def choose_app(settings: Settings, flow: str, default_id: str, default_label: str) -> AppChoice:
    """Which app a user sign-in uses. ``AZURE_CLIENT_ID``/``DATABRICKS_CLIENT_ID`` in the environment
    (or an M2M profile's ``client_id``) usually name a service principal: they are never used here.
    In order: ``u2m_client_id`` (``BRICKAUTH_{AZURE,DATABRICKS}_U2M_CLIENT_ID``,
    ``BRICKAUTH_U2M_CLIENT_ID``, profile key ``u2m_client_id``), an explicit ``client_id=`` /
    ``--client-id`` (or the ``client_id`` of a profile whose ``auth_type`` is this flow), else the
    published default app. A client secret goes with the app only when given the same way (explicit,
    or in that profile), never from the M2M environment."""
    u2m_source = settings.source_of("u2m_client_id")
    if settings.u2m_client_id and u2m_source:
        return AppChoice(settings.u2m_client_id, f"set by {_source_label(u2m_source)}", True,
                         _secret_given_with(settings, u2m_source))
    source = settings.source_of("client_id") or ""
    auth_source = settings.source_of("auth_type") or ""
    same_profile = source.startswith("profile:") and auth_source.rsplit(":", 1)[0] == source.rsplit(":", 1)[0]
    if settings.client_id and (source == "explicit" or same_profile):
        return AppChoice(settings.client_id, f"set by {_source_label(source)}", True,
                         _secret_given_with(settings, source))
    why = f"the default: {default_label}"
    if settings.client_id and source:
        why += (f"; {_source_label(source)} ({settings.client_id}) is not used for a person's sign-in "
                f"(it names the service principal app of M2M): to sign in with that app, set "
                f"{_U2M_ENV.get(flow, 'BRICKAUTH_U2M_CLIENT_ID')} or pass --client-id")
    return AppChoice(default_id, why, False)


def _secret_given_with(settings: Settings, client_source: str) -> Secret | None:
    source = settings.source_of("client_secret") or ""
    if settings.client_secret is None or not source:
        return None
    if source == "explicit" or (source.startswith("profile:") and client_source.startswith("profile:")
                                and source.rsplit(":", 1)[0] == client_source.rsplit(":", 1)[0]):
        return settings.client_secret
    return None
