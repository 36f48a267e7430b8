"""The clients' own error vocabulary (doctor.vocabulary): every message a client builds, read from its
source, is known to `explain` in any wrapping and with any value the client fills in."""

from __future__ import annotations

import re

import pytest

from brickauth.doctor import vocabulary
from brickauth.doctor.knowledge import KnowledgeBaseError, load, parse
from brickauth.doctor.vocabulary import GAP, Message, VocabularyError, template_regex

KB = load()
MESSAGES = vocabulary.messages()
CAUSE = (
    "causes:\n- {id: a.b, category: config, title: t, explanation: e, fix: f, "
    "matchers: {patterns: [zzz]}}\n"
)


def _search(template: str, text: str) -> bool:
    return re.search(template_regex(template), text, re.IGNORECASE | re.DOTALL) is not None


def test_a_template_matches_its_words_in_order_with_any_value_and_any_wrapping() -> None:
    template = "cannot configure default credentials, please check {} to configure credentials"
    pasted = "Error: cannot configure default credentials, please check https://x to configure credentials"
    assert _search(template, pasted)
    wrapped = "cannot configure default credentials, please\n  check the docs to\n  configure credentials"
    assert _search(template, wrapped)  # Terraform wraps long lines; a log may too
    assert not _search(template, "cannot configure default credentials")  # the rest is missing
    assert not _search(template, "please check x to configure credentials; cannot configure default")


def test_a_value_is_a_bounded_gap_and_regex_characters_are_literal() -> None:
    template = "token file {} is not valid (expected JSON)."
    assert _search(template, "token file /home/u/.databricks/token-cache.json is not valid (expected JSON).")
    assert not _search(template, "token file " + "x" * (GAP + 1) + " is not valid (expected JSON).")
    assert not _search(template, "token file a is not valid Xexpected JSON).")  # "(" is not a group


def test_shipped_files_name_repository_commit_and_path_of_every_message() -> None:
    assert len(MESSAGES) >= 100
    assert len({m.client for m in MESSAGES}) >= 10
    for message in MESSAGES:
        if message.repo.startswith("https://"):  # the vendor's documentation of a service's errors
            assert re.match(r"https://(docs\.databricks\.com|learn\.microsoft\.com)/", message.repo), message
        else:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+", message.repo), message
            assert re.fullmatch(r"[0-9a-f]{40}|mixed", message.commit), message
        assert message.at and not message.at.startswith("/"), message
        assert message.cause in KB, message


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: f"{m.client}:{m.at}")
def test_every_message_with_its_values_filled_in_names_its_cause(message: Message) -> None:
    text = message.text.replace("{}", "VALUE")
    ranked = [c.cause_id for c in KB.rank(text)]
    primary = KB.primary(KB.classify(text))
    named = {primary.cause_id} if primary is not None else set()
    assert message.cause in named.union(ranked[:1]), (message.text, ranked)


def test_a_template_without_enough_literal_words_or_a_known_cause_is_refused() -> None:
    with pytest.raises(VocabularyError, match="fewer than"):
        vocabulary.parse("- {client: c, repo: o/r, messages: [{cause: a.b, text: '{}: failed {}', at: x}]}")
    with pytest.raises(VocabularyError, match="spans paragraphs"):
        vocabulary.parse('- {client: c, repo: o/r, messages: [{cause: a.b, text: "a b c\\n\\nd e", at: x}]}')
    with pytest.raises(VocabularyError, match="needs text, cause and at"):
        vocabulary.parse("- {client: c, repo: o/r, messages: [{cause: a.b, text: 'a b c d e'}]}")
    with pytest.raises(VocabularyError, match="'client' and 'repo'"):
        vocabulary.parse("- {client: c, messages: []}")
    with pytest.raises(VocabularyError, match="'client' and 'repo'"):
        vocabulary.parse("- {messages: []}")
    unknown = Message("c", "o/r", "a.missing", "the client printed this message", "x.go")
    with pytest.raises(KnowledgeBaseError, match=r"unknown cause a\.missing"):
        parse(CAUSE, [unknown])


def test_a_message_becomes_a_pattern_of_its_cause_and_part_of_its_wording() -> None:
    message = Message("c", "o/r", "a.b", "the widget {} could not be wound up", "w.py")
    kb = parse(CAUSE, [message, message])  # the same template twice is one pattern
    assert kb["a.b"].messages == (message.text,) and len(kb["a.b"].message_patterns) == 1
    assert [m.cause_id for m in kb.classify("Error: the widget W-7 could not be wound up")] == ["a.b"]
    assert kb.wording().rank("widget wound")[0][0] == "a.b"
