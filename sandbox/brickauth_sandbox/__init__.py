"""The brickauth sandbox: a local Entra ID and Databricks workspace with a SQL warehouse, over TLS on
loopback (distribution ``brickauth-sandbox``;
from a checkout: ``pip install ./sandbox``). See ``docs/sandbox.md``.

``from brickauth_sandbox import Sandbox`` loads the services on first use; importing this package alone
stays cheap (the model modules under it are imported by the services and the tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brickauth_sandbox.core import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from brickauth_sandbox.core import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
