"""Clue-only fallback (issue 11: "'I don't know' only when no cause fits"): when no matcher of any
cause fires, the clues in the text still rank up to three candidates, always as a vague finding."""

from __future__ import annotations

import json

import pytest

from brickauth.cli.main import main
from brickauth.doctor import fallback
from brickauth.doctor.explain import explain, render_text
from brickauth.doctor.knowledge import CLUES, load

KB = load()
_ODD = "Error: something odd happened"


def _ranked(text: str) -> list[str]:
    matches = KB.classify(text)
    primary = KB.primary(matches)
    assert primary is not None and primary.cause is not None
    assert primary.cause.id == fallback.FALLBACK_ID, "a text for the fallback must match no cause"
    assert primary.cause.vague  # candidates, never a confident answer
    ranked = [c.cause_id for c in KB.ranked(matches)]
    assert 1 <= len(ranked) <= 3
    return ranked


@pytest.mark.parametrize(
    ("text", "first"),
    [
        # HTTP status clues
        ("Error: request to the workspace failed with status 407", "network.proxy"),
        ("Error: request failed with status 429", "databricks.service_unavailable"),
        ("Error: request failed with status 502", "databricks.service_unavailable"),
        # word clues
        ("Error: the session expired", "databricks.token_expired"),
        ("Error: could not save to the keyring", "store.no_keyring_backend"),
        ("Error: the address is blocked", "databricks.ip_access_list_blocked"),
        ("Error: the certificate of the server is not trusted", "network.ca_untrusted"),
        ("Error: the tenant parameter is required for this command", "config.missing_setting"),
        ("Error: unrecognized arguments: --frobnicate", "version.client_too_old"),
        ("Error: the user has not been added to the workspace", "databricks.principal_not_in_workspace"),
        ("Error: unsupported value 'purple' for mode", "config.invalid_value"),
    ],
)
def test_status_and_word_clues_rank(text: str, first: str) -> None:
    assert _ranked(text)[0] == first


def test_host_clues_rank() -> None:
    with_path = f"{_ODD}\nhost = https://adb-1234567890123456.7.azuredatabricks.net/browse/folders"
    assert _ranked(with_path)[0] == "config.host_malformed"
    sovereign = f"{_ODD}\nhost = https://adb-1234567890123456.7.databricks.azure.cn"
    assert _ranked(sovereign)[0] == "network.sovereign_cloud_public_endpoint"


@pytest.mark.parametrize(
    ("env", "first"),
    [
        ("HTTPS_PROXY=http://proxy.corp.example:3128", "network.proxy"),
        ("DATABRICKS_CONFIG_PROFILE=prod", "config.profile_not_found"),
        ("DATABRICKS_AUTH_TYPE=azure-cli", "config.env_forces_auth_type"),
    ],
)
def test_env_clues_rank(env: str, first: str) -> None:
    assert _ranked(f"{_ODD}\n{env}")[0] == first


def test_client_clues_reorder_but_never_name_a_cause_alone() -> None:
    plain = "Error: the operation on the warehouse failed with status 502"
    connector = "databricks.sql.exc.SomethingOdd: the operation on the warehouse failed with status 502"
    assert "databricks.no_can_use_warehouse" not in _ranked(plain)
    assert _ranked(connector)[1:] == ["databricks.warehouse_stopped", "databricks.no_can_use_warehouse"]
    assert "client.sql_connector" in KB.rank(connector)[2].clues
    # A client's fingerprint alone is no candidate: "databricks.sql" says who printed it, not why.
    assert KB.rank("databricks.sql.exc.SomethingOdd: request failed") == []


@pytest.mark.parametrize(
    "text", ["Traceback (most recent call last):\nKeyError: 'flux'\n", "all good here", "Error: it broke", ""]
)
def test_no_clue_gives_nothing(text: str) -> None:
    assert KB.classify(text) == [] and KB.rank(text) == []


def test_fallback_never_replaces_a_match_and_is_never_a_label() -> None:
    specific = "AADSTS7000215: Invalid client secret provided. The session expired (status 502)"
    assert [m.cause_id for m in KB.classify(specific)] == ["entra.invalid_client_secret"]
    assert KB.best("Error: request failed with status 502") is None  # doctor checks get no guess


def test_explain_shows_candidates_with_how_to_tell_and_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    result = explain(f"{_ODD}\nHTTPS_PROXY=http://user:hunter2pass@proxy.corp.example:3128")
    text = render_text(result)
    assert "Most likely first" in text and "How to tell:" in text
    assert "Confirm: `brickauth doctor` (check network.tcp)" in text
    assert "come from its clues only" in text and "hunter2pass" not in text
    assert result.exit_code() == 1  # still not a message brickauth knows
    assert main(["doctor", "explain", "--json", "Error: request failed with status 407"]) == 1
    report = json.loads(capsys.readouterr().out)
    [finding] = report["findings"]
    assert finding["vague"] is True and finding["cause_id"] == fallback.FALLBACK_ID
    assert report["candidates"][0]["cause_id"] == "network.proxy"
    assert report["candidates"][0]["clues"] == ["status.407"]


def test_priors_name_known_causes_and_known_clues() -> None:
    for clue, priors in fallback.PRIORS.items():
        assert clue in CLUES or clue in fallback.WORDS, clue
        for cause_id, weight in priors.items():
            assert cause_id in KB and not KB[cause_id].vague and 0 < weight <= 50, (clue, cause_id)
    assert set(fallback.WORDS) - set(fallback.PRIORS) <= {"word.failure"}


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Error: 403 Forbidden while starting cluster 0101-123456-abcd", "databricks.no_cluster_permission"),
        ("databricks.sdk.errors.PermissionDenied: 403 Forbidden", "databricks.principal_not_in_workspace"),
        ("HTTP 401 Unauthorized", "databricks.invalid_token"),
    ],
)
def test_a_vague_match_ranks_its_candidates_by_the_words_of_the_block(text: str, first: str) -> None:
    """A bare 403 names no cause; the resource it was about (a cluster) does, even if unlisted."""
    matches = KB.classify(text)
    primary = KB.primary(matches)
    assert primary is not None and primary.cause is not None and primary.cause.vague
    assert primary.cause.id != fallback.FALLBACK_ID  # a vague cause matched; its ranking read the words
    assert KB.ranked(matches)[0].cause_id == first
