"""Test harness for the SQL warehouse alone (no tests here).

Serves ``ThriftWarehouse`` over HTTPS on a fresh ``127.x.y.z:443`` with the sandbox's own CA and
server: ``POST /sql/1.0/warehouses/<id>`` with a bearer token from ``tokens`` (token -> principal),
plus a minimal ``/.well-known/databricks-config`` for dbt-databricks' probe. The real connector and
dbt connect to it like to a workspace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from databricks import sql
from werkzeug.wrappers import Request, Response

from brickauth_sandbox.server import HttpsServer, pick_loopback_address
from brickauth_sandbox.tls import CertificateAuthority
from brickauth_sandbox.warehouse.engine import WarehouseEngine
from brickauth_sandbox.warehouse.thrift_service import ThriftWarehouse

WAREHOUSE_ID = "abc123def4567890"
HTTP_PATH = f"/sql/1.0/warehouses/{WAREHOUSE_ID}"
ALICE = "alice@contoso.com"
BOB = "bob@contoso.com"
SP = "6a1f0f6e-1111-4d6a-9a3e-5b2a7c1d0e11"  # a service principal: current_user() is its application id
TOKENS = {"tok-alice": ALICE, "tok-bob": BOB, "tok-sp": SP}


@dataclass
class WarehouseHarness:
    engine: WarehouseEngine
    service: ThriftWarehouse
    server: HttpsServer
    ca: CertificateAuthority
    address: str
    tokens: dict[str, str] = field(default_factory=lambda: dict(TOKENS))

    @property
    def host(self) -> str:
        return self.address

    def token_for(self, principal: str) -> str:
        return next(t for t, p in self.tokens.items() if p == principal)

    def connect(self, principal: str = ALICE, **kwargs: Any) -> Any:
        """A real ``databricks.sql`` connection as ``principal``."""
        return sql.connect(
            server_hostname=self.address,
            http_path=HTTP_PATH,
            access_token=self.token_for(principal),
            _tls_trusted_ca_file=str(self.ca.cert_path),
            enable_telemetry=False,
            _retry_stop_after_attempts_count=1,
            **kwargs,
        )

    def ca_bundle(self) -> Path:
        return self.ca.write_ca_bundle()


def make_app(service: ThriftWarehouse, tokens: dict[str, str]) -> Any:
    @Request.application  # type: ignore[misc]
    def app(request: Request) -> Response:
        if request.path == "/.well-known/databricks-config":
            body = {"host_type": "workspace", "cloud": "AZURE", "workspace_id": "1234567890123456"}
            return Response(json.dumps(body), 200, content_type="application/json")
        prefix = "/sql/1.0/warehouses/"
        if request.method != "POST" or not request.path.startswith(prefix):
            return Response(
                json.dumps({"error_code": "ENDPOINT_NOT_FOUND"}), 404, content_type="application/json"
            )
        auth = request.headers.get("Authorization", "")
        principal = tokens.get(auth.removeprefix("Bearer ").strip()) if auth.startswith("Bearer ") else None
        if principal is None:
            return Response(b"", 401, headers={"x-thriftserver-error-message": "Invalid access token."})
        warehouse_id = request.path[len(prefix) :]
        answer = service.handle(request.get_data(), principal=principal, warehouse_id=warehouse_id)
        return Response(answer, 200, content_type="application/x-thrift")

    return app


@contextmanager
def running_warehouse(
    tmp_path: Path, engine: WarehouseEngine | None = None, **service_kwargs: Any
) -> Iterator[WarehouseHarness]:
    engine = engine or WarehouseEngine()
    service = ThriftWarehouse(engine, **service_kwargs)
    address = pick_loopback_address(443)
    ca = CertificateAuthority.create(tmp_path / "ca")
    cert = ca.issue([address])
    server = HttpsServer(make_app(service, dict(TOKENS)), address, 443, cert.ssl_context(), name="warehouse")
    server.start()
    try:
        yield WarehouseHarness(engine, service, server, ca, address)
    finally:
        server.stop()
        service.reset()
        engine.close()


def dbt_env(harness: WarehouseHarness, token: str) -> dict[str, str]:
    """Environment for a dbt subprocess: trusts the harness CA, token in an env var."""
    bundle = str(harness.ca_bundle())
    env = dict(os.environ)
    env.update(
        {
            "REQUESTS_CA_BUNDLE": bundle,
            "SSL_CERT_FILE": bundle,
            "DBT_SANDBOX_HOST": harness.address,
            "DBT_SANDBOX_HTTP_PATH": HTTP_PATH,
            "DBT_SANDBOX_TOKEN": token,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    return env


DBT_PROJECT = {
    "dbt_project.yml": """\
name: warehouse_check
version: "1.0.0"
config-version: 2
profile: warehouse_check
model-paths: ["models"]
models:
  warehouse_check:
    +materialized: view
""",
    "models/customers.sql": """\
{{ config(materialized='table') }}
select 1 as customer_id, 'Ada' as name, 'active' as status
union all
select 2 as customer_id, 'Grace' as name, 'inactive' as status
""",
    "models/active_customers.sql": """\
select customer_id, name from {{ ref('customers') }} where status = 'active'
""",
    "models/schema.yml": """\
version: 2
models:
  - name: customers
    description: "Customers"
    columns:
      - name: customer_id
        tests: [not_null, unique]
      - name: status
        tests:
          - accepted_values:
              values: ['active', 'inactive']
  - name: active_customers
    columns:
      - name: customer_id
        tests:
          - not_null
          - relationships:
              to: ref('customers')
              field: customer_id
""",
}


def write_dbt_project(
    root: Path, harness: WarehouseHarness, *, schema: str = "dbt_ci", threads: int = 4
) -> Path:
    """A dbt project (table model, view model on it, schema tests) and a profile for the harness."""
    for rel, text in DBT_PROJECT.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "profiles.yml").write_text(
        f"""\
warehouse_check:
  target: ci
  outputs:
    ci:
      type: databricks
      host: "{{{{ env_var('DBT_SANDBOX_HOST') }}}}"
      http_path: "{{{{ env_var('DBT_SANDBOX_HTTP_PATH') }}}}"
      token: "{{{{ env_var('DBT_SANDBOX_TOKEN') }}}}"
      catalog: main
      schema: {schema}
      threads: {threads}
      connect_retries: 0
      connect_timeout: 10
      connection_parameters:
        _tls_trusted_ca_file: "{harness.ca.cert_path}"
        enable_telemetry: false
        _retry_stop_after_attempts_count: 1
"""
    )
    return root
