"""The sandbox: Entra ID and a Databricks workspace (with a SQL warehouse) over TLS on loopback.

``Sandbox`` makes a private CA, binds each service to its own fresh ``127.x.y.z:443``, seeds a baseline
directory and workspace, and offers a Python control API to set things up and break them::

    with Sandbox() as sb:
        os.environ.update(sb.env())
        sb.revoke_can_use(sb.ids.m2m_client_id)   # the next query fails as Databricks fails it
        sb.faults["entra"].fail_next(2, path_prefix=TOKEN_PATHS["entra"])
        sb.request_log.count(service="entra", grant_type="client_credentials")

``reset()`` returns to the baseline (same addresses, ids and secrets; fresh state, no faults, default
lifetimes, empty request log) so tests sharing one running sandbox never see each other's changes.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import shutil
import string
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.secret import Secret
from brickauth_sandbox.entra.model import (
    AZURE_DATABRICKS_RESOURCE_ID,
    AppRegistration,
    ClientSecret,
    RedirectUri,
    Tenant,
    User,
    new_guid,
)
from brickauth_sandbox.faults import TOKEN_PATHS, Faults, instrument
from brickauth_sandbox.lifetimes import TokenLifetimes
from brickauth_sandbox.requestlog import RequestLog
from brickauth_sandbox.server import HttpsServer, WSGIApp, pick_loopback_address
from brickauth_sandbox.signing import SigningKey
from brickauth_sandbox.tls import CertificateAuthority
from brickauth_sandbox.workspace.model import (
    DATABRICKS_SQL_ACCESS,
    DatabricksServicePrincipal,
    OAuthAppIntegration,
    OAuthSecret,
    PrincipalKind,
    Warehouse,
    WarehouseState,
    Workspace,
    WorkspacePrincipal,
)

if TYPE_CHECKING:
    from brickauth_sandbox.entra.app import EntraService
    from brickauth_sandbox.fleet import Fleet
    from brickauth_sandbox.warehouse.engine import WarehouseEngine
    from brickauth_sandbox.warehouse.thrift_service import ThriftWarehouse
    from brickauth_sandbox.workspace.app import WorkspaceService

log = logging.getLogger(__name__)

SERVICES = ("entra", "workspace", "admin", "msi", "issuer")
# Plain HTTP, as the real managed identity endpoints (IMDS, App Service) are.
PLAIN_HTTP_SERVICES = {"msi": 80}
# Catalogs on which baseline and added principals get ALL PRIVILEGES (the warehouse's baseline catalogs).
BASELINE_UC_CATALOGS = ("main", "hive_metastore")
# Published Databricks OAuth app integrations for U2M, with their loopback redirect URLs.
LOOPBACK_REDIRECTS = [f"http://localhost:{p}" for p in range(8020, 8026)] + [
    "http://localhost", "http://127.0.0.1",
]
PUBLISHED_U2M_APPS = {
    "databricks-cli": "Databricks CLI",
    "databricks-sql-python": "Databricks SQL Connector for Python",
    "dbt-databricks": "dbt adapter for Databricks",
}


def entra_client_secret() -> str:
    """A value shaped like Entra's: three characters, ``8Q~``, 34 more."""
    alphabet = string.ascii_letters + string.digits + "~._-"
    return "".join(secrets.choice(alphabet) for _ in range(3)) + "8Q~" + "".join(
        secrets.choice(alphabet) for _ in range(34)
    )


def databricks_oauth_secret() -> str:
    return "dose" + secrets.token_hex(16)


def user_password() -> str:
    return "Sbx-" + secrets.token_urlsafe(12)


@dataclass(frozen=True)
class BaselineIds:
    """The baseline's identities, generated once per sandbox (stable across ``reset()``)."""

    tenant_id: str
    tenant_domain: str
    m2m_client_id: str  # confidential Entra app, added to the workspace, CAN USE
    m2m_client_secret: Secret
    m2m_secret_id: str
    public_client_id: str  # public client app for Entra U2M (redirect http://localhost, Mobile and desktop)
    user_upn: str  # workspace member with CAN USE; password sign-in, no MFA
    user_password: Secret
    databricks_sp_client_id: str  # Databricks service principal with an OAuth secret, CAN USE
    databricks_sp_secret: Secret
    workspace_id: str
    warehouse_id: str

    @classmethod
    def generate(cls) -> BaselineIds:
        return cls(
            tenant_id=new_guid(),
            tenant_domain="contoso.onmicrosoft.com",
            m2m_client_id=new_guid(),
            m2m_client_secret=Secret(entra_client_secret()),
            m2m_secret_id=new_guid(),
            public_client_id=new_guid(),
            user_upn="sandbox.user@contoso.onmicrosoft.com",
            user_password=Secret(user_password()),
            databricks_sp_client_id=new_guid(),
            databricks_sp_secret=Secret(databricks_oauth_secret()),
            workspace_id=str(secrets.randbelow(9 * 10**15) + 10**15),
            warehouse_id=secrets.token_hex(8),
        )


class _LazyWarehouse:
    """The workspace's Thrift handler, available once the SQL engine has loaded."""

    def __init__(self, get: Callable[[], ThriftWarehouse]) -> None:
        self._get = get

    def handle(self, body: bytes, *, principal: str, warehouse_id: str) -> bytes:
        return self._get().handle(body, principal=principal, warehouse_id=warehouse_id)


class Sandbox:
    """Entra + workspace + warehouse on loopback, with a control API. Use as a context manager."""

    def __init__(
        self,
        *,
        clock: Clock = SYSTEM_CLOCK,
        directory: str | Path | None = None,
        admin: bool = True,
        ids: BaselineIds | None = None,
    ) -> None:
        self.clock = clock
        self.ids = ids or BaselineIds.generate()
        self._directory = Path(directory) if directory is not None else None
        self._with_admin = admin
        self.request_log = RequestLog()
        self.faults: dict[str, Faults] = {name: Faults() for name in SERVICES}
        self.lifetimes = TokenLifetimes()
        self._lock = threading.RLock()
        self._servers: dict[str, HttpsServer] = {}
        self._apps: dict[str, WSGIApp] = {}
        self._ca: CertificateAuthority | None = None
        self._owns_directory = False
        self.ca_bundle: Path | None = None
        self.addresses: dict[str, str] = {}
        self.entra_signing_key: SigningKey | None = None
        self.workspace_signing_key: SigningKey | None = None
        self.issuer_signing_key: SigningKey | None = None
        self._fleet: Fleet | None = None
        # The SQL engine (duckdb, pyarrow, sqlglot: about a second to import) loads in the background.
        self._engine_loader: ThreadPoolExecutor | None = None
        self._engine_future: Future[WarehouseEngine] | None = None
        self._engine_submitted = False
        self._thrift: ThriftWarehouse | None = None
        self.engine_ready_seconds: float | None = None
        self._entra: EntraService | None = None
        self._workspace_service: WorkspaceService | None = None
        self._workspace: Workspace | None = None
        self.startup_seconds = 0.0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._servers:
            raise RuntimeError("sandbox already started")
        t0 = time.perf_counter()
        # The RSA signing keys are made concurrently with the rest (OpenSSL releases the GIL). The SQL
        # engine loads in the background once the servers are up: the first SQL request waits for it
        # (as for a warehouse that is still starting).
        self._engine_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brickauth-sandbox-engine")
        self._engine_future = Future()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="brickauth-sandbox-start") as pool:
            keys = [pool.submit(SigningKey.generate) for _ in range(3)]
            self._ca = CertificateAuthority.create(self._directory)
            self._owns_directory = self._directory is None
            self.ca_bundle = self._ca.write_ca_bundle()
            names = ["entra", "workspace", "msi", "issuer"] + (["admin"] if self._with_admin else [])
            while len(set(self.addresses.values())) < len(names):
                self.addresses = {name: pick_loopback_address() for name in names}
            certs = {name: self._ca.issue([self.addresses[name]], name=name) for name in names
                     if name not in PLAIN_HTTP_SERVICES}
            self._import_services()
            self.entra_signing_key, self.workspace_signing_key, self.issuer_signing_key = (
                k.result() for k in keys)
        self._build_state()
        try:
            for name in names:
                app = instrument(
                    self._dispatcher(name), name, self.request_log, self.faults[name], self.clock
                )
                tls = certs[name].ssl_context() if name in certs else None
                server = HttpsServer(app, self.addresses[name], PLAIN_HTTP_SERVICES.get(name, 443), tls,
                                     name=name, on_stop=self.faults[name].clear)
                server.start()
                self._servers[name] = server
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - t0
        self._engine_loader.submit(self._load_engine, self._engine_future, t0)
        self._engine_submitted = True
        log.info("sandbox started in %.2fs: workspace %s, entra %s", self.startup_seconds,
                 self.workspace_url, self.entra_url)
        return self

    def _load_engine(self, future: Future[WarehouseEngine], t0: float) -> None:
        try:
            import brickauth_sandbox.warehouse.thrift_service  # noqa: F401  (the heavy imports, here)
            from brickauth_sandbox.warehouse.engine import WarehouseEngine

            engine = WarehouseEngine(authorize=self._authorize, clock=self.clock)
        except BaseException as exc:
            future.set_exception(exc)
            return
        self.engine_ready_seconds = time.perf_counter() - t0
        future.set_result(engine)

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Block until the SQL engine has loaded (the services already answer)."""
        self.engine_future().result(timeout)

    def engine_future(self) -> Future[WarehouseEngine]:
        if self._engine_future is None:
            raise RuntimeError("start the sandbox first")
        return self._engine_future

    def _thrift_warehouse(self) -> ThriftWarehouse:
        engine = self.engine_future().result()
        with self._lock:
            if self._thrift is None:
                from brickauth_sandbox.warehouse.thrift_service import ThriftWarehouse

                self._thrift = ThriftWarehouse(engine)
            return self._thrift

    @staticmethod
    def _import_services() -> None:
        import brickauth_sandbox.entra.app
        import brickauth_sandbox.workspace.app  # noqa: F401

    def stop(self) -> bool:
        """Stop every service; False when a server's thread had to be abandoned (see ``HttpsServer``)."""
        servers, self._servers = self._servers, {}
        stopped = [server.stop() for server in servers.values()]
        future, self._engine_future = self._engine_future, None
        self._thrift = None
        if future is not None and not self._engine_submitted:
            future.cancel()  # start-up failed before the engine was asked for
        elif future is not None:
            try:
                future.result(timeout=30)
            except Exception:  # a failed load was reported to whoever used it
                log.debug("sandbox SQL engine failed to load", exc_info=True)
            else:
                future.result().close()
        self._engine_submitted = False
        if self._engine_loader is not None:
            self._engine_loader.shutdown(wait=False)
            self._engine_loader = None
        if self._owns_directory and self._ca is not None:
            shutil.rmtree(self._ca.directory, ignore_errors=True)
        self._ca = None
        return all(stopped)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return bool(self._servers)

    def reset(self) -> None:
        """Back to the baseline: fresh directory and workspace state (same ids and secrets), engine
        data dropped, faults cleared (hung requests released), default lifetimes, empty request log."""
        with self._lock:
            for faults in self.faults.values():
                faults.clear()
            defaults = TokenLifetimes()
            for f in dataclasses.fields(TokenLifetimes):
                setattr(self.lifetimes, f.name, getattr(defaults, f.name))
            if self._engine_future is not None and self._engine_future.done():
                self._engine_future.result().reset()
            self._thrift = None  # fresh Thrift sessions and operations
            self._build_state()
            self.request_log.clear()

    # -- composition ----------------------------------------------------------------------------
    def _dispatcher(self, name: str) -> WSGIApp:
        # The servers stay up across reset(); each request goes to the current app of the service.
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            return self._apps[name](environ, start_response)

        return app

    def _build_state(self) -> None:
        from brickauth_sandbox.entra.app import EntraService
        from brickauth_sandbox.workspace.app import WorkspaceService

        assert self.entra_signing_key is not None and self.workspace_signing_key is not None
        entra = EntraService(base_url=self.entra_url, signing_key=self.entra_signing_key, clock=self.clock,
                             lifetimes=self.lifetimes)
        entra.tenants[self.ids.tenant_id] = self._baseline_tenant()
        workspace = self._baseline_workspace()
        service = WorkspaceService(
            workspace=workspace, base_url=self.workspace_url, entra=entra,
            signing_key=self.workspace_signing_key, warehouse=_LazyWarehouse(self._thrift_warehouse),
            clock=self.clock, lifetimes=self.lifetimes, engine=lambda: self.engine_future().result(),
        )
        self._entra, self._workspace, self._workspace_service = entra, workspace, service
        self._apps["entra"] = entra
        self._apps["workspace"] = service
        self._build_fleet()
        if self._with_admin:
            from brickauth_sandbox.admin import AdminApp

            self._apps["admin"] = AdminApp(self)

    def _build_fleet(self) -> None:
        """Managed identities, the workload OIDC issuer and its federation policies (issue 12)."""
        from brickauth_sandbox.fleet import Fleet

        if self._fleet is None:
            assert self.issuer_signing_key is not None
            self._fleet = Fleet(self, self.issuer_signing_key)
        self._fleet.build()
        self._apps["msi"] = self._fleet.msi_service
        self._apps["issuer"] = self._fleet.issuer

    @property
    def fleet(self) -> Fleet:
        assert self._fleet is not None, "start the sandbox first"
        return self._fleet

    @property
    def issuer_url(self) -> str:
        return f"https://{self.addresses['issuer']}"

    def _baseline_tenant(self) -> Tenant:
        ids = self.ids
        tenant = Tenant(tenant_id=ids.tenant_id, domain=ids.tenant_domain, display_name="Contoso (sandbox)")
        tenant.apps[ids.m2m_client_id] = AppRegistration(
            app_id=ids.m2m_client_id, display_name="brickauth-sandbox-m2m", home_tenant_id=ids.tenant_id,
            secrets=[ClientSecret(value=ids.m2m_client_secret.reveal(), secret_id=ids.m2m_secret_id,
                                  description="sandbox")],
        )
        tenant.apps[ids.public_client_id] = AppRegistration(
            app_id=ids.public_client_id, display_name="brickauth-sandbox-u2m", home_tenant_id=ids.tenant_id,
            redirect_uris=[RedirectUri("http://localhost", "mobile_desktop")],
            allow_public_client_flows=True,
        )
        # Admin consent for the public client's Azure Databricks permission: users sign in without a
        # consent prompt (tests revoke it to see AADSTS65001).
        tenant.admin_consent[(ids.public_client_id, AZURE_DATABRICKS_RESOURCE_ID)] = {"user_impersonation"}
        tenant.users[ids.user_upn.lower()] = User(
            upn=ids.user_upn, password=ids.user_password.reveal(), home_tenant_id=ids.tenant_id,
            display_name="Sandbox User",
        )
        return tenant

    def _baseline_workspace(self) -> Workspace:
        ids = self.ids
        ws = Workspace(workspace_id=ids.workspace_id, tenant_id=ids.tenant_id)
        user = ids.user_upn.lower()
        ws.principals[user] = WorkspacePrincipal(
            key=user, kind="user", display_name="Sandbox User", password=ids.user_password.reveal()
        )
        ws.principals[ids.m2m_client_id] = WorkspacePrincipal(
            key=ids.m2m_client_id, kind="service_principal", display_name="brickauth-sandbox-m2m"
        )
        ws.principals[ids.databricks_sp_client_id] = WorkspacePrincipal(
            key=ids.databricks_sp_client_id, kind="service_principal", display_name="brickauth-sandbox-dbx-sp"
        )
        ws.account_service_principals[ids.databricks_sp_client_id] = DatabricksServicePrincipal(
            application_id=ids.databricks_sp_client_id, display_name="brickauth-sandbox-dbx-sp",
            secrets=[OAuthSecret(value=ids.databricks_sp_secret.reveal())],
        )
        for client_id, name in PUBLISHED_U2M_APPS.items():
            ws.oauth_apps[client_id] = OAuthAppIntegration(
                client_id=client_id, name=name, redirect_urls=list(LOOPBACK_REDIRECTS)
            )
        keys = {user, ids.m2m_client_id, ids.databricks_sp_client_id}
        ws.warehouses[ids.warehouse_id] = Warehouse(
            warehouse_id=ids.warehouse_id, name="Sandbox Warehouse", state="RUNNING", can_use=set(keys)
        )
        for key in keys:
            for catalog in BASELINE_UC_CATALOGS:
                ws.uc_grants.add((key, catalog, "ALL PRIVILEGES"))
        return ws

    def _authorize(self, principal: str, privilege: str, kind: str, full_name: str) -> bool:
        """Unity Catalog privileges from ``workspace.uc_grants``, inherited from catalog and schema.

        ``ALL PRIVILEGES`` covers everything but ``MANAGE`` (as in Unity Catalog), so replacing another
        principal's table still fails with "not an owner"."""
        ws = self._workspace
        if ws is None:
            return False
        member = ws.principals.get(principal) or ws.principals.get(principal.lower())
        if member is not None and member.admin:
            return True
        parts = full_name.lower().split(".")
        wanted = {privilege.upper()} | ({"ALL PRIVILEGES"} if privilege.upper() != "MANAGE" else set())
        keys = {principal, principal.lower()}
        for i in range(len(parts), 0, -1):
            securable = ".".join(parts[:i])
            if any((k, securable, p) in ws.uc_grants for k in keys for p in wanted):
                return True
        return False

    # -- what clients need ----------------------------------------------------------------------
    @property
    def entra_url(self) -> str:
        return f"https://{self.addresses['entra']}"

    @property
    def workspace_url(self) -> str:
        return f"https://{self.addresses['workspace']}"

    @property
    def admin_url(self) -> str | None:
        return f"https://{self.addresses['admin']}" if "admin" in self.addresses else None

    @property
    def authority(self) -> str:
        """The msal authority for the baseline tenant."""
        return f"{self.entra_url}/{self.ids.tenant_id}"

    @property
    def http_path(self) -> str:
        return f"/sql/1.0/warehouses/{self.ids.warehouse_id}"

    def token_path(self, service: str) -> str:
        """The token endpoint of ``service`` as a fault path pattern."""
        return TOKEN_PATHS[service]

    def env(self) -> dict[str, str]:
        """The environment a client needs (secrets included: sandbox-only values)."""
        if not self.addresses or self.ca_bundle is None:
            raise RuntimeError("start the sandbox first")
        ids = self.ids
        env = {
            "DATABRICKS_HOST": self.workspace_url,
            "DATABRICKS_HTTP_PATH": self.http_path,
            "AZURE_AUTHORITY_HOST": self.entra_url,
            "AZURE_TENANT_ID": ids.tenant_id,
            "AZURE_CLIENT_ID": ids.m2m_client_id,
            "AZURE_CLIENT_SECRET": ids.m2m_client_secret.reveal(),
            "DATABRICKS_CLIENT_ID": ids.databricks_sp_client_id,
            "DATABRICKS_CLIENT_SECRET": ids.databricks_sp_secret.reveal(),
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle),
            "SSL_CERT_FILE": str(self.ca_bundle),
            "BRICKAUTH_SANDBOX_USER": ids.user_upn,
            "BRICKAUTH_SANDBOX_PASSWORD": ids.user_password.reveal(),
            "BRICKAUTH_SANDBOX_PUBLIC_CLIENT_ID": ids.public_client_id,
            # the app a person signs in with (azure-u2m); AZURE_CLIENT_ID above is the M2M app
            "BRICKAUTH_AZURE_U2M_CLIENT_ID": ids.public_client_id,
        }
        if self.admin_url:
            env["BRICKAUTH_SANDBOX_ADMIN_URL"] = self.admin_url
        return env

    # -- live state -----------------------------------------------------------------------------
    @property
    def entra(self) -> EntraService:
        assert self._entra is not None, "start the sandbox first"
        return self._entra

    @property
    def workspace_service(self) -> WorkspaceService:
        assert self._workspace_service is not None, "start the sandbox first"
        return self._workspace_service

    @property
    def workspace(self) -> Workspace:
        assert self._workspace is not None, "start the sandbox first"
        return self._workspace

    @property
    def tenant(self) -> Tenant:
        return self.entra.tenants[self.ids.tenant_id]

    @property
    def engine(self) -> WarehouseEngine:
        return self.engine_future().result()

    def warehouse(self, warehouse_id: str | None = None) -> Warehouse:
        return self.workspace.warehouses[warehouse_id or self.ids.warehouse_id]

    # -- set things up --------------------------------------------------------------------------
    def add_user(
        self, upn: str | None = None, *, password: str | None = None, mfa_required: bool = False,
        workspace_member: bool = True, can_use: bool = True, tenant_id: str | None = None,
    ) -> User:
        """A directory user (in the baseline tenant unless ``tenant_id``), optionally in the workspace."""
        tenant = self.entra.tenants[tenant_id or self.ids.tenant_id]
        upn = upn or f"user-{secrets.token_hex(3)}@{tenant.domain}"
        user = User(upn=upn, password=password or user_password(), home_tenant_id=tenant.tenant_id,
                    mfa_required=mfa_required, display_name=upn.split("@")[0])
        with self._lock:
            tenant.users[upn.lower()] = user
            if workspace_member:
                self.add_to_workspace(upn, "user", password=user.password)
                if can_use:
                    self.grant_can_use(upn)
        return user

    def add_entra_app(
        self, display_name: str = "sandbox-app", *, secret: bool = True, public_client: bool = False,
        redirect_uris: list[tuple[str, str]] | None = None, workspace_member: bool = True,
        can_use: bool = True, has_service_principal: bool = True,
    ) -> AppRegistration:
        """An app registration in the baseline tenant (with a client secret unless ``secret=False``)."""
        app = AppRegistration(
            app_id=new_guid(), display_name=display_name, home_tenant_id=self.ids.tenant_id,
            allow_public_client_flows=public_client, has_service_principal=has_service_principal,
            redirect_uris=[RedirectUri(uri, platform) for uri, platform in (redirect_uris or [])],  # type: ignore[arg-type]
            secrets=[ClientSecret(value=entra_client_secret())] if secret else [],
        )
        with self._lock:
            self.tenant.apps[app.app_id] = app
            self._join_workspace(app.app_id, display_name, member=workspace_member, can_use=can_use)
        return app

    def add_databricks_service_principal(
        self, display_name: str = "sandbox-dbx-sp", *, workspace_member: bool = True, can_use: bool = True
    ) -> DatabricksServicePrincipal:
        """A Databricks service principal with one OAuth secret."""
        sp = DatabricksServicePrincipal(
            application_id=new_guid(), display_name=display_name,
            secrets=[OAuthSecret(value=databricks_oauth_secret())],
        )
        with self._lock:
            self.workspace.account_service_principals[sp.application_id] = sp
            self._join_workspace(sp.application_id, display_name, member=workspace_member, can_use=can_use)
        return sp

    def _join_workspace(self, key: str, display_name: str, *, member: bool, can_use: bool) -> None:
        """A new service principal into the workspace (when ``member``), with CAN USE (``can_use``)."""
        if member:
            self.add_to_workspace(key, "service_principal", display_name=display_name)
            if can_use:
                self.grant_can_use(key)

    def add_to_workspace(
        self, key: str, kind: PrincipalKind = "user", *, display_name: str = "", sql_access: bool = True,
        password: str | None = None, uc_access: bool = True,
    ) -> WorkspacePrincipal:
        """Add a principal (Databricks SQL access, and ALL PRIVILEGES on the baseline catalogs unless
        ``uc_access=False``)."""
        key = key.lower() if kind == "user" else key
        if uc_access:
            for catalog in BASELINE_UC_CATALOGS:
                self.workspace.uc_grants.add((key, catalog, "ALL PRIVILEGES"))
        principal = WorkspacePrincipal(
            key=key, kind=kind, display_name=display_name or key, password=password
        )
        if not sql_access:
            principal.entitlements.discard(DATABRICKS_SQL_ACCESS)
        self.workspace.principals[key] = principal
        return principal

    def grant_uc(self, key: str, securable: str, privilege: str = "ALL PRIVILEGES") -> None:
        """A Unity Catalog grant, e.g. ``grant_uc(k, "main.default", "USE SCHEMA")``."""
        self.workspace.uc_grants.add((key, securable.lower(), privilege.upper()))

    def revoke_uc(self, key: str, securable: str | None = None, privilege: str | None = None) -> None:
        """Revoke matching Unity Catalog grants (all of the principal's when no securable/privilege)."""
        ws = self.workspace
        ws.uc_grants = {
            g for g in ws.uc_grants
            if not (g[0] in (key, key.lower()) and (securable is None or g[1] == securable.lower())
                    and (privilege is None or g[2] == privilege.upper()))
        }

    def remove_from_workspace(self, key: str) -> None:
        """Remove a principal from the workspace (its grants go too, as in Databricks)."""
        ws = self.workspace
        with self._lock:
            self.revoke_uc(key)
            for k in (key, key.lower()):
                ws.principals.pop(k, None)
                for wh in ws.warehouses.values():
                    wh.can_use.discard(k)
                    wh.can_manage.discard(k)

    def add_personal_access_token(self, key: str) -> str:
        """A personal access token (``dapi`` + 32 hex) of workspace principal ``key``."""
        import secrets

        token = "dapi" + secrets.token_hex(16)
        with self._lock:
            self.workspace.personal_access_tokens[token] = self._principal(key).key
        return token

    def set_sql_access(self, key: str, enabled: bool) -> None:
        principal = self._principal(key)
        if enabled:
            principal.entitlements.add(DATABRICKS_SQL_ACCESS)
        else:
            principal.entitlements.discard(DATABRICKS_SQL_ACCESS)

    def set_active(self, key: str, active: bool) -> None:
        self._principal(key).active = active

    def _principal(self, key: str) -> WorkspacePrincipal:
        ws = self.workspace
        principal = ws.principals.get(key) or ws.principals.get(key.lower())
        if principal is None:
            raise KeyError(f"{key} is not a workspace principal")
        return principal

    def grant_can_use(self, key: str, warehouse_id: str | None = None) -> None:
        self.warehouse(warehouse_id).can_use.add(self._principal(key).key)

    def revoke_can_use(self, key: str, warehouse_id: str | None = None) -> None:
        wh = self.warehouse(warehouse_id)
        wh.can_use.discard(key)
        wh.can_use.discard(key.lower())

    # -- break things ---------------------------------------------------------------------------
    def set_warehouse_state(
        self, state: WarehouseState, warehouse_id: str | None = None, *,
        start_delay_seconds: float | None = None, auto_start: bool | None = None,
    ) -> None:
        wh = self.warehouse(warehouse_id)
        wh.state = state
        if start_delay_seconds is not None:
            wh.start_delay_seconds = start_delay_seconds
        if auto_start is not None:
            wh.auto_start = auto_start
        wh.running_at = self.clock.now() + wh.start_delay_seconds if state == "STARTING" else None

    def stop_warehouse(self, warehouse_id: str | None = None, *, auto_start: bool = False) -> None:
        """Stop the warehouse; with ``auto_start=False`` (default) queries do not start it."""
        self.set_warehouse_state("STOPPED", warehouse_id, auto_start=auto_start)

    def start_warehouse(self, warehouse_id: str | None = None) -> None:
        self.set_warehouse_state("RUNNING", warehouse_id, auto_start=True)

    def reject_access_token(self, token: str) -> None:
        """The workspace answers this (unexpired) access token with 401 from now on, as after a
        revocation: clients must get a new one."""
        import hashlib

        with self._lock:
            self.workspace.rejected_tokens.add(hashlib.sha256(token.encode()).hexdigest())

    def set_token_lifetime(self, seconds: float) -> None:
        """Access token lifetime of both identity providers (down to a few seconds)."""
        self.lifetimes.access_token_seconds = seconds

    def set_lifetimes(self, **values: float) -> TokenLifetimes:
        names = {f.name for f in dataclasses.fields(TokenLifetimes)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(
                f"unknown lifetimes: {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}"
            )
        for name, value in values.items():
            setattr(self.lifetimes, name, float(value))
        return self.lifetimes

    def expire_client_secrets(self, client_id: str | None = None) -> None:
        """Every client secret of the Entra app (baseline M2M app by default) expired a minute ago."""
        app = self.tenant.apps[client_id or self.ids.m2m_client_id]
        for s in app.secrets:
            s.expires_at = self.clock.now() - 60

    def remove_entra_service_principal(self, client_id: str | None = None) -> None:
        """Delete the app's enterprise application (service principal) from the tenant."""
        self.tenant.apps[client_id or self.ids.m2m_client_id].has_service_principal = False

    def expire_databricks_secrets(self, client_id: str | None = None) -> None:
        sp = self.workspace.account_service_principals[client_id or self.ids.databricks_sp_client_id]
        for s in sp.secrets:
            s.expires_at = self.clock.now() - 60

    def set_ip_access_list(self, allow: list[str] | None) -> None:
        """Enable the IP access list with ``allow`` CIDRs (None disables it)."""
        ws = self.workspace
        ws.ip_access_list_enabled = allow is not None
        ws.ip_allow_list = list(allow or [])

    def set_user_mfa(self, upn: str | None = None, required: bool = True) -> None:
        self.tenant.users[(upn or self.ids.user_upn).lower()].mfa_required = required

    def revoke_admin_consent(self, client_id: str | None = None) -> None:
        key = (client_id or self.ids.public_client_id, AZURE_DATABRICKS_RESOURCE_ID)
        self.tenant.admin_consent.pop(key, None)

    def summary(self) -> dict[str, Any]:
        """Public facts for the admin endpoint and the CLI (no secrets)."""
        ids = self.ids
        return {
            "entra_url": self.entra_url, "workspace_url": self.workspace_url, "admin_url": self.admin_url,
            "authority": self.authority, "http_path": self.http_path, "tenant_id": ids.tenant_id,
            "m2m_client_id": ids.m2m_client_id, "public_client_id": ids.public_client_id,
            "user": ids.user_upn, "databricks_sp_client_id": ids.databricks_sp_client_id,
            "workspace_id": ids.workspace_id, "warehouse_id": ids.warehouse_id,
            "ca_bundle": str(self.ca_bundle), "startup_seconds": round(self.startup_seconds, 3),
            "engine_ready_seconds": None if self.engine_ready_seconds is None
            else round(self.engine_ready_seconds, 3),
        }
