"""pytest plugin: no secret may appear in any test's captured output."""

from __future__ import annotations

import os
import secrets as _secrets
from collections.abc import Iterator

import pytest

# Every secret the suite runs through brickauth must stay out of every captured output. After each
# test phase, the captured stdout/stderr, log records (DEBUG and up) and failure text are searched
# for: the CANARY value (tests use it wherever they need a made-up secret), and the session sandbox's
# own secrets (client secrets, OAuth secret, user password), which flow through every sandbox test.
CANARY = os.environ.setdefault("BRICKAUTH_TEST_CANARY", "canary-" + _secrets.token_hex(12))


def _sandbox_secrets(item: pytest.Item) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("sandbox", "sandbox_session", "brickauth_sandbox", "brickauth_sandbox_session"):
        sb = getattr(item, "funcargs", {}).get(name)
        ids = getattr(sb, "ids", None)
        if ids is None:
            continue
        for field in ("m2m_client_secret", "databricks_sp_secret", "user_password"):
            value = getattr(ids, field, None)
            if value is not None and hasattr(value, "reveal"):
                found[f"sandbox {field}"] = value.reveal()
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    watched = {"canary": CANARY, **_sandbox_secrets(item)}
    # Sections accumulate over phases ("Captured stdout setup", "... call"): read only this phase's.
    texts = [body for title, body in report.sections if title.endswith(f" {report.when}")]
    if report.longrepr is not None:
        texts.append(str(report.longrepr))
    leaked = sorted(name for name, value in watched.items() if value and any(value in t for t in texts))
    if leaked:
        for value in watched.values():  # never print the secret itself in the failure
            report.sections = [(title, body.replace(value, "<redacted>")) for title, body in report.sections]
        report.outcome = "failed"
        report.longrepr = f"secret leaked into captured output ({report.when}): {', '.join(leaked)}"
