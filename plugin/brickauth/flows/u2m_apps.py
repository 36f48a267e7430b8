"""``default_app(settings)``: the app a U2M flow signs in with, without building the flow's source (for
the doctor and the CLI). Lives with the flows, whose defaults it reads."""

from __future__ import annotations

from brickauth.config import Settings
from brickauth.oauth.u2m_apps import AppChoice, choose_app


def default_app(settings: Settings) -> AppChoice:
    """``choose_app`` for ``settings.auth_type`` (azure-u2m or databricks-u2m), without building a source."""
    if settings.auth_type == "azure-u2m":
        from brickauth.flows import azure_u2m as flow
    else:
        from brickauth.flows import databricks_u2m as flow  # type: ignore[no-redef]
    return choose_app(settings, settings.auth_type, flow.DEFAULT_APP_ID, flow.DEFAULT_APP_LABEL)
