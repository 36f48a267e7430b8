"""The knowledge base: coverage, shape, and that every example classifies to its own entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from brickauth.doctor import knowledge, vocabulary
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


# ---------------------------------------------------------------------------------------------------
# brickauth's own codes (issue 10, issue 11): an explicit code -> cause map, every documented code known

ERRORS_MD = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
DOCTOR_JSON_MD = Path(__file__).resolve().parents[2] / "docs" / "doctor-json.md"
DOCUMENTED_CODES = re.findall(r"^- (BA\d{3}) ", ERRORS_MD.read_text(encoding="utf-8"), re.MULTILINE)


def test_errors_md_lists_codes() -> None:
    assert len(DOCUMENTED_CODES) > 100 and len(set(DOCUMENTED_CODES)) == len(DOCUMENTED_CODES)


@pytest.mark.parametrize("code", DOCUMENTED_CODES)
def test_every_documented_code_is_known_alone_and_in_a_pasted_line(code: str) -> None:
    cause = knowledge.cause_for_code(code)
    assert cause is not None, f"{code} has no cause in causes.yaml (matchers.codes)"
    assert [m.cause_id for m in KB.classify(code)] == [cause.id]
    line = f"brickauth.errors.BrickauthError: [{code}] something failed: a reason. Fix: the fix."
    assert cause.id in [m.cause_id for m in KB.classify(line)]


def test_cause_for_code_accepts_the_usual_spellings_and_refuses_unknown_codes() -> None:
    expected = KB["entra.redirect_uri_platform_web"]
    for spelling in ("BA213", "[BA213]", "ba213", " BA213\n"):
        assert knowledge.cause_for_code(spelling) is expected
    assert knowledge.cause_for_code("BA999") is None
    assert KB.cause_for_code("BA213") is expected  # what doctor's planner and checks call
    assert knowledge.cause_for_code("AADSTS7000218") is None
    with pytest.raises(KnowledgeBaseError, match="BA110 mapped"):
        parse(
            "causes:\n"
            "- {id: a.b, category: entra, title: t, explanation: e, fix: f, matchers: {codes: [BA110]}}\n"
            "- {id: a.c, category: entra, title: t, explanation: e, fix: f, matchers: {codes: [BA110]}}\n"
        )


def test_a_brickauth_code_outranks_the_wording_of_its_message() -> None:
    # BA212 (expired secret) in a line whose wording also fits another cause: the code decides.
    line = "brickauth: [BA212] token request refused: Invalid client secret provided. Fix: new secret."
    assert [m.cause_id for m in KB.classify(line)] == ["entra.client_secret_expired"]


# ---------------------------------------------------------------------------------------------------
# Shape of the entries that rank candidates


def test_vague_causes_list_candidates_that_say_how_to_tell_them_apart() -> None:
    vague = [c for c in KB.causes if c.vague]
    assert len(vague) >= 5
    for cause in vague:
        assert len(cause.candidates) >= 3, cause.id
        for other in cause.candidates:
            assert KB[other].tell, f"{other} (a candidate of {cause.id}) needs `tell:`"
            assert not KB[other].vague
    for cause in KB.causes:  # specific causes with look-alikes show them as candidates too
        if cause.candidates and not cause.vague:
            assert cause.tell and all(KB[o].tell for o in cause.candidates), cause.id


def test_every_check_named_is_a_documented_doctor_check() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", DOCTOR_JSON_MD.read_text(), re.MULTILINE))
    assert set(knowledge.DOCTOR_CHECKS) == documented
    assert all(c.check in documented for c in KB.causes if c.check)


def test_literal_precheck_never_changes_a_classification() -> None:
    texts = [c.examples[0] for c in KB.causes]  # the slow path runs every regex on every block
    texts += [m.replace("{}", "x") for c in KB.causes for m in c.messages]
    with_needles = [[m.cause_id for m in KB.classify(t)] for t in texts]
    plain = parse(knowledge.source_text(), vocabulary.messages())
    for cause in plain.causes:
        object.__setattr__(cause, "_needles", tuple(() for _ in cause.patterns))
        object.__setattr__(cause, "_message_words", tuple(() for _ in cause.messages))
    plain._build_index()
    assert [[m.cause_id for m in plain.classify(t)] for t in texts] == with_needles


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        (r"Application with identifier .{1,100} was not found", "application with identifier "),
        (r"Invalid client secret (is )?provided", "invalid client secret "),
        (r"a|b", ""),
        (r"foo\.bar?", "foo.ba"),
        (r"(warehouse|endpoint) .{0,60}(is|was) stopped", " stopped"),
        (r"\bUser not authorized\b", "user not authorized"),
    ],
)
def test_needle_is_a_literal_every_match_contains(pattern: str, needle: str) -> None:
    assert knowledge._needle(pattern) == needle


def test_needle_set_has_one_literal_per_top_level_alternative() -> None:
    assert knowledge._needle_set(r"Connection refused|ECONNREFUSED|WinError 10061") == (
        "connection refused", "econnrefused", "winerror 10061"
    )
    assert knowledge._needle_set(r"(a|b) long literal|x") == ()
    assert knowledge._needle_set(r"[|] literal here|other one") == (" literal here", "other one")


def test_clue_precheck_never_changes_the_clues_found() -> None:
    texts = [c.examples[0] for c in KB.causes] + [case[1] for case in CLUE_CASES.values()]
    for text in texts:
        plain = {name for name, pattern in knowledge.CLUES.items() if pattern.search(text)}
        found = knowledge.clues_in(text)
        assert found <= plain and found >= plain - {"client.cli", "host.workspace"}


# ---------------------------------------------------------------------------------------------------
# Fixes users copy


@pytest.mark.parametrize("cause", KB.causes, ids=lambda c: c.id)
def test_sql_in_fixes_is_complete_and_copy_pasteable(cause: knowledge.Cause) -> None:
    assert "\\`" not in cause.fix  # an escaped backtick inside inline code breaks both markdown and SQL
    for line in cause.fix.splitlines():
        statement = line.strip()
        if re.match(r"(GRANT|REVOKE|ALTER|CREATE|DROP)\s+[A-Z]", statement):
            assert "<" not in statement and ">" not in statement, statement
            assert statement.endswith(";") and statement.count("`") % 2 == 0, statement
            assert not line.lstrip().startswith("`"), "SQL goes on its own line, not inside inline code"
    for code in re.findall(r"`([^`]*)`", cause.fix):
        assert not re.match(r"(GRANT|REVOKE|ALTER TABLE)\b", code), f"SQL inside inline code: {code}"


def test_fix_for_7000218_at_sign_in_is_the_public_client_platform_not_a_secret() -> None:
    for text in (
        "brickauth: [BA617] device code sign-in: the app does not allow public client flows (AADSTS7000218).",
        "brickauth login: [BA213] AADSTS7000218: The request body must contain the following parameter: "
        "'client_assertion' or 'client_secret'.",
    ):
        [match] = KB.classify(text)
        fix = match.cause.fix if match.cause else ""
        first_secret = fix.find("AZURE_CLIENT_SECRET")
        assert "Mobile and desktop applications" in fix and "Allow public client flows" in fix
        assert fix.find("Mobile and desktop applications") < first_secret
        assert fix.find("Allow public client flows") < first_secret
        assert "not the fix" in fix.splitlines()[0] + fix.splitlines()[1]


# ---------------------------------------------------------------------------------------------------
# Ranked candidates: every clue changes the ranking (issue 11)

_WS = "https://adb-1234567890123456.7.azuredatabricks.net"
_NO_CREDS = "ValueError: default auth: cannot configure default credentials"
_HTML = "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
_FAILED = "Error: failed to connect to the workspace"

# clue -> (text without the clue, the same text with it, the cause the clue must move up)
CLUE_CASES: dict[str, tuple[str, str, str]] = {
    "client.sdk_py": (
        "default auth: cannot configure default credentials",
        'File "/venv/lib/python3.11/site-packages/databricks/sdk/config.py", line 120, in init_auth\n'
        "default auth: cannot configure default credentials",
        "version.client_too_old",
    ),
    "client.go": (
        _HTML,
        "Error: oidc: parse .well-known: invalid character '<' looking for beginning of value",
        "account.missing_account_id",
    ),
    "client.legacy": (
        "Error: authentication is not configured for provider.",
        "Error: authentication is not configured for provider. Please configure it\n"
        "through one of the following options:",
        "version.client_too_old",
    ),
    "client.ci": ("HTTP 403 Forbidden", "##[error]HTTP 403 Forbidden", "databricks.token_expired"),
    "client.cli": (_NO_CREDS, "Error: " + _NO_CREDS[len("ValueError: "):], "config.profile_not_found"),
    "status.404": (_HTML, _HTML + " (HTTP 404)", "databricks.oauth_not_enabled_for_host"),
    "client.terraform": (
        "Error: " + _NO_CREDS[len("ValueError: "):],
        "│ Error: " + _NO_CREDS[len("ValueError: "):] + "\n│\n│   with data.databricks_current_user.me,",
        "config.workspace_not_yet_created",
    ),
    "client.dbt": (_NO_CREDS, "10:00:01  Encountered an error:\nRuntime Error\n  " + _NO_CREDS,
                   "config.missing_setting"),
    "client.sql_connector": (
        "HTTP 403 Forbidden",
        "databricks.sql.exc.RequestError: HTTP 403 Forbidden",
        "databricks.missing_sql_entitlement",
    ),
    "client.azure": (
        "HTTP 401 Unauthorized",
        "azure.identity: ClientSecretCredential.get_token succeeded\nHTTP 401 Unauthorized",
        "token.wrong_audience",
    ),
    "host.accounts": (
        _HTML, _HTML + "\nhost=https://accounts.azuredatabricks.net", "config.account_console_host"
    ),
    "host.workspace": (_HTML, _HTML + f" (host={_WS})", "databricks.oauth_not_enabled_for_host"),
    "host.path": (_HTML, _HTML + f"\nhost={_WS}/?o=1234567890123456", "config.host_malformed"),
    "host.scheme_in_host": (_FAILED, _FAILED + f"\nserver_hostname='{_WS}'", "config.host_malformed"),
    "host.port": (_FAILED, "Error: failed to connect to adb-1234567890123456.7.azuredatabricks.net:8443",
                  "network.connection_refused"),
    "host.sovereign": (
        "AADSTS90002: Tenant '00000000-0000-0000-0000-000000000000' not found.",
        "AADSTS90002: Tenant '00000000-0000-0000-0000-000000000000' not found. "
        "host=https://adb-1234567890123456.7.databricks.azure.cn",
        "network.sovereign_cloud_public_endpoint",
    ),
    "env.proxy": (_FAILED, _FAILED + "\nHTTPS_PROXY=http://proxy.corp.example:3128", "network.proxy"),
    "env.token": (
        "HTTP 403 Forbidden", "HTTP 403 Forbidden (DATABRICKS_TOKEN is set)", "databricks.invalid_token"
    ),
    "env.auth_type": (_NO_CREDS, _NO_CREDS + ". Env: DATABRICKS_AUTH_TYPE", "config.env_forces_auth_type"),
    "env.config_profile": (_NO_CREDS, _NO_CREDS + ". Config: profile=prod", "config.profile_incomplete"),
    "env.azure": ("HTTP 401 Unauthorized", "HTTP 401 Unauthorized\nAZURE_TENANT_ID=contoso.onmicrosoft.com",
                  "token.wrong_audience"),
    "env.databricks_oauth": (
        "Error: " + _NO_CREDS[len("ValueError: "):],
        "Error: " + _NO_CREDS[len("ValueError: "):] + ". Env: DATABRICKS_CLIENT_ID",
        "config.missing_setting",
    ),
    "status.401": ("HTTP ERROR 403", "HTTP ERROR 401", "databricks.invalid_token"),
    "status.403": (
        f"requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: {_WS}/api/2.0/clusters",
        f"requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: {_WS}/api/2.0/clusters",
        "databricks.principal_not_in_workspace",
    ),
    "status.407": (_FAILED, _FAILED + ": 407", "network.proxy"),
    "status.5xx": (
        "MaxRetryDurationError: Retry request would exceed Retry policy max retry duration",
        "MaxRetryDurationError: Retry request would exceed Retry policy max retry duration (last: 503)",
        "databricks.service_unavailable",
    ),
    "content.html": ("HTTP 403 Forbidden", "HTTP 403 Forbidden\n<html><body>Access denied</body></html>",
                     "network.private_link"),
}


def _position(text: str, cause_id: str) -> int:
    ranked = [c.cause_id for c in KB.rank(text, limit=None)]
    return ranked.index(cause_id) if cause_id in ranked else 99


def test_every_clue_a_cause_weighs_has_a_ranking_case() -> None:
    weighed = {name for c in KB.causes for name, _ in c.clues}
    assert weighed <= set(CLUE_CASES), sorted(weighed - set(CLUE_CASES))


@pytest.mark.parametrize("clue", sorted(CLUE_CASES))
def test_each_clue_changes_the_ranking(clue: str) -> None:
    without, with_clue, moves_up = CLUE_CASES[clue]
    assert clue not in knowledge.clues_in(without) and clue in knowledge.clues_in(with_clue)
    assert _position(with_clue, moves_up) < _position(without, moves_up), (
        [c.cause_id for c in KB.rank(without, limit=None)],
        [c.cause_id for c in KB.rank(with_clue, limit=None)],
    )


def test_vague_text_gets_at_most_three_ranked_candidates_and_unknown_text_none() -> None:
    ranked = KB.rank("databricks.sql.exc.RequestError: Error during request to server")
    assert 1 < len(ranked) <= 3 and ranked[0].cause_id == "databricks.principal_not_in_workspace"
    assert all(c.cause.tell and c.cause.check for c in ranked)
    assert KB.rank("KeyError: 'flux'") == []


def test_a_known_aadsts_code_is_never_given_another_codes_cause() -> None:
    # An accounts host and a proxy clue in the text do not outrank the code the text names.
    text = (
        "AADSTS7000215: Invalid client secret provided. host=https://accounts.azuredatabricks.net "
        "HTTPS_PROXY=http://proxy:3128 error"
    )
    assert KB.rank(text)[0].cause_id == "entra.invalid_client_secret"
    for cause in KB.causes:
        for example in cause.examples:
            codes = {int(c) for c in re.findall(r"AADSTS(\d{5,8})", example) if KB.for_aadsts(int(c))}
            first = KB.rank(example)[0].cause if KB.rank(example) else None
            if KB.best(example) is not None and KB.best(example).vague:  # type: ignore[union-attr]
                continue  # ranked candidates of a catch-all code, not a confident answer
            if codes and first is not None and first.aadsts:
                assert codes & set(first.aadsts), (cause.id, example)


def test_a_catch_all_code_leaves_an_unknown_aadsts_code_named_not_guessed() -> None:
    line = "brickauth: [BA200] Entra refused the token request: AADSTS4242424: something new. Fix: see it."
    assert [(m.cause_id, m.aadsts) for m in KB.classify(line)] == [(None, 4242424)]
    assert KB.rank(line) == []


# Wordings of the same causes that neither the corpus nor the examples contain (other clients, other
# versions), written from the clients' documented messages: the matchers are families, not copies.
OTHER_WORDINGS = [
    ("Error: Personal access tokens are disabled for this workspace.", "databricks.pat_disabled"),
    ("getaddrinfo EAI_AGAIN adb-1234567890123456.7.azuredatabricks.net", "network.dns"),
    ("Error: connect ECONNREFUSED 127.0.0.1:8020", "network.connection_refused"),
    ("x509: certificate is valid for *.corp.example, not adb-1.2.azuredatabricks.net",
     "network.hostname_mismatch"),
    ("SSLCertVerificationError: [SSL] self-signed certificate in certificate chain (_ssl.c:1006)",
     "network.ca_untrusted"),
    ("[INSUFFICIENT_PERMISSIONS] User does not have the USE CATALOG privilege on catalog `main`.",
     "databricks.uc_missing_use_catalog"),
    ("Error: listen tcp 127.0.0.1:8020: bind: port is already in use", "local.loopback_port_in_use"),
    ("ManagedIdentityCredential authentication failed: the IMDS endpoint is unreachable",
     "entra.managed_identity_unreachable"),
    ("databricks.sdk.errors.platform.PermissionDenied: You do not have permission to restart the cluster",
     "databricks.no_cluster_permission"),
    ("Error: account_id is required for account-level operations", "account.missing_account_id"),
    ("Error: The token has expired. Generate a new personal access token.", "databricks.token_expired"),
    ("keyring.errors.KeyringLocked: Failed to unlock the collection!", "store.keyring_locked"),
    ("SecretServiceNotAvailableException: org.freedesktop.DBus.Error.Spawn.ExecFailed",
     "store.secret_service_unavailable"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "cause_id"), OTHER_WORDINGS, ids=[c for _, c in OTHER_WORDINGS])
def test_other_wordings_of_a_cause_are_recognised(text: str, cause_id: str) -> None:
    ranked = [c.cause_id for c in KB.rank(text)]
    assert ranked[:1] == [cause_id], ranked
