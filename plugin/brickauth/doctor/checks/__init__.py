"""doctor's checks, grouped by what they probe; ``CHECKS`` is the run order (docs/doctor-json.md).

Each group module holds its check functions and a ``CHECKS`` tuple; this module only puts the groups
in order. To add checks for a new flow (``brickauth.flows.FLOWS``): its token is already acquired by
``token.acquire`` through its own ``TokenSource``; put any probe of its own (a metadata endpoint, a
token file) in a group module (or a new one listed in ``GROUPS``) as a ``Check`` with
``auth_types=frozenset({"<auth-type>"})`` and the ``requires`` it needs, and a test against the sandbox.
A check depends only on ``brickauth.doctor.model`` (never on the runner or another group's internals).
"""

from __future__ import annotations

from brickauth.doctor.checks import idp, network, settings, sql, store, token, workspace
from brickauth.doctor.model import Check

GROUPS = (settings, network, idp, token, workspace, sql, store)
CHECKS: tuple[Check, ...] = tuple(check for group in GROUPS for check in group.CHECKS)

__all__ = ["CHECKS", "GROUPS"]
