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
from typing import Any
from urllib.parse import urlsplit

from brickauth.config import Settings, SettingsCheck
from brickauth.doctor.sources import (
    BRICKAUTH_PROFILE_KEYS,
    BRICKAUTH_REPLACED_KEYS,
    DBT_DATABRICKS_FIELDS,
    MISSING_CONFIG_FILE,
    RawSettings,
    resolve,
)
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
    """What doctor tests. Every setting the library reads is read from ``settings`` (the library's own
    ``Settings``); the plan adds only what doctor decides itself: the host it could parse, the
    http_path and warehouse, a personal access token (``auth_type`` ``pat``), the dbt catalog and
    schema, and the problems found on the way."""

    raw: RawSettings
    # The library's settings (None when no auth type could be decided). With a PAT: the settings a
    # databricks-u2m run would use (host, CA bundle, token store), as the PAT needs only those.
    settings: Settings | None = None
    hostname: str | None = None
    port: int = 443
    cloud: str = "unknown"
    http_path: str | None = None
    warehouse_id: str | None = None
    auth_type: str | None = None
    auth_reason: str = ""
    token: Secret | None = None
    catalog: str | None = None
    schema: str | None = None
    host_problems: list[Problem] = field(default_factory=list)
    path_problems: list[Problem] = field(default_factory=list)
    auth_problems: list[Problem] = field(default_factory=list)

    # --- read from the library's settings ----------------------------------------------------------
    @property
    def tenant_id(self) -> str | None:
        s = self._oauth
        if s is None or s.family != "azure":
            return None
        if s.tenant_id or s.auth_type != "azure-u2m":
            return s.tenant_id
        from brickauth.flows.azure_u2m import DEFAULT_TENANT

        return DEFAULT_TENANT

    @property
    def client_id(self) -> str | None:
        """The client id the flow will send (a U2M flow's published default app when none is set)."""
        s = self._oauth
        if s is None:
            return None
        if self.is_u2m:  # the app the sign-in uses, never the M2M AZURE_CLIENT_ID (firsthour, issue 10)
            from brickauth.flows.u2m_apps import default_app

            return default_app(s).client_id
        return s.client_id or getattr(self._flow_class, "default_client_id", None)

    @property
    def client_secret(self) -> Secret | None:
        s = self._oauth
        return s.client_secret if s is not None and not self.is_u2m else None

    @property
    def authority_host(self) -> str | None:
        s = self._oauth
        return s.authority_host if s is not None and s.family == "azure" else None

    @property
    def ca_bundle(self) -> str | None:
        return self.settings.ca_bundle if self.settings is not None else None

    @property
    def verify(self) -> str | bool:
        return self.settings.verify if self.settings is not None else True

    @property
    def redirect_port(self) -> int | None:
        return self.settings.redirect_port if self.settings is not None else None

    @property
    def _oauth(self) -> Settings | None:
        """The settings of the OAuth flow under test (none for a PAT)."""
        return None if self.auth_type == PAT else self.settings

    @property
    def _flow_class(self) -> Any:
        if self._oauth is None:
            return None
        from brickauth.provider import load_source_class

        return load_source_class(self._oauth.auth_type)

    # --- derived -------------------------------------------------------------------------------------
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
        found = [self.token, self.settings.client_secret if self.settings else None]
        if self.settings is not None:
            found.append(self.settings.client_certificate_password)
        return [s.reveal() for s in found if s is not None]

    def source(self, name: str) -> str:
        return self.raw.sources.get(name, "not set")


def problem_from(err: ConfigurationError, *, fatal: bool = True) -> Problem:
    """A library ``ConfigurationError`` as a doctor problem: its text, and the cause its stable code
    names (``knowledge.cause_for_code``); the text is matched only where the code names none."""
    from brickauth.doctor.knowledge import load

    kb = load()
    finder = getattr(kb, "cause_for_code", None)
    cause = finder(err.code) if finder is not None else None
    if cause is None:
        cause = kb.best(f"{type(err).__name__}: {err}")  # as a traceback shows it
    return Problem(cause.id if cause else None, str(err), fatal)


def build_plan(raw: RawSettings) -> Plan:
    plan = Plan(raw=raw)
    check = raw.check if raw.check is not None else resolve(raw)
    token = raw.extras.get("token")
    plan.token = token if isinstance(token, Secret) else None
    check = _pat_or_oauth(plan, check)
    settings = plan.settings = check.settings
    for problem in check.problems:
        if problem.error.code == MISSING_CONFIG_FILE and _doctor_config_file(raw):
            continue  # doctor's own --config-file that does not exist: read as "no profile"
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
    if raw.dbt_type is not None:
        _lint_dbt(plan)
    if settings is not None and plan.auth_type != PAT:
        plan.auth_type, plan.auth_reason = settings.auth_type, settings.auth_type_reason
        if settings.source_of("auth_type") == "explicit":  # the library's layer name; say which flag/key
            plan.auth_reason = f"auth_type set ({plan.source('auth_type')})"
        _lint_auth(plan, settings)
    catalog, schema = raw.extras.get("catalog"), raw.extras.get("schema")
    plan.catalog = str(catalog) if catalog else None
    plan.schema = str(schema) if schema else None
    return plan


def _doctor_config_file(raw: RawSettings) -> bool:
    """The config file was doctor's argument (``--config-file``), which the library never reads; a
    missing file named by DATABRICKS_CONFIG_FILE or a dbt ``config_file`` is the library's refusal."""
    return raw.config_file is not None and "config_file" not in raw.explicit


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
        # A PAT needs what databricks-u2m needs from the settings: a workspace host (and its CA).
        check = resolve(raw, auth_type="databricks-u2m")
        plan.auth_type = PAT
        plan.auth_reason = "a personal access token" + (
            f" (auth_type pat from {plan.source('auth_type')})" if asked else ""
        )
        if plan.token is None:
            plan.auth_problems.append(Problem("config.missing_setting", "DATABRICKS_TOKEN is not set"))
        else:
            plan.auth_problems.append(
                Problem(
                    None,
                    f"only a personal access token is set ({plan.source('token')}): doctor tests it, but "
                    "brickauth ignores PATs and signs in with OAuth (set azure-m2m, databricks-m2m or a "
                    "U2M auth_type to use brickauth)",
                    fatal=False,
                )
            )
        return check
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


def _lint_dbt(plan: Plan) -> None:
    """What dbt itself refuses in the target doctor read: a missing http_path, an unknown key (for
    type: brickauth, as its credentials class does: BA173, BA174, BA175)."""
    import difflib

    output = plan.raw.dbt_output
    if not str(output.get("http_path") or "").strip():
        plan.path_problems[:] = [
            problem_from(ConfigurationError(
                "dbt profile: key `http_path` is missing: dbt needs it to connect to Databricks.",
                fix="add `http_path: /sql/1.0/warehouses/<warehouse id>` (the warehouse's Connection "
                "details).",
                code="BA173",
            ))
        ]  # fmt: skip
    if plan.raw.dbt_type != "brickauth":
        return
    known = sorted(DBT_DATABRICKS_FIELDS | BRICKAUTH_PROFILE_KEYS)
    for key in output:
        if key in BRICKAUTH_REPLACED_KEYS and output[key] is not None:
            err = ConfigurationError(
                f"dbt profile: key `{key}` belongs to dbt-databricks' own sign-in and type: brickauth "
                "refuses it.",
                fix=f"remove `{key}` (for a secret: `client_secret` with auth_type azure-m2m or "
                "databricks-m2m).",
                code="BA174",
            )
        elif key not in known:
            close = difflib.get_close_matches(str(key), known, 1)
            err = ConfigurationError(
                f"dbt profile: key `{key}` is unknown to type: brickauth (dbt refuses the profile).",
                fix=f"write `{close[0]}`." if close else "remove it (docs/dbt.md lists the keys).",
                code="BA175",
            )
        else:
            continue
        plan.auth_problems.append(problem_from(err))


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


def _lint_auth(plan: Plan, s: Settings) -> None:
    """What the library accepts but a user should know: a secret next to a browser sign-in, an
    authority host of another cloud than the workspace's."""
    if s.auth_type == "azure-u2m" and s.client_secret is not None:
        # The azure-u2m flow never sends a secret, so Entra cannot answer AADSTS700025 for it. One in
        # the environment is usually there for M2M and is no problem; one written for this run (a
        # flag, a dbt profile) says the user expects it to be used: tell them it is not.
        source = s.source_of("client_secret") or ""
        if not source.startswith("env:"):
            plan.auth_problems.append(
                Problem(
                    None,
                    f"a client secret ({plan.source('azure_client_secret')}) is set for a browser "
                    "sign-in (azure-u2m), which never sends it: remove it, or use auth_type azure-m2m "
                    "for a service principal",
                    fatal=False,
                )
            )
    if s.family != "azure":
        return
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
