"""Shared test setup.

The sandbox fixtures (``sandbox``, ``sandbox_env``, ``sandbox_session``, ``sandbox_factory``) come from
``brickauth.sandbox.pytest_plugin``. It is normally loaded by its ``pytest11`` entry point; importing
the fixtures here as well keeps them available with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` or
``-p no:brickauth_sandbox`` (definitions here take precedence, so one sandbox runs either way).
"""

from __future__ import annotations

from brickauth.sandbox.pytest_plugin import (  # noqa: F401
    sandbox,
    sandbox_env,
    sandbox_factory,
    sandbox_session,
)

# The secret canary (tests/secret_canary.py) checks every test's captured output.
pytest_plugins = ["secret_canary"]
