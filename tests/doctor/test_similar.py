"""Wording similarity (doctor.similar): an unrecognised text gets the causes whose documented messages
it reads most like, as vague candidates, and a text with no sign of failure gets none by accident."""

from __future__ import annotations

from brickauth.doctor import fallback
from brickauth.doctor.knowledge import load
from brickauth.doctor.similar import MIN_SIMILARITY, WordingIndex, features

KB = load()


def test_features_split_identifiers_and_drop_ids_but_keep_http_statuses() -> None:
    found = features("ManagedIdentityCredential: 403 for request 0a1b2c3d-1111-2222-3333-444455556666")
    assert {"manag", "identity", "credential", "403", "request"} <= set(found)  # light stems
    assert not any(part.isdigit() and part != "403" for part in found)
    assert "manag_identity" in found  # word pairs
    assert "#cred" in found  # pieces of longer words: authenticate meets authentication


def test_index_ranks_the_cause_whose_wording_the_text_shares() -> None:
    index = WordingIndex([
        ("a.cluster", "You do not have permission to attach to cluster 0101"),
        ("b.keyring", "Failed to unlock the keyring collection"),
    ])  # fmt: skip
    ranked = index.rank("permission denied while attaching to the cluster")
    assert ranked[0][0] == "a.cluster" and ranked[0][1] >= MIN_SIMILARITY
    assert all(cause != "b.keyring" or score < MIN_SIMILARITY for cause, score in ranked)
    assert index.rank("zzz qqq") == []


def test_an_unrecognised_error_gets_the_causes_it_reads_like() -> None:
    text = "failed: warehouse permissions do not include this principal"
    matches = KB.classify(text)
    [finding] = matches
    assert finding.cause is not None and finding.cause.id == fallback.FALLBACK_ID  # vague, never confident
    ranked = KB.ranked(matches)
    assert ranked[0].cause_id == "databricks.no_can_use_warehouse"
    assert ranked[0].clues == (fallback.WORDING_CLUE,)


def test_no_candidates_without_a_sign_of_failure_unless_the_wording_is_close() -> None:
    assert KB.classify("Something happened") == []
    assert KB.classify("the weather is nice today") == []
