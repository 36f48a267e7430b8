"""What each flow needs, checked before any network call: ids, tenants, credentials and secret shapes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from brickauth.config.coerce import source_label
from brickauth.config.environment import Platform
from brickauth.config.fields import Family
from brickauth.config.model import Report, Settings
from brickauth.config.sources import Lookup, layer_rank
from brickauth.errors import ConfigurationError

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TENANT_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
DATABRICKS_SECRET = re.compile(r"^dose[0-9a-f]{20,}$", re.IGNORECASE)
ENTRA_SECRET = re.compile(r"^[A-Za-z0-9._~-]{3}[0-9]Q~[A-Za-z0-9._~-]{30,}$")


def _missing(name: str, settings: Settings, lookup: Lookup, needs: str) -> ConfigurationError:
    family = settings.family
    spec = lookup._spec(name, family)
    blank = [s for s in lookup.blank if any(s == f"env:{v}" for v in spec.env) or any(
        s.endswith(f":{k}") for k in spec.profile_keys)]  # fmt: skip
    where = " or ".join(spec.env[:2]) if spec.env else name
    if blank:
        return ConfigurationError(
            f"{settings.auth_type} needs {needs}, but {blank[0].removeprefix('env:')} is set but blank.",
            fix=f"Set {blank[0].removeprefix('env:')} to the value (is the CI secret defined?).",
            code="BA101",
        )
    return ConfigurationError(
        f"{settings.auth_type} needs {needs}, which is not set.",
        fix=f"Set {where} (or pass {name}=).",
        code="BA130",
    )


def validate_for_flow(s: Settings, lookup: Lookup, report: Report) -> None:
    if s.family == "azure":
        _validate_azure(s, lookup, report)
    else:
        _validate_databricks(s, lookup, report)


def _need(name: str, s: Settings, lookup: Lookup, needs: str, report: Report) -> None:
    if name not in lookup.invalid:  # set but invalid: reported already
        report(_missing(name, s, lookup, needs), name)


def _validate_azure(s: Settings, lookup: Lookup, report: Report) -> None:
    m2m = s.auth_type == "azure-m2m"
    if s.cloud in ("aws", "gcp"):
        report(ConfigurationError(
            f"{s.auth_type} uses Entra ID tokens, but {s.host} is a Databricks on {s.cloud.upper()} "
            "workspace, which does not accept them.",
            fix="Use databricks-m2m (DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET) or databricks-u2m.",
            code="BA148",
        ), "auth_type")  # fmt: skip
        return
    if s.tenant_id is None:
        if m2m:
            _need("tenant_id", s, lookup, "the Entra tenant id", report)
    else:
        problem = _tenant_problem(s.tenant_id, s.source_of("tenant_id") or "explicit", m2m)
        if problem is not None:
            report(problem, "tenant_id")
    if s.client_id is None and m2m:
        _need("client_id", s, lookup, "the app registration's client id", report)
    for name in ("client_id", "u2m_client_id"):  # u2m_client_id: issue 10
        value = getattr(s, name)
        if value is not None and not GUID.match(value):
            label = source_label(name, s.source_of(name) or "explicit")
            report(ConfigurationError(
                f"{label} '{value}' is not an Entra application (client) id.",
                fix=f"Set {label} to the Application (client) ID GUID from the app registration's Overview "
                "page.",
                code="BA133",
            ), name)  # fmt: skip
    if not m2m:
        return
    kinds = [
        (name, s.source_of(name))
        for name in ("client_secret", "client_certificate_path", "federated_token_file")
        if s.source_of(name) is not None
    ]
    if not kinds and _ci_oidc(lookup.env):  # fleet: a CI job's OIDC token as the federated credential
        return
    if not kinds:
        report(ConfigurationError(
            "azure-m2m needs a credential: a client secret, a certificate or a federated token file.",
            fix="Set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE.",
            code="BA134",
        ), "client_secret")  # fmt: skip
        return
    ranked = sorted(kinds, key=lambda kv: layer_rank(kv[1] or ""))
    if len(ranked) > 1 and layer_rank(ranked[0][1] or "") == layer_rank(ranked[1][1] or ""):
        a, b = ranked[0], ranked[1]
        report(ConfigurationError(
            f"azure-m2m has two credentials at once: {source_label(a[0], a[1] or '')} and "
            f"{source_label(b[0], b[1] or '')}.",
            fix=f"Unset one of {source_label(a[0], a[1] or '')} and {source_label(b[0], b[1] or '')}.",
            code="BA147",
        ), a[0])  # fmt: skip
        return
    chosen = ranked[0][0]
    # Credential material belongs to the flows (layer 5): imported here, where a file is checked.
    from brickauth.flows.credential_files import check_certificate, check_federated_token_file

    try:
        if chosen == "client_secret" and s.client_secret is not None:
            problem = secret_shape_problem(
                s.client_secret.reveal(), sent_to="azure", label=source_label("client_secret", s.source_of(
                    "client_secret") or "explicit"), client_id=s.client_id)  # fmt: skip
            if problem is not None:
                raise problem
        elif chosen == "client_certificate_path" and s.client_certificate_path is not None:
            check_certificate(
                s.client_certificate_path, s.client_certificate_password, s.source_of(chosen) or ""
            )
        elif chosen == "federated_token_file" and s.federated_token_file is not None:
            check_federated_token_file(s.federated_token_file, s.source_of(chosen) or "")
    except ConfigurationError as err:
        report(err, chosen)


def azure_credential_kind(s: Settings) -> str:
    """Which of client_secret / client_certificate_path / federated_token_file azure-m2m uses."""
    kinds = [
        n for n in ("client_secret", "client_certificate_path", "federated_token_file") if s.source_of(n)
    ]
    return min(kinds, key=lambda n: layer_rank(s.source_of(n) or "")) if kinds else "none"


def _tenant_problem(tenant: str, source: str, m2m: bool) -> ConfigurationError | None:
    label = source_label("tenant_id", source)
    lowered = tenant.lower()
    if lowered in ("common", "organizations", "consumers"):
        if m2m:
            return ConfigurationError(
                f"{label} is '{tenant}', but service principals sign in to one specific tenant.",
                fix=f"Set {label} to the Directory (tenant) ID GUID from the app registration's "
                "Overview page.",
                code="BA132",
            )
        return None
    if GUID.match(tenant) or TENANT_DOMAIN.match(tenant):
        return None
    return ConfigurationError(
        f"{label} '{tenant}' is neither a tenant GUID nor a domain name.",
        fix=f"Set {label} to the Directory (tenant) ID GUID (or the domain, e.g. contoso.onmicrosoft.com).",
        code="BA131",
    )


def looks_like_databricks_secret(value: str) -> bool:
    """A Databricks OAuth secret: ``dose`` and hex."""
    return bool(DATABRICKS_SECRET.match(value.strip()))


def secret_shape_problem(
    value: str, *, sent_to: Family, label: str = "client_secret", client_id: str | None = None
) -> ConfigurationError | None:
    """What is wrong with a client secret's shape for where it is sent (``azure``: Entra ID,
    ``databricks``: the workspace's OAuth server), or None: the client id pasted for it, a secret ID
    (a GUID) instead of its value, a Databricks ``dose`` secret sent to Entra, an Entra secret sent
    to Databricks. The one place these shapes are checked (settings validation and the doctor)."""
    if sent_to == "azure":
        if client_id is not None and value == client_id:
            return ConfigurationError(
                f"{label} equals the client id.",
                fix=f"Set {label} to the client secret's value, not the application id.",
                code="BA138",
            )
        if GUID.match(value):
            return ConfigurationError(
                f"{label} looks like a secret ID (a GUID), not a secret value.",
                fix="In the app registration's Certificates & secrets page, copy the secret's Value column "
                "(shown once at creation; create a new secret if it is hidden).",
                code="BA135",
            )
        if DATABRICKS_SECRET.match(value):
            return ConfigurationError(
                f"{label} is a Databricks OAuth secret (starts with 'dose'), but azure-m2m sends it to "
                "Entra ID.",
                fix="Use auth_type databricks-m2m with DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET, or set "
                f"{label} to the Entra client secret value.",
                code="BA136",
            )
        return None
    if value == client_id:
        return ConfigurationError(
            f"{label} equals the client id.",
            fix=f"Set {label} to the OAuth secret value (starts with 'dose').",
            code="BA138",
        )
    if ENTRA_SECRET.match(value):
        return ConfigurationError(
            f"{label} looks like an Entra ID client secret, but databricks-m2m sends it to the workspace's "
            "OAuth endpoint.",
            fix="Use auth_type azure-m2m with AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, "
            "or create a "
            "Databricks OAuth secret (dose...) for the service principal.",
            code="BA137",
        )
    if GUID.match(value):
        return ConfigurationError(
            f"{label} is a GUID: an application or secret ID, not a Databricks OAuth secret value.",
            fix="Set it to the OAuth secret value (starts with 'dose'), shown once when the secret "
            "is created.",
            code="BA135",
        )
    return None


def _validate_databricks(s: Settings, lookup: Lookup, report: Report) -> None:
    if s.host is None:
        _need("host", s, lookup, "the workspace host", report)
        return
    if s.auth_type != "databricks-m2m":
        return
    if s.client_id is None:
        _need("client_id", s, lookup, "the service principal's client (application) id", report)
    if s.client_secret is None:
        _need("client_secret", s, lookup, "a Databricks OAuth secret", report)
        return
    label = source_label("client_secret", s.source_of("client_secret") or "explicit")
    problem = secret_shape_problem(
        s.client_secret.reveal(), sent_to="databricks", label=label, client_id=s.client_id
    )
    if problem is not None:
        report(problem, "client_secret")


def _ci_oidc(env: Mapping[str, str]) -> bool:
    """GitHub Actions or Azure DevOps can hand this job an OIDC token (fleet, issue 12)."""
    return Platform(env).ci_oidc() is not None
