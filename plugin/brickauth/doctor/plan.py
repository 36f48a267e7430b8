"""Turn gathered settings into what doctor will test: host, cloud, warehouse, auth type, credentials.

Host parsing, settings resolution and validation (secret shapes included) are the library's
(``brickauth.hosts``, ``brickauth.config.check_settings``): each of its ``ConfigurationError``s
becomes a ``Problem`` with the knowledge-base cause its code maps to. Doctor adds the checks the
library has no reason to make: the http_path shape, a host with a path, a personal access token next
to OAuth settings, a secret set for a browser sign-in, and an authority host from another cloud.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from brickauth.config import Settings, SettingsCheck
from brickauth.doctor.sources import RawSettings, resolve
from brickauth.errors import ConfigurationError
from brickauth.hosts import cloud_of_authority_host
from brickauth.secret import Secret

WAREHOUSE_PATH_RE = re.compile(r"^/?sql/1\.0/(warehouses|endpoints)/([0-9a-fA-F]{16})/?$")
CLUSTER_PATH_RE = re.compile(r"^/?sql/protocolv1/o/\d+/[0-9a-z-]+/?$")
PAT = "pat"
# Settings whose problems belong to the host and http_path checks; every other one is about auth.
_HOST_SETTINGS = frozenset({"host"})
_PATH_SETTINGS = frozenset({"http_path"})


@dataclass(frozen=True)
class Problem:
    cause_id: str | None
    message: str
    fatal: bool = True  # False: a warning


@dataclass
class Plan:
    raw: RawSettings
    settings: Settings | None = None  # the library's settings (None when no auth type could be decided)
    hostname: str | None = None
    port: int = 443
    cloud: str = "unknown"
    http_path: str | None = None
    warehouse_id: str | None = None
    auth_type: str | None = None
    auth_reason: str = ""
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    token: Secret | None = None
    authority_host: str | None = None
    ca_bundle: str | None = None
    client_certificate_path: str | None = None
    federated_token_file: str | None = None
    catalog: str | None = None
    schema: str | None = None
    redirect_port: int | None = None
    host_problems: list[Problem] = field(default_factory=list)
    path_problems: list[Problem] = field(default_factory=list)
    auth_problems: list[Problem] = field(default_factory=list)

    @property
    def base_url(self) -> str | None:
        if not self.hostname:
            return None
        port = "" if self.port == 443 else f":{self.port}"
        return f"https://{self.hostname}{port}"

    @property
    def is_azure_flow(self) -> bool:
        return bool(self.auth_type and self.auth_type.startswith("azure"))

    @property
    def is_u2m(self) -> bool:
        return bool(self.auth_type and self.auth_type.endswith("u2m"))

    @property
    def authority_hostname(self) -> str | None:
        return urlsplit(self.authority_host).hostname if self.authority_host else None

    @property
    def authority_port(self) -> int:
        return (urlsplit(self.authority_host).port or 443) if self.authority_host else 443

    def secrets(self) -> list[str]:
        return [s.reveal() for s in (self.client_secret, self.token) if s is not None]

    def source(self, name: str) -> str:
        return self.raw.sources.get(name, "not set")


def problem_from(err: ConfigurationError, *, fatal: bool = True) -> Problem:
    """A library ``ConfigurationError`` as a doctor problem: its text, and the cause its code maps to."""
    from brickauth.doctor.knowledge import load

    cause = load().best(f"{type(err).__name__}: {err}")  # as a traceback shows it
    return Problem(cause.id if cause else None, str(err), fatal)


def build_plan(raw: RawSettings) -> Plan:
    plan = Plan(raw=raw)
    check = raw.check if raw.check is not None else resolve(raw)
    token = raw.extras.get("token")
    plan.token = token if isinstance(token, Secret) else None
    check = _pat_or_oauth(plan, check)
    settings = plan.settings = check.settings
    for problem in check.problems:
        if problem.error.code == "BA152":  # a --config-file that does not exist: no profile, no problem
            continue
        target = (
            plan.host_problems if problem.setting in _HOST_SETTINGS
            else plan.path_problems if problem.setting in _PATH_SETTINGS
            else plan.auth_problems
        )  # fmt: skip
        target.append(problem_from(problem.error))
    if check.host is not None:
        plan.hostname, plan.port, plan.cloud = check.host.hostname, check.host.port, check.host.cloud
        _lint_host(plan)
    _plan_http_path(plan, settings.http_path if settings else None)
    for cause_id, message in raw.problems:
        plan.auth_problems.insert(0, Problem(cause_id, message))
    if settings is not None:
        _plan_auth(plan, settings)
    catalog, schema = raw.extras.get("catalog"), raw.extras.get("schema")
    plan.catalog = str(catalog) if catalog else None
    plan.schema = str(schema) if schema else None
    return plan


def _pat_or_oauth(plan: Plan, check: SettingsCheck) -> SettingsCheck:
    """A personal access token is doctor's own (brickauth does not use PATs): checked when asked for
    (``auth_type pat``) or when it is the only credential; with OAuth settings too, a warning."""
    raw = plan.raw
    asked = next((p for p in check.problems if p.setting == "auth_type" and p.error.code == "BA120"), None)
    settings = check.settings
    only_token = (
        plan.token is not None and settings is not None
        and settings.source_of("auth_type") == "auto" and settings.auth_type.endswith("u2m")
    )  # fmt: skip
    if (asked is not None and "'pat'" in asked.error.message) or only_token:
        # A PAT needs what databricks-u2m needs from the settings: a workspace host.
        check = resolve(raw, auth_type="databricks-u2m")
        plan.auth_type = PAT
        plan.auth_reason = "a personal access token" + (
            f" (auth_type pat from {plan.source('auth_type')})" if asked else ""
        )
        if plan.token is None:
            plan.auth_problems.append(Problem("config.missing_setting", "DATABRICKS_TOKEN is not set"))
        return SettingsCheck(None, check.host, check.sources, check.problems, check.profile)
    if plan.token is not None and settings is not None:
        plan.auth_problems.append(
            Problem(
                "config.multiple_auth_methods",
                f"a personal access token ({plan.source('token')}) and OAuth settings are both set; "
                f"doctor checks {settings.auth_type}",
                fatal=False,
            )
        )
    return check


def _lint_host(plan: Plan) -> None:
    """What the library accepts silently but a user should know: a path or query after the host."""
    text = plan.raw.raw_text("host") or ""
    parts = urlsplit(text.strip() if "://" in text else "https://" + text.strip())
    if parts.path.strip("/") or parts.query:
        plan.host_problems.append(
            Problem(
                "config.host_malformed",
                f"host from {plan.source('host')} has a path ({parts.path}"
                f"{'?' + parts.query if parts.query else ''}); doctor uses https://{plan.hostname}",
                fatal=False,
            )
        )


def _plan_http_path(plan: Plan, text: str | None) -> None:
    warehouse_id = plan.raw.extras.get("warehouse_id")
    if text is None and warehouse_id:
        text = f"/sql/1.0/warehouses/{str(warehouse_id).strip()}"
    if text is None:
        if not plan.path_problems:
            plan.path_problems.append(
                Problem(
                    "config.missing_setting",
                    "http_path is not set: the SQL warehouse checks are skipped",
                    fatal=False,
                )
            )
        return
    value = text.strip()
    src = plan.source("http_path")
    if value.startswith(("http://", "https://")):
        plan.path_problems.append(
            Problem(
                "config.http_path_malformed", f"http_path from {src} is a full URL; use only the path part"
            )
        )
        value = urlsplit(value).path
    found = WAREHOUSE_PATH_RE.match(value)
    if found:
        plan.http_path = "/" + value.strip("/")
        plan.warehouse_id = found.group(2)
        return
    if CLUSTER_PATH_RE.match(value):
        plan.http_path = "/" + value.strip("/")
        return
    plan.path_problems.append(
        Problem(
            "config.http_path_malformed",
            f"http_path from {src} is {value!r}; a SQL warehouse's is "
            "/sql/1.0/warehouses/<16 hex characters>",
        )
    )


def _plan_auth(plan: Plan, s: Settings) -> None:
    plan.auth_type, plan.auth_reason = s.auth_type, s.auth_type_reason
    plan.ca_bundle = s.ca_bundle
    plan.redirect_port = s.redirect_port
    plan.client_certificate_path = s.client_certificate_path
    plan.federated_token_file = s.federated_token_file
    plan.client_id, plan.tenant_id = s.client_id, s.tenant_id
    if s.family == "databricks":
        if s.auth_type == "databricks-u2m":
            from brickauth.flows.databricks_u2m import DEFAULT_CLIENT_ID

            plan.client_id = plan.client_id or DEFAULT_CLIENT_ID
        else:
            plan.client_secret = s.client_secret
        return
    plan.authority_host = s.authority_host
    if s.auth_type == "azure-u2m":
        from brickauth.flows.azure_u2m import AZURE_CLI_CLIENT_ID, DEFAULT_TENANT

        plan.client_id = plan.client_id or AZURE_CLI_CLIENT_ID
        plan.tenant_id = plan.tenant_id or DEFAULT_TENANT
        if s.client_secret is not None:
            plan.auth_problems.append(
                Problem(
                    "entra.public_client_with_secret",
                    f"a client secret ({plan.source('azure_client_secret')}) is set for a browser "
                    "sign-in (azure-u2m)",
                    fatal=False,
                )
            )
    else:
        plan.client_secret = s.client_secret
    authority_source = s.source_of("authority_host") or ""
    authority_cloud = cloud_of_authority_host(s.authority_host)
    if (
        not authority_source.startswith("detected")
        and authority_cloud is not None
        and s.cloud.startswith("azure")
        and authority_cloud != s.cloud
    ):
        plan.auth_problems.append(
            Problem(
                "entra.wrong_cloud",
                f"the workspace is in {s.cloud} but the authority is {s.authority_host} "
                f"({authority_cloud}, from {plan.source('authority_host')})",
            )
        )
