"""Helpers for the fleet tests (issue 12): a dirty shell, the stub ``az``, connector helpers."""

from __future__ import annotations

import json
import os
import stat
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import brickauth
from brickauth.provider import CredentialsProvider

# A user's shell is not clean: other flows' settings stay exported (M2M secrets, a PAT, ARM_* from a
# Terraform run). Every fleet test runs with these present, in os.environ (msal reads it) and in the
# settings' environment.
LEFTOVER_TENANT = str(uuid.uuid4())
LEFTOVER_CLIENT = str(uuid.uuid4())


def dirty_env(sb: Any) -> dict[str, str]:
    """The sandbox's M2M variables (Entra app + Databricks SP with their secrets) plus leftovers."""
    env = dict(sb.env())
    env.update({
        "DATABRICKS_TOKEN": "dapi" + "0" * 32,
        "ARM_CLIENT_ID": LEFTOVER_CLIENT,
        "ARM_TENANT_ID": LEFTOVER_TENANT,
        "ARM_CLIENT_SECRET": "leftover-terraform-secret",
        "ARM_SUBSCRIPTION_ID": str(uuid.uuid4()),
    })  # fmt: skip
    return env


def apply(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, str]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def provider(sb: Any, auth_type: str, env: dict[str, str], **kw: Any) -> CredentialsProvider:
    return brickauth.credentials_provider(auth_type, sb.workspace_url, env=env, **kw)




# -- the Azure CLI stand-in ------------------------------------------------------------------------
# azure-cli itself needs an ARM endpoint (subscriptions, tenants) to sign in, which the sandbox does
# not emulate: tests use this stub. It behaves as `az account get-access-token` after `az login`: it
# reads AZURE_CONFIG_DIR/azureProfile.json (az's file; signed out = no subscriptions), gets a user
# token from the sandbox's Entra with the Azure CLI's public client id (as az does from its msal
# cache), and prints az's JSON shape (accessToken, expiresOn local "%Y-%m-%d %H:%M:%S.%f",
# expires_on epoch since az 2.54, subscription, tenant, tokenType). Signed out, it prints az's error
# "ERROR: Please run 'az login' to setup account." and exits 1.
STUB = r"""#!{python}
import datetime, json, os, sys, time
import requests
cfg = os.environ.get("AZURE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".azure")
args = sys.argv[1:]
calls = os.path.join(cfg, "stub-calls.log")
with open(calls, "a") as f:
    f.write(" ".join(args) + "\n")
try:
    profile = json.load(open(os.path.join(cfg, "azureProfile.json"), encoding="utf-8-sig"))
except (OSError, ValueError):
    profile = {{}}
subs = profile.get("subscriptions") or []
if args[:2] != ["account", "get-access-token"]:
    sys.stderr.write("ERROR: stub az supports only account get-access-token\n"); sys.exit(2)
if not subs:
    sys.stderr.write("ERROR: Please run 'az login' to setup account.\n"); sys.exit(1)
if os.environ.get("BRICKAUTH_STUB_AZ_HANG"):
    time.sleep(600)
stub = json.load(open(os.path.join(cfg, "brickauth-stub.json")))
tenant = args[args.index("--tenant") + 1] if "--tenant" in args else subs[0]["tenantId"]
resource = args[args.index("--resource") + 1]
r = requests.post(stub["authority"] + "/" + tenant + "/oauth2/v2.0/token", data={{
    "grant_type": "password", "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
    "username": subs[0]["user"]["name"], "password": stub["password"], "scope": resource + "/.default"}},
    verify=stub["ca_bundle"], timeout=30)
body = r.json()
if "access_token" not in body:
    sys.stderr.write("ERROR: " + body.get("error_description", "failed").splitlines()[0] + "\n"
                     "Interactive authentication is needed. Please run:\naz login --scope "
                     "" + resource + "/.default\n")
    sys.exit(1)
expires_on = int(time.time()) + int(body["expires_in"])
print(json.dumps({{
    "accessToken": body["access_token"],
    "expiresOn": datetime.datetime.fromtimestamp(expires_on).strftime("%Y-%m-%d %H:%M:%S.%f"),
    "expires_on": expires_on,
    "subscription": subs[0]["id"],
    "tenant": tenant,
    "tokenType": "Bearer",
}}, indent=2))
"""


def install_stub_az(directory: Path) -> Path:
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    az = bin_dir / "az"
    az.write_text(STUB.format(python=sys.executable))
    az.chmod(az.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


def az_login(config_dir: Path, sb: Any, *, upn: str, password: str) -> None:
    """What `az login` leaves behind (azureProfile.json's real shape) plus the stub's own file."""
    config_dir.mkdir(parents=True, exist_ok=True)
    profile = {
        "installationId": str(uuid.uuid4()),
        "subscriptions": [{
            "id": str(uuid.uuid4()), "name": "Sandbox subscription", "state": "Enabled",
            "user": {"name": upn, "type": "user"}, "isDefault": True, "tenantId": sb.ids.tenant_id,
            "environmentName": "AzureCloud", "homeTenantId": sb.ids.tenant_id, "tenantDefaultDomain":
            sb.ids.tenant_domain, "tenantDisplayName": "Contoso (sandbox)", "managedByTenants": [],
        }],
    }  # fmt: skip
    (config_dir / "azureProfile.json").write_text(json.dumps(profile), encoding="utf-8-sig")
    (config_dir / "brickauth-stub.json").write_text(
        json.dumps({"authority": sb.entra_url, "password": password, "ca_bundle": str(sb.ca_bundle)})
    )
    os.chmod(config_dir / "brickauth-stub.json", 0o600)


def az_logout(config_dir: Path) -> None:
    path = config_dir / "azureProfile.json"
    profile = json.loads(path.read_text(encoding="utf-8-sig"))
    profile["subscriptions"] = []
    path.write_text(json.dumps(profile), encoding="utf-8-sig")
