"""The secret canary itself: a test that leaks a secret into its output must fail."""

from __future__ import annotations

from pathlib import Path

import pytest

PLUGIN = Path(__file__).with_name("secret_canary.py").read_text()


@pytest.fixture
def leaky(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(secret_canary=PLUGIN)
    pytester.makepyfile(
        test_leaky="""
        import logging, os, sys

        def test_print():
            print("token:", os.environ["BRICKAUTH_TEST_CANARY"])

        def test_stderr():
            sys.stderr.write(os.environ["BRICKAUTH_TEST_CANARY"])

        def test_debug_log():
            logging.getLogger("x").debug("secret=%s", os.environ["BRICKAUTH_TEST_CANARY"])

        def test_clean():
            print("nothing to see")
        """
    )
    return pytester


def test_leaks_fail_and_clean_passes(leaky: pytest.Pytester) -> None:
    result = leaky.runpytest_subprocess("-p", "secret_canary", "-o", "log_level=DEBUG")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*secret leaked into captured output (call): canary*"])
    import os

    assert os.environ["BRICKAUTH_TEST_CANARY"] not in result.stdout.str()
