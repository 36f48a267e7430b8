"""``auth_type="auto"``: an ordered chain of sources; the first that applies wins and the reason is
logged with every source tried before it (as azure-identity's ChainedTokenCredential reports them).

Documented order (docs/fleet.md#auto), no network call and no subprocess while choosing:

Explicit credentials
1. a federated token file -> azure-m2m;
2. a client certificate -> azure-m2m;
3. an explicit ``client_secret``: a ``dose...`` value -> databricks-m2m; with a tenant -> azure-m2m;
   otherwise databricks-m2m;
4. ``DATABRICKS_CLIENT_ID`` + ``DATABRICKS_CLIENT_SECRET`` (or profile client_id/client_secret)
   -> databricks-m2m;
5. an Entra client secret (``AZURE_CLIENT_SECRET``...) -> azure-m2m;
The environment's identities
6. Databricks workload identity federation -> databricks-oidc: ``DATABRICKS_OIDC_TOKEN_FILEPATH``,
   ``DATABRICKS_OIDC_TOKEN_ENV`` (or ``DATABRICKS_OIDC_TOKEN``), or a CI job's OIDC token (GitHub Actions
   ``ACTIONS_ID_TOKEN_REQUEST_URL``/``_TOKEN``, Azure DevOps ``SYSTEM_OIDCREQUESTURI``) together with a
   Databricks client id;
7. an Azure managed identity -> azure-msi: ``ARM_USE_MSI=true``, a user-assigned id setting
   (``BRICKAUTH_MSI_*``), App Service (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``), Azure ML
   (``MSI_ENDPOINT`` + ``MSI_SECRET``), Azure Arc (``IMDS_ENDPOINT``) or an IMDS override
   (``AZURE_POD_IDENTITY_AUTHORITY_HOST``). The IMDS address itself is never probed: on a plain VM set
   ``ARM_USE_MSI=true`` (as the Terraform provider asks);
Cached user sign-ins
8. an Azure CLI sign-in -> azure-cli: ``az`` on PATH and a signed-in profile in ``AZURE_CONFIG_DIR``
   (default ``~/.azure``), for an Azure (or unknown-cloud) workspace;
9. a U2M flow, when installed: azure-u2m if an Entra client id or tenant is set or the workspace is on
   Azure, else databricks-u2m.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from brickauth.config.validate import looks_like_databricks_secret
from brickauth.errors import ConfigurationError
from brickauth.flows import FLOWS

log = logging.getLogger(__name__)

FIRST_ENVIRONMENT_LINK = 5  # index of the first environment-identity link in chain()


@dataclass(frozen=True)
class Configured:
    """What is set, by source name (e.g. ``"env:AZURE_CLIENT_SECRET"``); None when unset."""

    explicit_secret: str | None = None  # the explicit client_secret value (shape only is looked at)
    tenant_id: str | None = None
    federated_token_file: str | None = None
    client_certificate_path: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: str | None = None
    databricks_client_id: str | None = None
    databricks_client_secret: str | None = None
    cloud: str = "unknown"
    blank: tuple[str, ...] = ()  # sources set but blank, for the error message
    # fleet (issue 12)
    use_msi: str | None = None  # source of a true ARM_USE_MSI / azure_use_msi
    msi_id: str | None = None  # source of a user-assigned identity id setting
    oidc_token_filepath: str | None = None
    oidc_token_env: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)  # names only are read,
    # except the az profile path and ARM_USE_MSI-like switches


@dataclass(frozen=True)
class Link:
    """One source of the chain: whether it applies here and why (or why not)."""

    name: str
    auth_type: str
    applies: bool
    why: str

    def __str__(self) -> str:
        return f"{self.name}: {self.why}"


def flow_available(auth_type: str) -> bool:
    target = FLOWS.get(auth_type)
    if target is None:
        return False
    module = target.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _explicit_links(c: Configured) -> list[Link]:
    links = [
        Link(
            "federated token file",
            "azure-m2m",
            bool(c.federated_token_file),
            f"a federated token file is set ({c.federated_token_file})"
            if c.federated_token_file
            else "not set",
        ),
        Link(
            "client certificate",
            "azure-m2m",
            bool(c.client_certificate_path),
            f"a client certificate is set ({c.client_certificate_path})"
            if c.client_certificate_path
            else "not set",
        ),
    ]
    if c.explicit_secret is not None:
        if looks_like_databricks_secret(c.explicit_secret):
            links.append(
                Link(
                    "client secret",
                    "databricks-m2m",
                    True,
                    "client_secret is a Databricks OAuth secret (dose...)",
                )
            )
        elif c.tenant_id:
            links.append(
                Link(
                    "client secret",
                    "azure-m2m",
                    True,
                    f"client_secret is given and a tenant is set ({c.tenant_id})",
                )
            )
        else:
            links.append(
                Link(
                    "client secret",
                    "databricks-m2m",
                    True,
                    "client_secret is given and no Entra tenant is set",
                )
            )
    else:
        links.append(Link("client secret", "databricks-m2m", False, "no explicit client_secret"))
    if c.databricks_client_secret:
        links.append(
            Link(
                "Databricks OAuth secret",
                "databricks-m2m",
                True,
                (
                    f"a Databricks OAuth secret is set ({c.databricks_client_secret}"
                    + (f", client id from {c.databricks_client_id})" if c.databricks_client_id else ")")
                ),
            )
        )
    else:
        links.append(
            Link("Databricks OAuth secret", "databricks-m2m", False, "DATABRICKS_CLIENT_SECRET not set")
        )
    links.append(
        Link(
            "Entra client secret",
            "azure-m2m",
            bool(c.azure_client_secret),
            f"an Entra client secret is set ({c.azure_client_secret})"
            if c.azure_client_secret
            else "AZURE_CLIENT_SECRET not set",
        )
    )
    return links


def _set(env: Mapping[str, str], *names: str) -> bool:
    return all(str(env.get(n, "")).strip() for n in names)


def oidc_link(c: Configured) -> Link:
    env = c.environment
    kind = "databricks-oidc"
    if c.oidc_token_filepath:
        return Link(
            "workload identity federation",
            kind,
            True,
            f"a subject token file is set ({c.oidc_token_filepath})",
        )
    if c.oidc_token_env:
        return Link(
            "workload identity federation",
            kind,
            True,
            f"a subject token variable is named ({c.oidc_token_env})",
        )
    if _set(env, "DATABRICKS_OIDC_TOKEN"):
        return Link(
            "workload identity federation", kind, True, "a subject token is set (env:DATABRICKS_OIDC_TOKEN)"
        )
    ci = (
        "GitHub Actions"
        if _set(env, "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        else "Azure DevOps"
        if _set(env, "SYSTEM_OIDCREQUESTURI")
        else None
    )
    if ci and c.databricks_client_id:
        return Link(
            "workload identity federation",
            kind,
            True,
            f"a {ci} OIDC token is available and a Databricks client id is set ({c.databricks_client_id})",
        )
    if ci:
        return Link(
            "workload identity federation",
            kind,
            False,
            f"a {ci} OIDC token is available but no Databricks client id (DATABRICKS_CLIENT_ID) is set",
        )
    return Link(
        "workload identity federation",
        kind,
        False,
        "no subject token (DATABRICKS_OIDC_TOKEN_FILEPATH, DATABRICKS_OIDC_TOKEN, GitHub Actions or "
        "Azure DevOps OIDC)",
    )


def msi_link(c: Configured) -> Link:
    env = c.environment
    why: str | None = None
    if c.use_msi:
        why = f"managed identity is asked for ({c.use_msi})"
    elif c.msi_id:
        why = f"a user-assigned identity is set ({c.msi_id})"
    elif _set(env, "IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
        why = "an App Service / Functions identity endpoint is set (env:IDENTITY_ENDPOINT)"
    elif _set(env, "MSI_ENDPOINT", "MSI_SECRET"):
        why = "an Azure ML identity endpoint is set (env:MSI_ENDPOINT)"
    elif _set(env, "IDENTITY_ENDPOINT", "IMDS_ENDPOINT"):
        why = "an Azure Arc identity endpoint is set (env:IDENTITY_ENDPOINT)"
    elif _set(env, "AZURE_POD_IDENTITY_AUTHORITY_HOST"):
        why = "an IMDS endpoint is set (env:AZURE_POD_IDENTITY_AUTHORITY_HOST)"
    if why is not None and c.cloud in ("aws", "gcp"):
        return Link("managed identity", "azure-msi", False, f"{why}, but the workspace is on {c.cloud}")
    return Link(
        "managed identity",
        "azure-msi",
        why is not None,
        why
        or "no identity endpoint (IDENTITY_ENDPOINT, AZURE_POD_IDENTITY_AUTHORITY_HOST) and ARM_USE_MSI "
        "unset",
    )


def az_config_dir(env: Mapping[str, str]) -> Path:
    configured = str(env.get("AZURE_CONFIG_DIR", "")).strip()
    if configured:
        return Path(configured).expanduser()
    home = str(env.get("HOME", "")).strip() or os.path.expanduser("~")
    return Path(home) / ".azure"


def az_signed_in(env: Mapping[str, str]) -> bool:
    """A signed-in profile: ``azureProfile.json`` lists at least one account (file read, no subprocess)."""
    try:
        text = (az_config_dir(env) / "azureProfile.json").read_text(encoding="utf-8-sig")
        return bool(json.loads(text).get("subscriptions"))
    except (OSError, ValueError, AttributeError):
        return False


def cli_link(c: Configured) -> Link:
    env = c.environment
    path = str(env.get("PATH", ""))  # the settings' environment (os.environ unless one was given)
    if not path or shutil.which("az", path=path) is None:
        return Link("Azure CLI sign-in", "azure-cli", False, "az is not on PATH")
    if c.cloud in ("aws", "gcp"):
        return Link("Azure CLI sign-in", "azure-cli", False, f"the workspace is on {c.cloud}")
    if not az_signed_in(env):
        return Link(
            "Azure CLI sign-in",
            "azure-cli",
            False,
            f"az is on PATH but not signed in (no account in {az_config_dir(env)}/azureProfile.json)",
        )
    return Link("Azure CLI sign-in", "azure-cli", True, f"az is signed in ({az_config_dir(env)})")


def _u2m_link(c: Configured) -> Link:
    azure_hint = c.azure_client_id or c.tenant_id
    if flow_available("azure-u2m") and (azure_hint or c.cloud.startswith("azure")):
        why = (
            f"no secret is set; {azure_hint} is"
            if azure_hint
            else f"no secret is set; the host is on {c.cloud}"
        )
        return Link("user sign-in", "azure-u2m", True, f"{why} (user sign-in)")
    if flow_available("databricks-u2m"):
        why = f"client id from {c.databricks_client_id}" if c.databricks_client_id else "nothing else is set"
        return Link("user sign-in", "databricks-u2m", True, f"no secret is set; {why} (user sign-in)")
    return Link("user sign-in", "databricks-u2m", False, "no U2M flow is installed")


def chain(c: Configured) -> list[Link]:
    """Every link, in the documented order, each with why it applies or not."""
    return [*_explicit_links(c), oidc_link(c), msi_link(c), cli_link(c), _u2m_link(c)]


def choose(c: Configured) -> tuple[str, str]:
    """(auth_type, reason); the reason names the links skipped before the one taken."""
    links = chain(c)
    for i, link in enumerate(links):
        log.debug("auto: %s %s", "->" if link.applies else "  ", link)
        if link.applies:
            skipped = [str(x) for x in links[:i]]
            reason = link.why
            # Skipped links are named for the environment-identity and sign-in links, where "why not
            # the earlier one" is the question people ask.
            if i >= FIRST_ENVIRONMENT_LINK and skipped:
                reason += f"; tried before: {'; '.join(skipped)}"
            log.info("brickauth auto: %s -> %s", link.name, link.auth_type)
            return link.auth_type, reason
    blank = f" ({', '.join(b.removeprefix('env:') for b in c.blank)} set but blank)" if c.blank else ""
    raise ConfigurationError(
        f"No credentials are configured{blank}; auto tried: {'; '.join(str(x) for x in links)}.",
        fix="Set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (databricks-m2m), AZURE_TENANT_ID, "
        "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (azure-m2m), ARM_USE_MSI=true (azure-msi), "
        "DATABRICKS_OIDC_TOKEN_FILEPATH (databricks-oidc), or run az login (azure-cli).",
        code="BA122",
    )


def current_choice(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What ``credentials_provider()`` would use here and why (for ``brickauth status``): never raises,
    no network, no secret (the reason names sources, not values)."""
    from brickauth.config import resolve_settings

    try:
        s = resolve_settings({}, env, require_host=False)
    except ConfigurationError as exc:
        return {"auth_type": "none", "reason": str(exc)}
    return {"auth_type": s.auth_type, "reason": s.auth_type_reason}
