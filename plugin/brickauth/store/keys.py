"""What a cached sign-in is filed under: (authority or host, client id, scopes, account)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoreKey:
    """Identifies one cached sign-in. Nothing in it is secret (it is shown by ``brickauth status``)."""

    authority: str  # Entra authority URL or the Databricks workspace URL
    client_id: str
    scopes: tuple[str, ...] = field(default=())
    account: str = ""  # login hint / user name; "" for the default account
    flow: str = ""  # auth type that wrote it, e.g. "azure-u2m" (for display and `logout`)

    def __post_init__(self) -> None:
        object.__setattr__(self, "authority", self.authority.rstrip("/").lower())
        object.__setattr__(self, "scopes", tuple(sorted(set(self.scopes))))
        object.__setattr__(self, "account", self.account.strip().lower())

    @property
    def name(self) -> str:
        """A short, stable entry name (backends limit name length; the full key lives in the index)."""
        ident = json.dumps([self.authority, self.client_id, list(self.scopes), self.account])
        return "brickauth-" + hashlib.sha256(ident.encode()).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {
            "authority": self.authority,
            "client_id": self.client_id,
            "scopes": list(self.scopes),
            "account": self.account,
            "flow": self.flow,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoreKey:
        return cls(
            authority=str(data["authority"]),
            client_id=str(data["client_id"]),
            scopes=tuple(str(s) for s in data.get("scopes", ())),
            account=str(data.get("account", "")),
            flow=str(data.get("flow", "")),
        )

    def describe(self) -> str:
        who = self.account or "default account"
        return f"{self.flow or 'token'} {who} at {self.authority} (client {self.client_id})"
