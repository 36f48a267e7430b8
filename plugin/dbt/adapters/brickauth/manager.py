"""What dbt-databricks calls a credentials manager, backed by one brickauth provider.

dbt-databricks uses these members of its manager: ``credentials_provider`` (handed to
``databricks.sql.connect``), ``header_factory``, ``api_client`` (a databricks-sdk ``WorkspaceClient``
for REST, 1.11+) and ``config``. We serve all of them from one provider per distinct setting set in the
process, so SQL connections, threads and the REST client share a single token lifecycle.

Only ``host`` and ``auth_type`` are dataclass fields: dbt serialises and validates the manager with
the credentials, and nothing secret may be in what it serialises (or prints when validation fails).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from mashumaro import DataClassDictMixin

from brickauth.errors import BrickauthError
from brickauth.secret import Secret
from dbt.adapters.brickauth.errors import BrickauthProfileError

SettingValue = str | int | bool | tuple[str, ...] | Secret | None
_SettingsKey = tuple[str, str, tuple[tuple[str, SettingValue], ...]]

_providers: dict[_SettingsKey, Any] = {}
_configs: dict[_SettingsKey, Any] = {}
_lock = threading.Lock()


def build_provider(auth_type: str, host: str, settings: Mapping[str, SettingValue]) -> Any:
    """The brickauth provider (offline: settings are checked, no token is fetched)."""
    from brickauth.provider import credentials_provider

    plain: dict[str, Any] = {
        k: (v.reveal() if isinstance(v, Secret) else v) for k, v in settings.items() if v is not None
    }
    provider = credentials_provider(auth_type=auth_type, host=host, **plain)
    # Shown by `dbt --debug` and in logs/dbt.log: which flow runs and why (never a secret).
    _dbt_logger().debug(f"{provider.source.describe()} ({provider.settings.auth_type_reason})")
    return provider


def _dbt_logger() -> Any:
    from dbt.adapters.events.logging import AdapterLogger

    return AdapterLogger("brickauth")


@dataclass
class BrickauthCredentialManager(DataClassDictMixin):
    host: str
    auth_type: str

    def __post_init__(self) -> None:
        self._key: _SettingsKey | None = None

    @classmethod
    def for_settings(
        cls, auth_type: str, host: str, settings: Mapping[str, SettingValue]
    ) -> BrickauthCredentialManager:
        manager = cls(host=host, auth_type=auth_type)
        key: _SettingsKey = (auth_type, host, tuple(sorted(settings.items())))
        with _lock:
            if key not in _providers:
                try:
                    _providers[key] = build_provider(auth_type, host, settings)
                except BrickauthError as exc:
                    raise BrickauthProfileError(str(exc)) from None
        manager._key = key
        return manager

    # dbt deep-copies configs now and then: a copy is this same manager (one provider, one token).
    def __deepcopy__(self, memo: dict[int, Any]) -> BrickauthCredentialManager:
        return self

    @property
    def provider(self) -> Any:
        if self._key is None or self._key not in _providers:
            raise BrickauthProfileError(
                "[BA177] The brickauth credentials manager was created without settings. "
                "Fix: load the profile through dbt (type: brickauth), not from a serialised copy."
            )
        return _providers[self._key]

    # --- what dbt-databricks reads -------------------------------------------------------------
    @property
    def credentials_provider(self) -> Any:
        """For ``databricks.sql.connect(credentials_provider=...)``: ``p()`` gives a header factory."""
        return self.provider

    @property
    def header_factory(self) -> Callable[[], dict[str, str]]:
        factory: Callable[[], dict[str, str]] = self.provider()
        return factory

    @property
    def config(self) -> Any:
        """databricks-sdk ``Config`` whose credentials strategy is our provider (REST client, 1.11+)."""
        key = self._key
        if key is None:
            return self.provider  # raises the error above
        with _lock:
            if key not in _configs:
                from databricks.sdk.core import Config

                _configs[key] = Config(host=_url(self.host), credentials_strategy=self.provider)
            return _configs[key]

    @property
    def api_client(self) -> Any:
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient(config=self.config)

    # dbt-databricks' kernel path reads these; type: brickauth refuses use_kernel at parse time.
    token: ClassVar[str | None] = None
    client_secret: ClassVar[str] = ""
    azure_client_secret: ClassVar[str | None] = None


def _url(host: str) -> str:
    return host if host.startswith(("https://", "http://")) else f"https://{host}"
