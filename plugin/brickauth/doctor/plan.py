"""Turn raw settings into what doctor will test: host, cloud, warehouse, auth type, credentials.

Parsing here is tolerant: every problem becomes a ``Problem`` (cause id + message) for the settings
checks to report, instead of an exception.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from brickauth.doctor.sources import RawSettings
from brickauth.secret import Secret

AZURE_DATABRICKS_RESOURCE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
AUTH_TYPES = ("azure-m2m", "databricks-m2m", "azure-u2m", "databricks-u2m", "pat")
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
WAREHOUSE_PATH_RE = re.compile(r"^/?sql/1\.0/(warehouses|endpoints)/([0-9a-fA-F]{16})/?$")
CLUSTER_PATH_RE = re.compile(r"^/?sql/protocolv1/o/\d+/[0-9a-z-]+/?$")
ENTRA_SECRET_RE = re.compile(r"^[A-Za-z0-9_.\-]{3}\d[A-Za-z]~[A-Za-z0-9_.~\-]{20,}$")

# Workspace host suffix -> (cloud, Entra authority host).
CLOUDS = (
    (".azuredatabricks.net", "azure", "https://login.microsoftonline.com"),
    (".databricks.azure.cn", "azure-china", "https://login.chinacloudapi.cn"),
    (".databricks.azure.us", "azure-usgov", "https://login.microsoftonline.us"),
    (".cloud.databricks.com", "aws", None),
    (".gcp.databricks.com", "gcp", None),
)
ACCOUNT_HOSTS = (
    "accounts.azuredatabricks.net",
    "accounts.cloud.databricks.com",
    "accounts.gcp.databricks.com",
    "accounts.databricks.azure.cn",
    "accounts.databricks.azure.us",
)
ENTRA_AUTHORITY_HOSTS = {
    "login.microsoftonline.com": "azure",
    "login.chinacloudapi.cn": "azure-china",
    "login.microsoftonline.us": "azure-usgov",
}


@dataclass(frozen=True)
class Problem:
    cause_id: str
    message: str
    fatal: bool = True  # False: a warning


@dataclass
class Plan:
    raw: RawSettings
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


def _quoted(value: str) -> bool:
    return len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'"


def build_plan(raw: RawSettings) -> Plan:
    plan = Plan(raw=raw)
    _plan_host(plan)
    _plan_http_path(plan)
    _plan_auth(plan)
    plan.ca_bundle = raw.text("ca_bundle")
    plan.catalog = raw.text("catalog")
    plan.schema = raw.text("schema")
    port = raw.text("redirect_port")
    plan.redirect_port = int(port) if port and port.isdigit() else None
    return plan


def _plan_host(plan: Plan) -> None:
    text = plan.raw.text("host")
    src = plan.source("host")
    if text is None or not text.strip():
        plan.host_problems.append(
            Problem("config.missing_setting", "the workspace host is not set (checked flags, env, profile)")
        )
        return
    value = text.strip()
    if _quoted(value):
        plan.host_problems.append(
            Problem("config.quoted_value", f"host from {src} has quotes around it: {value}")
        )
        value = value[1:-1].strip()
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        hostname, port = parts.hostname, parts.port or 443
    except ValueError:
        plan.host_problems.append(Problem("config.host_malformed", f"host from {src} is not a URL: {text!r}"))
        return
    if not hostname or " " in value or parts.scheme not in ("https", "http"):
        plan.host_problems.append(Problem("config.host_malformed", f"host from {src} is not a URL: {text!r}"))
        return
    if parts.path.strip("/") or parts.query:
        plan.host_problems.append(
            Problem(
                "config.host_malformed",
                f"host from {src} has a path ({parts.path}{'?' + parts.query if parts.query else ''}); "
                "doctor uses https://" + hostname,
                fatal=False,
            )
        )
    if parts.scheme == "http":
        plan.host_problems.append(
            Problem(
                "config.host_malformed",
                f"host from {src} uses http://; workspaces are https only",
                fatal=False,
            )
        )
    if hostname in ACCOUNT_HOSTS:
        plan.host_problems.append(
            Problem(
                "config.account_console_host",
                f"{hostname} is the account console, not a workspace (from {src})",
            )
        )
    plan.hostname, plan.port = hostname, port
    for suffix, cloud, _ in CLOUDS:
        if hostname.endswith(suffix):
            plan.cloud = cloud
            break


def _plan_http_path(plan: Plan) -> None:
    text = plan.raw.text("http_path")
    warehouse_id = plan.raw.text("warehouse_id")
    if text is None and warehouse_id:
        text = f"/sql/1.0/warehouses/{warehouse_id.strip()}"
    if text is None or not text.strip():
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
    if _quoted(value):
        plan.path_problems.append(
            Problem("config.quoted_value", f"http_path from {src} has quotes around it")
        )
        value = value[1:-1].strip()
    if value.startswith("http://") or value.startswith("https://"):
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


def _plan_auth(plan: Plan) -> None:
    raw = plan.raw
    for cause_id, message in raw.problems:
        plan.auth_problems.append(Problem(cause_id, message))
    explicit = (raw.text("auth_type") or "").strip().lower() or None
    azure_id = raw.text("azure_client_id")
    azure_secret = raw.get("azure_client_secret")
    dbx_id = raw.text("databricks_client_id")
    dbx_secret = raw.get("databricks_client_secret")
    token = raw.get("token")
    cert = raw.text("client_certificate_path")
    fed = raw.text("federated_token_file")
    tenant = raw.text("tenant_id")
    aliases = {
        "oauth": None,
        "auto": None,
        "azure-client-secret": "azure-m2m",
        "oauth-m2m": "databricks-m2m",
        "external-browser": "databricks-u2m",
        "databricks-oauth": "databricks-u2m",
        "azure-oauth": "azure-u2m",
    }
    auth = aliases.get(explicit, explicit) if explicit else None
    if explicit == "oauth":  # dbt-databricks: oauth with a secret is M2M, without one U2M
        if azure_id and azure_secret:
            auth, plan.auth_reason = "azure-m2m", "auth_type oauth with azure_client_id/azure_client_secret"
        elif dbx_secret:
            auth, plan.auth_reason = "databricks-m2m", "auth_type oauth with client_secret"
        else:
            auth, plan.auth_reason = "databricks-u2m", "auth_type oauth without a secret"
    elif auth:
        plan.auth_reason = f"auth_type {explicit} from {plan.source('auth_type')}"
    else:
        if azure_id and (azure_secret or cert or fed):
            auth, plan.auth_reason = (
                "azure-m2m",
                "Entra client id with a secret, certificate or federated token",
            )
        elif dbx_id and dbx_secret:
            auth, plan.auth_reason = "databricks-m2m", "Databricks client id and OAuth secret"
        elif token:
            auth, plan.auth_reason = "pat", "a personal access token"
        elif azure_id or tenant:
            auth, plan.auth_reason = "azure-u2m", "Entra tenant/client id without a secret"
        else:
            auth, plan.auth_reason = "databricks-u2m", "nothing else configured"
    if auth not in AUTH_TYPES:
        plan.auth_problems.append(
            Problem(
                "config.unknown_auth_type", f"auth_type {explicit!r} is not one of {', '.join(AUTH_TYPES)}"
            )
        )
        return
    plan.auth_type = auth
    if token and auth != "pat" and (azure_secret or dbx_secret):
        plan.auth_problems.append(
            Problem(
                "config.multiple_auth_methods",
                f"a personal access token ({plan.source('token')}) and OAuth settings are both set; "
                f"doctor checks {auth}",
                fatal=False,
            )
        )
    if auth == "pat":
        plan.token = token if isinstance(token, Secret) else None
        if plan.token is None:
            plan.auth_problems.append(Problem("config.missing_setting", "DATABRICKS_TOKEN is not set"))
        return
    if auth.startswith("azure"):
        _plan_azure(plan, azure_id, azure_secret, tenant, cert, fed)
    else:
        _plan_databricks(plan, dbx_id, dbx_secret)


def _plan_azure(
    plan: Plan, client_id: str | None, secret: object, tenant: str | None, cert: str | None, fed: str | None
) -> None:
    problems = plan.auth_problems
    plan.client_id = client_id.strip() if client_id else None
    plan.client_certificate_path, plan.federated_token_file = cert, fed
    authority = plan.raw.text("authority_host")
    if authority:
        authority = authority.strip().rstrip("/")
        plan.authority_host = authority if "://" in authority else "https://" + authority
    else:
        for suffix, _, entra in CLOUDS:
            if plan.hostname and plan.hostname.endswith(suffix):
                plan.authority_host = entra
        if plan.authority_host is None:
            plan.authority_host = "https://login.microsoftonline.com"
    authority_cloud = ENTRA_AUTHORITY_HOSTS.get(plan.authority_hostname or "")
    if authority_cloud and plan.cloud.startswith("azure") and authority_cloud != plan.cloud:
        problems.append(
            Problem(
                "entra.wrong_cloud",
                f"the workspace is in {plan.cloud} but the authority is {plan.authority_host} "
                f"({authority_cloud})",
            )
        )
    if not tenant:
        problems.append(
            Problem("config.missing_setting", "AZURE_TENANT_ID is not set (checked flags, env, profile)")
        )
    else:
        value = tenant.strip()
        if _quoted(value):
            problems.append(
                Problem("config.quoted_value", f"tenant from {plan.source('tenant_id')} has quotes")
            )
            value = value[1:-1]
        if value.lower() in ("common", "organizations", "consumers"):
            if plan.auth_type == "azure-m2m":
                problems.append(
                    Problem(
                        "entra.no_tenant_in_request",
                        f"tenant {value!r} cannot be used by a service principal",
                    )
                )
        elif not (GUID_RE.match(value) or DOMAIN_RE.match(value)):
            problems.append(
                Problem(
                    "entra.tenant_malformed",
                    f"tenant {value!r} from {plan.source('tenant_id')} is not a GUID or a domain",
                )
            )
        plan.tenant_id = value
    if not plan.client_id:
        problems.append(
            Problem("config.missing_setting", "AZURE_CLIENT_ID is not set (checked flags, env, profile)")
        )
    elif _quoted(plan.client_id):
        problems.append(
            Problem("config.quoted_value", f"client id from {plan.source('azure_client_id')} has quotes")
        )
        plan.client_id = plan.client_id[1:-1]
    elif not GUID_RE.match(plan.client_id):
        problems.append(
            Problem(
                "entra.app_not_found", f"client id {plan.client_id!r} is not a GUID (the Application ID is)"
            )
        )
    if plan.auth_type == "azure-u2m":
        if isinstance(secret, Secret):
            problems.append(
                Problem(
                    "entra.public_client_with_secret",
                    "AZURE_CLIENT_SECRET is set for a browser sign-in (azure-u2m)",
                    fatal=False,
                )
            )
        return
    if isinstance(secret, Secret):
        plan.client_secret = secret
        _check_secret_shape(plan, secret, "entra")
    elif not cert and not fed:
        problems.append(
            Problem(
                "config.missing_setting",
                "AZURE_CLIENT_SECRET is not set "
                "(nor AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE)",
            )
        )


def _plan_databricks(plan: Plan, client_id: str | None, secret: object) -> None:
    plan.client_id = client_id.strip() if client_id else None
    if plan.auth_type == "databricks-u2m":
        plan.client_id = plan.client_id or "databricks-cli"
        return
    if not plan.client_id:
        plan.auth_problems.append(Problem("config.missing_setting", "DATABRICKS_CLIENT_ID is not set"))
    if isinstance(secret, Secret):
        plan.client_secret = secret
        _check_secret_shape(plan, secret, "databricks")
    else:
        plan.auth_problems.append(Problem("config.missing_setting", "DATABRICKS_CLIENT_SECRET is not set"))


def _check_secret_shape(plan: Plan, secret: Secret, kind: str) -> None:
    value = secret.reveal().strip()
    name = "client_secret" if kind == "entra" else "databricks_client_secret"
    src = plan.source("azure_client_secret" if kind == "entra" else name)
    if _quoted(value):
        plan.auth_problems.append(
            Problem("config.quoted_value", f"the client secret from {src} has quotes around it")
        )
        value = value[1:-1]
    if value != secret.reveal():
        plan.client_secret = Secret(value)
    if GUID_RE.match(value):
        plan.auth_problems.append(
            Problem(
                "config.secret_id_instead_of_value",
                f"the client secret from {src} is a GUID: a secret ID, not a secret value",
            )
        )
    elif kind == "entra" and value.startswith("dose"):
        plan.auth_problems.append(
            Problem(
                "config.databricks_secret_sent_to_entra",
                f"the secret from {src} is a Databricks OAuth secret (dose...)",
            )
        )
    elif kind == "databricks" and (ENTRA_SECRET_RE.match(value) or "~" in value):
        plan.auth_problems.append(
            Problem(
                "config.entra_secret_sent_to_databricks",
                f"the secret from {src} is an Entra ID client secret",
            )
        )


def is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True
