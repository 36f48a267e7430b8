"""The knowledge base: coverage, shape, and that every example classifies to its own entry."""

from __future__ import annotations

import re

import pytest

from brickauth.doctor import knowledge
from brickauth.doctor.knowledge import KnowledgeBaseError, load, parse

KB = load()

# The AADSTS codes users meet with Databricks (issue 6) must each have an entry.
REQUIRED_AADSTS = [
    700016,
    7000218,
    7000215,
    7000222,
    50011,
    65001,
    90002,
    900023,
    500011,
    70011,
    50076,
    53003,
    50020,
    50034,
    50126,
    700082,
    700084,
    50173,
    9002326,
    700024,
    7002138,
    50058,
    50079,
    50105,
    53000,
    65004,
    700027,
    70002,
    70000,
    54005,
    70008,
    501481,
    50059,
    1002016,
]
REQUIRED_IDS = [
    "databricks.principal_not_in_workspace",
    "databricks.missing_sql_entitlement",
    "databricks.no_can_use_warehouse",
    "databricks.table_not_owner",
    "databricks.uc_missing_use_catalog",
    "databricks.uc_missing_use_schema",
    "databricks.uc_missing_select",
    "databricks.ip_access_list_blocked",
    "databricks.invalid_token",
    "databricks.token_expired",
    "databricks.oauth_invalid_client",
    "databricks.redirect_uri_not_registered",
    "databricks.warehouse_stopped",
    "databricks.warehouse_not_found",
    "databricks.html_instead_of_json",
    "network.dns",
    "network.connection_refused",
    "network.timeout",
    "network.proxy",
    "network.ca_untrusted",
    "config.account_console_host",
    "config.http_path_malformed",
    "store.no_keyring_backend",
    "store.windows_blob_too_large",
    "store.keyring_locked",
    "store.corrupt_entry",
    "config.secret_id_instead_of_value",
    "config.databricks_secret_sent_to_entra",
    "config.entra_secret_sent_to_databricks",
    "config.multiple_auth_methods",
    "entra.tenant_malformed",
    "entra.wrong_cloud",
]


def test_at_least_sixty_causes_with_unique_stable_ids() -> None:
    assert len(KB) >= 60
    ids = [c.id for c in KB.causes]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+\.[a-z0-9_]+", i) for i in ids)


@pytest.mark.parametrize("code", REQUIRED_AADSTS)
def test_required_aadsts_codes_are_covered(code: int) -> None:
    assert KB.for_aadsts(code) is not None, f"AADSTS{code} has no entry"


@pytest.mark.parametrize("cause_id", REQUIRED_IDS)
def test_required_causes_exist(cause_id: str) -> None:
    assert cause_id in KB


@pytest.mark.parametrize("cause", KB.causes, ids=lambda c: c.id)
def test_entry_is_complete_and_cites_vendor_docs(cause: knowledge.Cause) -> None:
    assert cause.title and cause.explanation and cause.fix
    assert cause.examples, "every entry needs real-format examples"
    assert cause.links
    for link in cause.links:
        assert re.match(r"https://(learn\.microsoft\.com|docs\.databricks\.com)/", link), link


@pytest.mark.parametrize(
    ("cause_id", "example"),
    [(c.id, ex) for c in KB.causes for ex in c.examples],
    ids=lambda v: v if isinstance(v, str) and "." in v and " " not in v else "",
)
def test_every_example_classifies_to_its_entry_alone(cause_id: str, example: str) -> None:
    found = [m.cause_id or f"AADSTS{m.aadsts}" for m in KB.classify(example)]
    assert found == [cause_id]


def test_unknown_aadsts_code_is_reported_as_unknown_not_guessed() -> None:
    matches = KB.classify("{'error': 'invalid_grant', 'error_description': 'AADSTS4242424: something new'}")
    assert [(m.cause, m.aadsts) for m in matches] == [(None, 4242424)]


def test_generic_cause_only_when_nothing_specific_anywhere() -> None:
    text = (
        "Traceback (most recent call last):\n"
        "urllib3.exceptions.MaxRetryError: ... CERTIFICATE_VERIFY_FAILED\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "databricks.sql.exc.RequestError: Error during request to server. "
    )
    assert [m.cause_id for m in KB.classify(text)] == ["network.ca_untrusted"]
    assert [m.cause_id for m in KB.classify("RequestError: Error during request to server. ")] == [
        "databricks.request_error_generic"
    ]


def test_same_cause_in_several_places_is_one_finding_with_a_count() -> None:
    text = "10:00:01  Error during request to server: : User not authorized.\n" * 3
    [match] = KB.classify(text)
    assert (match.cause_id, match.line, match.occurrences) == ("databricks.principal_not_in_workspace", 1, 3)


def test_malformed_entries_are_refused() -> None:
    with pytest.raises(KnowledgeBaseError, match="needs at least one matcher"):
        parse("causes:\n- {id: a.b, category: entra, title: t, explanation: e, fix: f}\n")
    with pytest.raises(KnowledgeBaseError, match="duplicate"):
        entry = "- {id: a.b, category: entra, title: t, explanation: e, fix: f, matchers: {patterns: [x]}}\n"
        parse("causes:\n" + entry + entry)
    with pytest.raises(KnowledgeBaseError, match="AADSTS1 mapped"):
        parse(
            "causes:\n"
            "- {id: a.b, category: entra, title: t, explanation: e, fix: f, matchers: {aadsts: [1]}}\n"
            "- {id: a.c, category: entra, title: t, explanation: e, fix: f, matchers: {aadsts: [1]}}\n"
        )
