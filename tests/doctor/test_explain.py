"""`brickauth doctor explain`: texts, stdin and log files; no guessing; secrets masked."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from brickauth.cli.main import main
from brickauth.doctor.explain import explain, render_text
from brickauth.doctor.redact import redact

JWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiIyZmY4MTRhNiIsInN1YiI6ImFiYyJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
ENTRA_SECRET = "Abc8Q~abcdefghijklmnopqrstuvwxyz0123456"
DOSE = "dose0123456789abcdef0123456789abcdef"

DBT_LOG = f"""\
============================== 10:00:00.000000 | 1b2c3d4e ==============================
10:00:00.100000 [info ] [MainThread]: Running with dbt=1.11.16
10:00:01.200000 [debug] [ThreadPool]: Using databricks connection "list_main"
10:00:02.300000 [debug] [ThreadPool]: Sending request: OpenSession Authorization: Bearer {JWT}
10:00:03.400000 [error] [ThreadPool]: Error during request to server: : User not authorized.
10:00:04.500000 [debug] [MainThread]: client_secret={ENTRA_SECRET}
10:00:05.600000 [error] [MainThread]: Runtime Error
  PERMISSION_DENIED: User is not an owner of Table 'main.analytics.my_first_dbt_model'.
10:00:06.700000 [error] [MainThread]: Encountered an error: SomethingOdd: the flux capacitor failed
10:00:07.800000 [info ] [MainThread]: Done. PASS=0 WARN=0 ERROR=2 SKIP=0 TOTAL=2
"""


def test_log_file_errors_are_found_in_order_with_lines() -> None:
    result = explain(DBT_LOG)
    assert [(m.cause_id, m.line) for m in result.findings] == [
        ("databricks.principal_not_in_workspace", 5),
        ("databricks.table_not_owner", 7),
    ]
    assert [u.line for u in result.unrecognized] == [9]
    assert result.exit_code() == 1  # something it could not explain


def test_nothing_recognised_is_said_plainly() -> None:
    result = explain("Traceback (most recent call last):\nKeyError: 'flux'\n")
    text = render_text(result)
    assert not result.findings
    assert "does not know these errors and will not guess" in text
    assert explain("all good here\n").findings == []
    assert "No authentication or connection error" in render_text(explain("all good here"))


def test_secrets_in_the_input_never_reach_the_output() -> None:
    text = (
        f"Authorization: Bearer {JWT}\nAZURE_CLIENT_SECRET={ENTRA_SECRET}\nDATABRICKS_CLIENT_SECRET={DOSE}\n"
        f"{{'access_token': '{JWT}', 'refresh_token': '0.AXYZrefreshtokenvalue'}}\n"
        "https://user:hunter2pass@proxy.example.com:3128\n"
        "AADSTS7000215: Invalid client secret provided.\n"
    )
    result = explain(text)
    out = render_text(result) + json.dumps(result.to_json())
    for secret in (JWT, ENTRA_SECRET, DOSE, "0.AXYZrefreshtokenvalue", "hunter2pass"):
        assert secret not in out
    assert "entra.invalid_client_secret" in out


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"token={JWT}", JWT),
        (
            "Authorization: Bearer dapi0123456789abcdef0123456789abcdef",
            "dapi0123456789abcdef0123456789abcdef",
        ),
        (f'"client_secret": "{ENTRA_SECRET}"', ENTRA_SECRET),
        (f"secret is {DOSE} here", DOSE),
        ("password: s3cr3t-Passw0rd", "s3cr3t-Passw0rd"),
    ],
)
def test_redact_masks_each_credential_shape(text: str, hidden: str) -> None:
    assert hidden not in redact(text)
    assert "***" in redact(text)


def test_redact_keeps_ids_and_codes() -> None:
    text = (
        "AADSTS700016: Application with identifier '0a1b2c3d-1111-2222-3333-444455556666' (error?code=700016)"
    )
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        'inner token: token error: {"error":"invalid_request","error_description":"Identity not found"}',
        "Failed to setup GitHub token: Error: Could not fetch an OIDC token. Add `id-token: write`.",
        "cannot create token: cannot configure direct auth: host is empty",
        "const id_token = yield OidcClient.getCall(id_token_url);",
        "failed during request visitor: token: oauth2: cannot fetch token: Response: {...}",
        "azure-cli: cannot get access token: most likely Azure CLI is not installed.",
    ],
)
def test_redact_keeps_words_after_secret_named_keys(text: str) -> None:
    assert redact(text) == text


def test_redact_still_masks_unquoted_secret_values() -> None:
    assert redact("token: s3cr3tvalue1") == "token: ***"
    assert redact("DATABRICKS_TOKEN=averyveryverylongsecretvalue") == "DATABRICKS_TOKEN=***"
    assert redact('"password": "hunter"') == '"password": "***"'
    assert redact("password: hunter") == "password: ***"  # a plain-word secret is still a secret
    assert redact("password: write") == "password: ***"
    assert redact("token: hunter") == "token: ***"  # only a few prose words are left alone
    assert redact("token: hunter2: x") == "token: hunter2: x"  # an error chain's layer name...
    assert redact("password: hunter2: x") == "password: *** x"  # ...never after a password key


def test_cli_explain_argument(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "doctor",
            "explain",
            "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "[entra.app_not_found]" in out and "Application (client) ID" in out


def test_cli_explain_file_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "dbt.log"
    log.write_text(DBT_LOG)
    code = main(["doctor", "explain", "--file", str(log), "--json"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 1
    assert report["schema"] == "brickauth.doctor.explain/v1"
    assert [f["cause_id"] for f in report["findings"]] == [
        "databricks.principal_not_in_workspace",
        "databricks.table_not_owner",
    ]
    assert JWT not in out and ENTRA_SECRET not in out


def test_cli_explain_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED]")
    )
    assert main(["doctor", "explain", "-"]) == 0
    assert "[network.ca_untrusted]" in capsys.readouterr().out


def test_cli_explain_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "explain", "--file", str(tmp_path / "missing.log")]) == 2
    assert main(["doctor", "explain", "x", "--file", str(tmp_path / "missing.log")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--no-such-flag"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("line", "cause_id"),
    [
        (
            "brickauth: [BA135] client secret: it is a GUID, a secret ID. Fix: copy the Value.",
            "config.secret_id_instead_of_value",
        ),
        (
            "brickauth.errors.InvalidClientError: [BA212] token request refused. Fix: new secret.",
            "entra.client_secret_expired",
        ),
        (
            "[BA510] TLS verification failed for 127.0.0.2. Fix: set REQUESTS_CA_BUNDLE.",
            "network.ca_untrusted",
        ),
    ],
)
def test_brickauth_own_error_codes_are_explained(line: str, cause_id: str) -> None:
    assert [m.cause_id for m in explain(line).findings] == [cause_id]


# ---------------------------------------------------------------------------------------------------
# dbt logs (issue 10): ordinary INFO lines are not errors; colour codes are stripped

DBT_DEBUG_LOG = """\
\x1b[0m10:00:00.100000 [info ] [MainThread]: Running with dbt=1.11.16
\x1b[0m10:00:00.200000 [debug] [MainThread]: Setting pyhive.hive logging to ERROR
\x1b[0m10:00:00.210000 [debug] [MainThread]: Setting thrift.transport logging to ERROR
\x1b[0m10:00:00.220000 [debug] [MainThread]: Setting thrift.protocol logging to ERROR
\x1b[0m10:00:00.230000 [debug] [ThreadPool]: thrift.transport.THttpClient: opening https://adb-1.2.azuredatabricks.net:443
\x1b[0m10:00:01.000000 [info ] [MainThread]: \x1b[31m1 check failed:\x1b[0m
\x1b[0m10:00:01.100000 [error] [MainThread]: \x1b[31mError during request to server: : User not authorized.\
\x1b[0m
\x1b[0m10:00:01.200000 [info ] [MainThread]: Connection test: [\x1b[31mERROR\x1b[0m]
"""

DBT_CONSOLE = """\
10:00:00  Running with dbt=1.11.16
10:00:00  Setting pyhive.hive logging to ERROR
10:00:01  Connection test: [\x1b[31mERROR\x1b[0m]

10:00:01  1 check failed:
10:00:01  dbt was unable to connect to the specified database.
The database returned the following error:

  >Runtime Error
  Database Error
    \x1b[31mError during request to server: : User not authorized.\x1b[0m
"""


@pytest.mark.parametrize("log", [DBT_DEBUG_LOG, DBT_CONSOLE], ids=["logs/dbt.log", "console"])
def test_dbt_log_ordinary_lines_are_not_reported_and_ansi_is_stripped(log: str) -> None:
    result = explain(log)
    assert [m.cause_id for m in result.findings] == ["databricks.principal_not_in_workspace"]
    out = render_text(result) + json.dumps(result.to_json())
    assert "\x1b" not in out and "[31m" not in out
    assert result.unrecognized == [] and result.exit_code() == 0


def test_cli_explain_file_on_a_coloured_dbt_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "dbt.log"
    log.write_text(DBT_DEBUG_LOG)
    assert main(["doctor", "explain", "--file", str(log)]) in (0, 1)
    out = capsys.readouterr().out
    assert "[databricks.principal_not_in_workspace]" in out
    assert "\x1b" not in out and "pyhive" not in out


# ---------------------------------------------------------------------------------------------------
# Every code a brickauth message tells the user to explain is known, alone or in a pasted line


def test_cli_explains_a_lone_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "explain", "BA610"]) == 0
    assert "[local.loopback_port_in_use]" in capsys.readouterr().out
    assert main(["doctor", "explain", "ba213"]) == 0
    assert "Mobile and desktop applications" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------
# Ranked candidates (issue 11)


def test_vague_text_lists_ranked_candidates_with_how_to_tell_and_the_check() -> None:
    result = explain("databricks.sql.exc.RequestError: Error during request to server")
    text = render_text(result)
    assert result.exit_code() == 0  # recognised, even though it does not name its cause
    assert "Most likely first" in text and "How to tell:" in text
    assert "Confirm: `brickauth doctor` (check workspace.membership)" in text
    assert result.candidates[0].cause_id == "databricks.principal_not_in_workspace"
    assert len(result.candidates) == 3


def test_json_carries_the_candidates(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "explain", "--json", "HTTP 403 Forbidden\n<html><body>blocked</body></html>"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    [finding] = report["findings"]
    assert finding["vague"] is True and finding["cause_id"] == "databricks.html_instead_of_json"
    ids = [c["cause_id"] for c in report["candidates"]]
    assert ids == [c["cause_id"] for c in finding["candidates"]] and len(ids) == 3
    assert ids[0] == "network.private_link"
    first = report["candidates"][0]
    assert set(first) == {"cause_id", "title", "tell", "check", "clues", "fix", "links"}
    assert "content.html" in first["clues"] and first["check"] == "network.dns"


def test_specific_text_has_itself_as_first_candidate() -> None:
    result = explain("AADSTS7000215: Invalid client secret provided.")
    assert [c.cause_id for c in result.candidates][:1] == ["entra.invalid_client_secret"]
    assert result.to_json()["findings"][0]["vague"] is False
