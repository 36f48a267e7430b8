"""Workspace host parsing: scheme, port, path, IP addresses, cloud and Entra authority detection."""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from brickauth.entra import (
    CHINA_AUTHORITY_HOST,
    KNOWN_AUTHORITY_HOSTS,
    PUBLIC_AUTHORITY_HOST,
    US_GOVERNMENT_AUTHORITY_HOST,
)
from brickauth.errors import ConfigurationError

log = logging.getLogger(__name__)

Cloud = Literal["azure", "azure-china", "azure-usgov", "aws", "gcp", "unknown"]

# Workspace domain suffix -> (cloud, Entra authority host); the same table azure-identity uses.
_CLOUD_SUFFIXES: tuple[tuple[str, Cloud, str | None], ...] = (
    (".azuredatabricks.net", "azure", PUBLIC_AUTHORITY_HOST),
    (".databricks.azure.cn", "azure-china", CHINA_AUTHORITY_HOST),
    (".databricks.azure.us", "azure-usgov", US_GOVERNMENT_AUTHORITY_HOST),
    (".cloud.databricks.com", "aws", None),
    (".cloud.databricks.us", "aws", None),
    (".cloud.databricks.mil", "aws", None),
    (".gcp.databricks.com", "gcp", None),
)
_ACCOUNT_CONSOLE = re.compile(
    r"^accounts(-dod)?\.(cloud\.databricks\.(com|us|mil)|azuredatabricks\.net|gcp\.databricks\.com"
    r"|databricks\.azure\.(cn|us))$"
)
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
# Paths that show the user pasted something other than the workspace URL.
_HTTP_PATH_PREFIXES = ("/sql/", "/sql/1.0/", "/sql/protocolv1/")
_WORKSPACE_SHAPE = "https://adb-<workspace-id>.<n>.azuredatabricks.net or https://<name>.cloud.databricks.com"


@dataclass(frozen=True)
class WorkspaceHost:
    """A Databricks workspace address, normalised."""

    hostname: str  # lower case; IPv6 without brackets
    port: int  # 443 unless given
    url: str  # https://hostname[:port], no trailing slash
    cloud: Cloud
    entra_authority_host: str  # https://login.microsoftonline.com (or the sovereign/override one)

    @property
    def netloc(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return host if self.port == 443 else f"{host}:{self.port}"

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.hostname)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        return self.url

    @classmethod
    def parse(
        cls, text: str, *, authority_host: str | None = None, allow_account_console: bool = False
    ) -> WorkspaceHost:
        """Parse what a user typed as host. ``authority_host`` (``AZURE_AUTHORITY_HOST``) overrides
        the Entra authority detected from the domain."""
        raw = text.strip()
        if not raw:
            raise ConfigurationError(
                "The workspace host is blank.",
                fix="Set DATABRICKS_HOST (or host=) to your workspace URL, e.g. " + _WORKSPACE_SHAPE + ".",
                code="BA111",
            )
        if raw[0] in "\"'" or raw[-1] in "\"'":
            raise ConfigurationError(
                "The workspace host has quote characters around it.",
                fix="Remove the quotes from the value (write host=adb-1.2.azuredatabricks.net, not "
                'host="adb-1.2.azuredatabricks.net").',
                code="BA112",
            )
        if any(c.isspace() for c in raw):
            raise ConfigurationError(
                "The workspace host contains white space.",
                fix="Set the host to the bare workspace URL, e.g. " + _WORKSPACE_SHAPE + ".",
                code="BA117",
            )
        if raw.lower().startswith(("jdbc:", "odbc:")) or ";" in raw:
            raise ConfigurationError(
                "The workspace host looks like a JDBC/ODBC connection string.",
                fix="Set the host to the workspace URL only, e.g. "
                + _WORKSPACE_SHAPE
                + ", and the warehouse path in http_path.",
                code="BA115",
            )
        if "://" not in raw:
            raw = "https://" + raw
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(
                f"The workspace host has an invalid port ({_reason(exc)}).",
                fix="Use a port between 1 and 65535, or leave it out (443 is the default).",
                code="BA116",
            ) from None
        scheme = parts.scheme.lower()
        if scheme != "https":
            raise ConfigurationError(
                f"The workspace host uses the '{scheme}' scheme; Databricks serves only https.",
                fix="Write the host as https://<workspace-host> or without a scheme.",
                code="BA115",
            )
        if parts.username or parts.password:
            raise ConfigurationError(
                "The workspace host contains user information before '@'.",
                fix="Remove 'user:password@' from the host; credentials belong in client_id/client_secret.",
                code="BA117",
            )
        hostname = (parts.hostname or "").lower().rstrip(".")
        if not hostname:
            raise ConfigurationError(
                "The workspace host has no host name.",
                fix="Set the host to your workspace URL, e.g. " + _WORKSPACE_SHAPE + ".",
                code="BA117",
            )
        if not _is_ip(hostname) and not _HOSTNAME.match(hostname):
            raise ConfigurationError(
                f"The workspace host '{hostname}' is not a valid host name.",
                fix="Set the host to your workspace URL, e.g. " + _WORKSPACE_SHAPE + ".",
                code="BA117",
            )
        path = parts.path.rstrip("/")
        if path:
            lowered = path.lower() + "/"
            if any(lowered.startswith(p) for p in _HTTP_PATH_PREFIXES):
                raise ConfigurationError(
                    f"The workspace host includes the warehouse path '{path}'.",
                    fix=f"Set host to https://{parts.netloc} and put '{path}' in http_path "
                    "(DATABRICKS_HTTP_PATH).",
                    code="BA113",
                )
            log.debug("host: ignoring the path %r after the workspace address", path)
        if parts.query or parts.fragment:
            log.debug("host: ignoring the query/fragment after the workspace address")

        if _ACCOUNT_CONSOLE.match(hostname) and not allow_account_console:
            raise ConfigurationError(
                f"'{hostname}' is the account console, which has no SQL warehouses.",
                fix="Use the workspace URL from the browser's address bar inside the workspace, e.g. "
                + _WORKSPACE_SHAPE
                + ".",
                code="BA114",
            )
        cloud: Cloud = "unknown"
        detected_authority = PUBLIC_AUTHORITY_HOST
        for suffix, suffix_cloud, authority in _CLOUD_SUFFIXES:
            if hostname.endswith(suffix):
                cloud = suffix_cloud
                detected_authority = authority or PUBLIC_AUTHORITY_HOST
                break
        entra = normalize_authority_host(authority_host) if authority_host else detected_authority
        port = port or 443
        host_for_url = f"[{hostname}]" if ":" in hostname else hostname
        url = f"https://{host_for_url}" if port == 443 else f"https://{host_for_url}:{port}"
        return cls(hostname=hostname, port=port, url=url, cloud=cloud, entra_authority_host=entra)


def normalize_authority_host(text: str) -> str:
    """``login.microsoftonline.us`` or ``https://login.microsoftonline.us/`` -> ``https://login...``."""
    value = text.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigurationError(
            f"The Entra authority host '{text.strip()}' is not an https URL.",
            fix="Set AZURE_AUTHORITY_HOST to e.g. https://login.microsoftonline.com (or unset it).",
            code="BA119",
        )
    if parts.path not in ("", "/"):
        raise ConfigurationError(
            f"The Entra authority host '{text.strip()}' includes a path (a tenant?).",
            fix="Set AZURE_AUTHORITY_HOST to the bare host (https://login.microsoftonline.com) and the "
            "tenant in AZURE_TENANT_ID.",
            code="BA119",
        )
    return f"https://{parts.netloc.lower()}"


def cloud_of_authority_host(authority_host: str) -> Cloud | None:
    """The Azure cloud whose workspaces use this Entra authority host (``https://login.chinacloudapi.cn``
    -> ``azure-china``), or None for a host not in the table (a proxy, a test server)."""
    hostname = urlsplit(authority_host if "://" in authority_host else "https://" + authority_host).hostname
    for _, cloud, authority in _CLOUD_SUFFIXES:
        if authority and urlsplit(authority).hostname == hostname:
            return cloud
    return None


def is_known_authority_host(authority_host: str) -> bool:
    return (urlsplit(authority_host).hostname or "") in KNOWN_AUTHORITY_HOSTS


def is_ip_address(text: str) -> bool:
    """``127.0.0.1`` or ``::1`` (not a host name)."""
    return _is_ip(text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _reason(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0]
