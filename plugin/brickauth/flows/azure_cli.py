"""azure-cli: reuse an ``az login`` session, as azure-identity's AzureCliCredential and databricks-sdk's
azure-cli auth do::

    az account get-access-token --output json --resource <the Azure Databricks resource id> [--tenant T]

Bounded in time (the process is killed after ``timeout`` seconds), never interactive. Output (az 2.54+
adds ``expires_on``, epoch seconds; older ones only ``expiresOn``, a naive local time, which
azure-identity parses with ``%Y-%m-%d %H:%M:%S.%f``)::

    {"accessToken": "...", "expiresOn": "2026-12-02 09:41:07.000000", "expires_on": 1796204467,
     "subscription": "...", "tenant": "...", "tokenType": "Bearer"}

Errors, as az prints them: ``ERROR: Please run 'az login' to setup account.`` (signed out;
Azure/azure-cli#12750, Azure/sap-automation#588), AADSTS errors for an expired sign-in (also ending in
"run 'az login'"). az not on PATH is reported with the install command.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from datetime import datetime
from typing import Any

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.config import Settings
from brickauth.entra import AZURE_DATABRICKS_RESOURCE_ID
from brickauth.errors import ConfigurationError, IdentityProviderError, LoginRequiredError
from brickauth.token import AccessToken, expires_at_for

log = logging.getLogger(__name__)

RESOURCE = AZURE_DATABRICKS_RESOURCE_ID
INSTALL_FIX = (
    "Install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli, e.g. "
    "curl -sL https://aka.ms/InstallAzureCLIDeb | sudo bash), then run: az login"
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def command_line(resource: str, tenant: str | None) -> list[str]:
    args = ["account", "get-access-token", "--output", "json", "--resource", resource]
    if tenant:
        args += ["--tenant", tenant]
    return args


class AzureCLISource:
    """``TokenSource`` for azure-cli."""

    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.tenant = settings.tenant_id
        self.resource = settings.scopes[0].removesuffix("/.default") if settings.scopes else RESOURCE
        self.timeout = settings.timeout
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> AzureCLISource:
        return cls(settings, clock=clock)

    def describe(self) -> str:
        tenant = f" tenant {self.tenant[:8]}.." if self.tenant else ""
        return f"azure-cli (az account get-access-token{tenant})"

    def login_command(self) -> str:
        return f"az login --tenant {self.tenant}" if self.tenant else "az login"

    def fetch(self) -> AccessToken:
        az = shutil.which("az")
        if az is None:
            raise ConfigurationError(
                "azure-cli needs the Azure CLI, but az is not on PATH.", fix=INSTALL_FIX, code="BA280"
            )
        started = self._clock.now()
        try:
            proc = subprocess.run(
                [az, *command_line(self.resource, self.tenant)],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
                stdin=subprocess.DEVNULL,
                cwd=os.path.dirname(az) or None,
            )
        except subprocess.TimeoutExpired:
            raise IdentityProviderError(
                f"az account get-access-token did not finish within {self.timeout:g} s.",
                fix=f"Run `az account get-access-token --resource {self.resource}` yourself to see what "
                f"it waits "
                "for (a proxy? an expired sign-in?), then retry; raise timeout= if az is just slow.",
                code="BA282",
                transient=True,
            ) from None
        except OSError as exc:
            raise ConfigurationError(
                f"az could not be started ({type(exc).__name__}).", fix=INSTALL_FIX, code="BA280"
            ) from None
        if proc.returncode != 0:
            raise self._failed(proc.stderr or "")
        return self._parse(proc.stdout, started)

    def _failed(self, stderr: str) -> Exception:
        text = _JWT.sub("***", stderr).strip()
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        if "az login" in text or "az account set" in text:
            # azure-identity: `"az login" in stderr or "az account set" in stderr` -> not signed in.
            return LoginRequiredError(
                f"The Azure CLI is not signed in{' to tenant ' + self.tenant if self.tenant else ''} "
                f"({first.removeprefix('ERROR: ')[:160]}).",
                fix=f"Run: {self.login_command()}",
                code="BA281",
            )
        return IdentityProviderError(
            f"az account get-access-token failed: {first.removeprefix('ERROR: ')[:200] or 'no message'}.",
            fix=f"Run `az account get-access-token --resource {self.resource}"
            f"{' --tenant ' + self.tenant if self.tenant else ''}` to see the whole error; "
            f"{self.login_command()} refreshes the sign-in.",
            code="BA283",
        )

    def _parse(self, stdout: str, started: float) -> AccessToken:
        try:
            body: Any = json.loads(stdout)
            token = str(body["accessToken"])
        except (ValueError, KeyError, TypeError):
            raise IdentityProviderError(
                "az account get-access-token printed something that is not its JSON answer.",
                fix="Update the Azure CLI (az upgrade) and check that no alias or wrapper named az "
                "prints extra "
                "text.",
                code="BA284",
            ) from None
        expires_on = body.get("expires_on")
        if isinstance(expires_on, (int, float)) or (isinstance(expires_on, str) and expires_on.isdigit()):
            absolute = float(expires_on)
        else:
            try:
                absolute = datetime.strptime(str(body.get("expiresOn")), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            except ValueError:
                absolute = started + 300.0  # unknown: refresh soon
        # The clock may be injected (tests): keep the lifetime az reports, measured from our clock.
        import time

        expires_in = absolute - time.time()
        return AccessToken(
            token=token,
            expires_at=expires_at_for(token, started, max(expires_in, 0.0)),
            token_type=str(body.get("tokenType") or "Bearer"),
            scopes=(f"{self.resource}/.default",),
        )
