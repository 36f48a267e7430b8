"""Workload subject tokens (OIDC ID tokens from the platform) for token exchange: databricks-oidc
exchanges them at the workspace, azure-m2m presents them to Entra as a federated client assertion.

Sources, first that is configured (docs/fleet.md#subject-tokens):
1. a file: ``DATABRICKS_OIDC_TOKEN_FILEPATH`` / ``oidc_token_filepath`` (a Kubernetes projected service
   account token, re-read on every exchange);
2. an environment variable: the one named by ``DATABRICKS_OIDC_TOKEN_ENV`` (databricks-sdk's env-oidc),
   default ``DATABRICKS_OIDC_TOKEN``;
3. GitHub Actions: ``GET {ACTIONS_ID_TOKEN_REQUEST_URL}&audience=A`` with ``Authorization: Bearer
   {ACTIONS_ID_TOKEN_REQUEST_TOKEN}``, answer ``{"value": jwt}`` (as databricks-sdk's
   GitHubOIDCTokenSupplier and the GitHub docs "Configuring OpenID Connect in cloud providers");
4. Azure DevOps: ``POST {SYSTEM_OIDCREQUESTURI}?api-version=7.1[&serviceConnectionId=ID]`` with
   ``Authorization: Bearer {SYSTEM_ACCESSTOKEN}``, answer ``{"oidcToken": jwt}`` (azure-identity's
   AzurePipelinesCredential); the service connection id comes from ``BRICKAUTH_ADO_SERVICE_CONNECTION_ID``
   or ``AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`` (set by the AzureCLI@2 task).

The variables are read by ``brickauth.config`` (``Settings.platform``); this module takes them as input.

The token itself is a credential: it is never logged, and errors name only its source and claims
that are not secret (issuer, audience, subject, expiry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from brickauth.config.environment import Platform
from brickauth.errors import ConfigurationError, IdentityProviderError
from brickauth.flows.credential_files import read_jwt_file
from brickauth.http import HttpClient

ENTRA_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


class SubjectTokenSource(Protocol):
    @property
    def name(self) -> str: ...  # where the token comes from, e.g. "env:DATABRICKS_OIDC_TOKEN_FILEPATH (...)"

    def token(self, audience: str) -> str: ...


def _check_jwt(text: str, where: str) -> str:
    text = text.strip()
    if not text:
        raise ConfigurationError(
            f"The subject token from {where} is empty.",
            fix=f"Check what writes {where} (the platform's OIDC token).",
            code="BA188",
        )
    if text.count(".") != 2:
        raise ConfigurationError(
            f"The subject token from {where} is not a JWT.",
            fix=f"Point {where} at an OIDC ID token (three dot-separated parts).",
            code="BA188",
        )
    return text


@dataclass
class FileSubjectToken:
    path: str
    source: str

    @property
    def name(self) -> str:
        return f"{self.source} ({self.path})"

    def token(self, audience: str) -> str:
        label = _label(self.source)
        return read_jwt_file(
            self.path, what="subject token file", label=label, codes=("BA188", "BA188"),
            missing_fix=f"Point {label} at the projected service account token (or the file your CI "
            "writes the OIDC token to).",
            bad_fix=f"Point {label} at an OIDC ID token (three dot-separated parts).",
        )  # fmt: skip


@dataclass
class EnvSubjectToken:
    variable: str
    platform: Platform = field(repr=False)

    @property
    def name(self) -> str:
        return f"env:{self.variable}"

    def token(self, audience: str) -> str:
        value = self.platform.variable(self.variable)
        if value is None:
            raise ConfigurationError(
                f"{self.variable} (the subject token variable) is not set.",
                fix=f"Export the OIDC ID token in {self.variable}.",
                code="BA188",
            )
        return _check_jwt(value, self.variable)


@dataclass
class GitHubActionsToken:
    url: str
    request_token: str = field(repr=False)
    http: HttpClient
    name: str = "GitHub Actions OIDC (env:ACTIONS_ID_TOKEN_REQUEST_URL)"

    def token(self, audience: str) -> str:
        separator = "&" if "?" in self.url else "?"
        response = self.http.request(
            "GET",
            f"{self.url}{separator}audience={audience}",
            headers={"Authorization": f"Bearer {self.request_token}", "Accept": "application/json"},
        )
        if response.status_code in (401, 403):
            raise IdentityProviderError(
                f"GitHub Actions refused the OIDC token request (HTTP {response.status_code}).",
                fix="Give the job `permissions: id-token: write` (and rerun: the request token expires with "
                "the job).",
                code="BA277",
            )
        return _ci_value(response, "value", "GitHub Actions")


@dataclass
class AzureDevOpsToken:
    uri: str
    access_token: str = field(repr=False)
    connection_id: str | None
    http: HttpClient
    name: str = "Azure DevOps OIDC (env:SYSTEM_OIDCREQUESTURI)"

    def token(self, audience: str) -> str:
        params = {"api-version": "7.1"}
        if self.connection_id:
            params["serviceConnectionId"] = self.connection_id
        response = self.http.request(
            "POST",
            self.uri,
            params=params,
            data=b"",
            headers={"Authorization": f"Bearer {self.access_token}", "Content-Type": "application/json"},
        )
        if response.status_code in (401, 403):
            raise IdentityProviderError(
                f"Azure DevOps refused the OIDC token request (HTTP {response.status_code}).",
                fix="Map the job's access token into the step: env: SYSTEM_ACCESSTOKEN: "
                "$(System.AccessToken), "
                "and use a workload identity federation service connection.",
                code="BA277",
            )
        return _ci_value(response, "oidcToken", "Azure DevOps")


def _ci_value(response: object, field: str, who: str) -> str:
    status = getattr(response, "status_code", 0)
    try:
        body = response.json()  # type: ignore[attr-defined]
    except ValueError:
        body = None
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get(field), str):
        raise IdentityProviderError(
            f"{who} did not return an OIDC token (HTTP {status}).",
            fix=f"Check the {who} job's OIDC settings; rerun the job if it has been running for hours.",
            code="BA277",
            transient=status >= 500,
        )
    return _check_jwt(str(body[field]), f"{who}'s answer")


def find_source(
    *,
    filepath: tuple[str, str] | None,
    token_env: tuple[str, str] | None,
    http: HttpClient,
    platform: Platform,
    ci_only: bool = False,
) -> SubjectTokenSource | None:
    """The first configured source (``filepath``/``token_env``: (value, setting source)); None if none."""
    if not ci_only:
        if filepath is not None:
            return FileSubjectToken(filepath[0], filepath[1])
        if token_env is not None:
            return EnvSubjectToken(token_env[0], platform)
        if platform.variable("DATABRICKS_OIDC_TOKEN"):
            return EnvSubjectToken("DATABRICKS_OIDC_TOKEN", platform)
    ci = platform.ci_oidc()
    if ci is None:
        return None
    if ci.provider == "GitHub Actions":
        return GitHubActionsToken(ci.url, ci.request_token, http)
    if not ci.request_token:
        raise ConfigurationError(
            "SYSTEM_OIDCREQUESTURI is set but SYSTEM_ACCESSTOKEN is not (Azure DevOps does not "
            "expose it to "
            "scripts by default).",
            fix="Add to the step: env: SYSTEM_ACCESSTOKEN: $(System.AccessToken).",
            code="BA187",
        )
    return AzureDevOpsToken(ci.url, ci.request_token, ci.connection_id, http)


def _label(source: str) -> str:
    return source.removeprefix("env:") if source.startswith("env:") else source
