"""Clue-only fallback: candidates for an error text that no cause's matchers recognise.

When nothing in the knowledge base matches anywhere in a text, but the text still reads like an error
and carries clues (an HTTP status, a client's fingerprint, an ``accounts.`` host, a host with a path,
environment variable names, words such as *expired*, *blocked*, *timed out*, *certificate*,
*keyring*), the text is not answered with "not recognised" alone: up to three candidate causes are
ranked from those clues. The answer is always a *vague* finding (``FALLBACK``): candidates to tell
apart with `brickauth doctor`, never a confident first-place claim, and never a cause that belongs to
an error code (an AADSTS or brickauth code in the text is matched, or named as unknown, before this).

Before the clues, the text's wording is compared with every cause's documented messages
(``doctor.similar``): when the clues name nothing, the causes it reads most like are the candidates
(with a sign of failure in the text, or wording close enough on its own); when they do, those fill
the places the clues leave free.

A cause's score is the sum, over the clues in the text, of its own clue weight in ``causes.yaml``
(capped at ``YAML_WEIGHT_CAP``: those weights were written to tip a close call between matched
causes, not to name a cause alone) and the ``PRIORS`` below. The priors are written from the clients'
documented behaviour (what a 401 or 407 means, which host serves which API, what each variable
selects) and checked against the development part of the corpus; a cause needs ``MIN_SCORE`` to be
named at all, and ties keep the order of ``causes.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from brickauth.doctor.cause import Candidate, Cause, Match, _dedupe
from brickauth.doctor.text_clues import Block, error_line

FALLBACK_ID = "general.clues_only"
MIN_SCORE = 15
YAML_WEIGHT_CAP = 20
MAX_CANDIDATES = 3
WORDING_CLUE = "wording.similar"  # a candidate named because the text reads like its documented messages
STRONG_SIMILARITY = 30  # percent: wording this close names candidates even without a failure word

FALLBACK = Cause(
    id=FALLBACK_ID,
    category="databricks",
    title="Not a message brickauth knows; likely causes from the clues in the text",
    explanation=(
        "No entry of the knowledge base matches this text, but it carries clues (HTTP status, client, "
        "host shape, environment variables, words such as expired, blocked or timed out, wording like "
        "a known message's). The causes below are ranked from those clues only: candidates to tell "
        "apart, not a diagnosis."
    ),
    fix="Run `brickauth doctor`: the check named under each candidate confirms or rules it out.",
    links=(),
    examples=(),
    priority=0,
    vague=True,
)

# Words read only by the fallback (the matchers see the full text; these only rank candidates).
WORDS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "word.expired": r"\bexpir(ed|es|y|ation)\b",
        "word.blocked": r"\bblocked\b|\ballow ?list\b|\bIP address\b|\baccess list\b",
        "word.forbidden": r"\bforbidden\b|\bpermission\b|\bprivilege\b|\bnot authori[sz]ed\b|\bdenied\b",
        "word.timeout": r"\btime[ds]? ?out\b|\btimeout\b|\bdeadline exceeded\b",
        "word.certificate": r"\bcertificate\b|\bSSL\b|\bTLS\b|\bx509\b",
        "word.keyring": r"\bkeyring\b|\bkeychain\b|\bsecret ?service\b|\bcredential manager\b|\bD-?Bus\b|"
        r"\blibsecret\b|\bpersistence\b|\btoken cache\b",
        "word.refused": r"\brefused\b|\bECONNREFUSED\b",
        "word.resolve": r"\bresolve (the )?(host|hostname|name|address)|\bgetaddrinfo\b|\bno such host\b|"
        r"\bname or service not known\b|\bNameResolutionError\b|\bfailed to resolve\b",
        "word.warehouse": r"\bwarehouse\b|\bhttp_?path\b|/sql/1\.0/|\bSQL endpoint\b",
        "word.cluster": r"\bcluster\b",
        "word.catalog": r"\bcatalog\b|\bschema\b|\btable\b",
        "word.secret": r"\bclient[_ ]secret\b|\bsecret\b",
        "word.sign_in": r"\blog ?in\b|\bsign[- ]?in\b|\bredirect\b|\bbrowser\b",
        "word.locked": r"\block(ed)?\b|\bunlock|\bprompts?\b|\buser interaction is not allowed\b",
        "word.private_link": r"\bprivate ?link\b|\bprivatelink\b|\bprivate endpoint\b",
        "word.bad_host": r"\b(invalid|bad|malformed)\b.{0,30}\b(host ?name|host|URL|URI)\b|"
        r"\b(host ?name|URL|URI)\b.{0,20}\b(is )?(invalid|malformed)\b",
        "word.managed_identity": r"\bmanaged identity\b|\bIMDS\b|169\.254\.169\.254|\bMSI\b",
        "word.subscription": r"\bsubscriptions?\b",
        "word.scope": r"\bscopes?\b",
        "word.consent": r"\bconsent|\badmin approval\b",
        "word.cancelled": r"\bcancell?ed\b",
        "word.authority": r"\bauthority\b",
        "word.audience": r"\baudiences?\b",
        "word.missing": r"\bmissing\b|\bnot (all values are )?(present|provided|specified|set)\b|"
        r"\bplease (set|provide|specify)\b|\bno \S+( \S+){0,3} specified\b|"
        r"\b(is|are) (a )?required\b|\brequired (parameters?|arguments?|settings?|config)\b|"
        r"\bis (not )?supplied\b|\bmust be (set|provided|supplied|specified)\b",
        "word.try_later": r"\btry again later\b|\btaking too long\b|\btemporarily\b",
        "word.gateway": r"\bgateway\b",
        "word.ci_oidc": r"\bOIDC token\b|\bid-token\b|\bACTIONS_ID_TOKEN|\bservice connection\b",
        "word.pem": r"\bPEM\b|\.pem\b|\bpfx\b|\bprivate key\b",
        "word.refresh_token": r"\brefresh[_ ]token\b",
        "word.again": r"\bre-?authenticat\w*|\b(sign[- ]?in|log ?in) again\b",
        "word.host_conflict": r"\bhost\b.{0,80}\b(mismatch|conflicts?)\b|"
        r"\b(mismatch|conflicts?)\b.{0,80}\bhost\b",
        "word.token_file": r"\btoken[_ ]file\b|/var/run/secrets/|\bazure-identity-token\b",
        "word.override": r"\boverrid(e|es|den|ing)\b",
        "word.admin": r"\badmins?\b|\badministrators?\b",
        "word.silent": r"\bsilent(ly)?\b|\bAcquireTokenSilent\b|\bacquire_token_silent\b",
        "word.oauth_host": r"\bOAuth\b.{0,60}\bnot (supported|enabled)\b|\bOAuth Config\b",
        "word.unsupported_value": r"\b(unsupported|invalid|unknown|unrecognized) value\b|\bis not one of\b|"
        r"\bmust be one of\b",
        "word.membership": r"\bnot (been )?(registered|a member|part of|added to|assigned to)\b|"
        r"\bno access to (this|the) workspace\b",
        "word.port_in_use": r"\bports?\b.{0,30}\b(in use|taken|occupied)\b",
        "word.unknown_flag": r"\bunrecogni[sz]ed (arguments?|options?|flags?)\b|"
        r"\bunknown (flag|option|shorthand flag)\b|\bno such option\b",
        "word.revoked": r"\brevoked\b",
        "word.disabled": r"\bdisabled\b|\bturned off\b",
        "word.inactive": r"\b(inactive|deactivated|not active)\b",
        "word.mfa": r"\bMFA\b|\bmulti-?factor\b|\bsecond factor\b|\bstrong authentication\b",
        "word.conditional_access": r"\bconditional access\b|\bcompliant device\b|\bdevice (is )?(not )?"
        r"(managed|compliant)\b",
        "word.tenant": r"\btenant\b|\bdirectory\b",
        "word.redirect_uri": r"\bredirect[_ ]?uri\b|\breply (url|address)\b",
        "word.federation": r"\bfederat(ed|ion)\b|\bsubject (claim|identifier)\b|\bissuer\b",
        "word.assertion": r"\b(client[_ ])?assertion\b",
        "word.proxy": r"\bproxy\b|\bproxies\b",
        "word.reset": r"\bconnection (was )?(reset|closed|aborted)\b|\bbroken pipe\b|\b(unexpected )?EOF\b",
        "word.owner": r"\bowner\b|\bownership\b",
        "word.http_path": r"\bhttp[_ ]?path\b",
        "word.hostname_mismatch": r"\bhost ?name\b.{0,40}\b(mismatch|does(n't| not) match)\b|"
        r"\bnot valid for\b|\bSubject Alternative Name\b",
        # A crash inside the client's own code (not an answer from a server): a client bug.
        "word.client_crash": r"\bUnboundLocalError\b|\breferenced before assignment\b|"
        r"\bAttributeError: .NoneType. object\b|\binterface conversion\b|\bnil pointer dereference\b",
        # Not a candidate's clue: only says that the text reports a failure.
        "word.failure": r"\bnot (a |an )?(found|available|supported|allowed|valid|trusted|consented)\b|"
        r"\bunable to\b|\bcannot\b|\bcould not\b|\bfail(s|ed|ure)?\b|\binvalid\b|\bmust (use|be|have)\b|"
        r"\b(does|do|did)(n't| not) (have|contain|support|exist|match)\b|"
        r"\bonly (accessible|available|allowed)\b|"
        r"\bno \S+( \S+)?( \S+)? (found|available|configured|passed)\b",
    }.items()
}

# clue -> {cause id: prior}. Which cause a clue points at when the text says nothing more.
PRIORS: dict[str, dict[str, int]] = {
    # HTTP status: 401 is about the credential, 403 about what the identity may reach, 407 the proxy.
    "status.401": {"databricks.invalid_token": 30, "databricks.token_expired": 25,
                   "token.wrong_audience": 15, "token.wrong_tenant": 10, "config.account_console_host": 5},
    "status.403": {"databricks.principal_not_in_workspace": 25, "databricks.ip_access_list_blocked": 22,
                   "databricks.uc_missing_privilege": 10, "network.private_link": 10,
                   "account.admin_required": 8},
    "status.404": {"account.workspace_host_for_account_api": 15, "config.host_malformed": 15,
                   "databricks.oauth_not_enabled_for_host": 10, "databricks.warehouse_not_found": 5},
    "status.407": {"network.proxy": 50},
    "status.429": {"databricks.service_unavailable": 40},
    "status.5xx": {"databricks.service_unavailable": 25, "network.proxy": 10,
                   "databricks.warehouse_stopped": 8},
    # Content: an HTML page where an API answers JSON comes from something in between or a wrong host.
    "content.html": {"network.private_link": 20, "network.proxy": 15, "config.host_malformed": 12,
                     "config.account_console_host": 8},
    # Hosts.
    "host.accounts": {"config.account_console_host": 20, "account.missing_account_id": 15,
                      "account.admin_required": 10},
    "host.path": {"config.host_malformed": 30},
    "host.scheme_in_host": {"config.host_malformed": 30},
    "host.port": {"network.connection_refused": 5, "network.proxy": 5},
    "host.sovereign": {"network.sovereign_cloud_public_endpoint": 30},
    # Environment variables: which auth they select, and what goes wrong with it.
    "env.token": {"databricks.invalid_token": 15, "config.multiple_auth_methods": 10,
                  "databricks.token_expired": 10},
    "env.proxy": {"network.proxy": 30},
    "env.azure": {"config.env_forces_auth_type": 10, "token.wrong_tenant": 10, "token.wrong_audience": 10,
                  "entra.invalid_client_secret": 5},
    "env.databricks_oauth": {"databricks.oauth_invalid_client": 15, "config.missing_setting": 10},
    "env.auth_type": {"config.env_forces_auth_type": 20, "config.unknown_auth_type": 10},
    "env.config_profile": {"config.profile_not_found": 20, "config.profile_incomplete": 15},
    # Clients: the causes their users meet most (development part of the corpus).
    "client.sql_connector": {"databricks.principal_not_in_workspace": 10,
                             "databricks.no_can_use_warehouse": 5},
    "client.dbt": {"config.missing_setting": 5, "databricks.missing_sql_entitlement": 5},
    "client.jdbc_odbc": {"databricks.invalid_token": 5, "network.proxy": 5},
    "client.azure": {"token.wrong_audience": 5, "token.wrong_tenant": 5},
    # Words.
    "word.expired": {"databricks.token_expired": 30, "databricks.refresh_token_expired": 20,
                     "entra.client_secret_expired": 10},
    "word.blocked": {"databricks.ip_access_list_blocked": 30, "network.proxy": 10},
    "word.forbidden": {"databricks.principal_not_in_workspace": 10, "databricks.uc_missing_privilege": 8,
                       "databricks.no_can_use_warehouse": 5},
    "word.timeout": {"network.timeout": 30, "databricks.warehouse_stopped": 10, "network.proxy": 8},
    "word.certificate": {"network.ca_untrusted": 30, "network.hostname_mismatch": 10,
                         "network.ca_bundle_missing": 10},
    "word.keyring": {"store.no_keyring_backend": 25, "store.keyring_cannot_save": 20,
                     "store.secret_service_unavailable": 15},
    "word.refused": {"network.connection_refused": 30},
    "word.resolve": {"network.dns": 30},
    "word.warehouse": {"databricks.no_can_use_warehouse": 12, "databricks.warehouse_stopped": 10,
                       "databricks.warehouse_not_found": 8},
    "word.cluster": {"databricks.no_cluster_permission": 40},
    "word.catalog": {"databricks.uc_missing_privilege": 25},
    "word.secret": {"entra.invalid_client_secret": 10, "databricks.oauth_invalid_client": 10},
    # A message that asks to sign in (again): no session stored, or the stored one ran out.
    "word.sign_in": {"store.not_signed_in": 15, "databricks.refresh_token_expired": 10,
                     "entra.refresh_token_inactive": 5},
    # A keyring that is there but locked asks to be unlocked, or cannot prompt for it (macOS -25308).
    "word.locked": {"store.keyring_locked": 15},
    "word.private_link": {"network.private_link": 40},
    "word.bad_host": {"config.host_malformed": 25},
    "word.managed_identity": {"entra.managed_identity_unreachable": 20,
                              "entra.managed_identity_not_found": 18},
    "word.subscription": {"local.azure_cli_no_subscription": 25},
    "word.scope": {"databricks.oauth_invalid_scope": 20, "entra.invalid_scope": 10},
    "word.consent": {"entra.consent_required": 25, "entra.admin_consent_required": 15},
    "word.cancelled": {"entra.consent_declined": 25},
    "word.authority": {"entra.authority_unusable": 25},
    "word.audience": {"token.wrong_audience": 25, "databricks.federation_audience": 10},
    "word.missing": {"config.missing_setting": 30, "config.profile_incomplete": 5},
    "word.try_later": {"databricks.service_unavailable": 15, "databricks.unresponsive": 15},
    "word.gateway": {"network.proxy": 15, "databricks.service_unavailable": 10},
    "word.pem": {"config.certificate_unusable": 30, "network.ca_bundle_missing": 10},
    "word.refresh_token": {"databricks.refresh_token_expired": 15, "entra.refresh_token_inactive": 15},
    "word.again": {"databricks.refresh_token_expired": 15, "entra.refresh_token_inactive": 15},
    "word.host_conflict": {"config.host_mismatch": 50},
    "word.token_file": {"config.federated_token_file": 25, "config.no_subject_token": 10},
    "word.override": {"config.env_forces_auth_type": 20, "config.multiple_auth_methods": 10},
    "word.admin": {"account.admin_required": 30, "databricks.missing_workspace_access": 5},
    # MSAL's silent flow reads the cache: failing there means no account was signed in (or kept).
    "word.silent": {"store.not_signed_in": 20},
    "word.oauth_host": {"databricks.oauth_not_enabled_for_host": 25},
    "word.unsupported_value": {"config.invalid_value": 25, "config.unknown_auth_type": 15},
    "word.membership": {"databricks.principal_not_in_workspace": 30, "entra.user_not_assigned": 10},
    "word.port_in_use": {"local.loopback_port_in_use": 40},
    "word.unknown_flag": {"version.client_too_old": 35},
    "word.client_crash": {"version.client_regression": 30},
    "word.revoked": {"entra.grant_revoked": 20, "databricks.invalid_token": 20},
    "word.disabled": {"databricks.pat_disabled": 15, "entra.user_disabled": 10},
    "word.inactive": {"databricks.principal_inactive": 30},
    "word.mfa": {"entra.mfa_required": 35},
    "word.conditional_access": {"entra.conditional_access_blocked": 25, "entra.device_not_compliant": 20},
    "word.tenant": {"token.wrong_tenant": 12, "entra.tenant_not_found": 10},
    "word.redirect_uri": {"entra.redirect_uri_mismatch": 30, "databricks.redirect_uri_not_registered": 15},
    "word.federation": {"entra.federated_no_match": 25, "entra.federated_token_invalid": 10},
    "word.assertion": {"entra.client_assertion_expired": 15, "entra.assertion_signature_invalid": 15},
    "word.proxy": {"network.proxy": 30},
    "word.reset": {"network.connection_reset": 30},
    "word.owner": {"databricks.table_not_owner": 25},
    "word.http_path": {"config.http_path_malformed": 20, "databricks.warehouse_not_found": 10},
    "word.hostname_mismatch": {"network.hostname_mismatch": 35},
    "word.ci_oidc": {"databricks.ci_oidc_token_refused": 25, "config.no_subject_token": 15},
}  # fmt: skip


_FAILURE_CLUES = frozenset({
    "status.401", "status.403", "status.404", "status.407", "status.429", "status.5xx", "word.expired",
    "word.blocked", "word.forbidden", "word.timeout", "word.refused", "word.resolve", "word.locked",
    "word.bad_host", "word.missing", "word.try_later", "word.cancelled", "word.consent", "word.again",
    "word.sign_in", "word.host_conflict", "word.failure", "word.unsupported_value",
    "word.membership", "word.port_in_use", "word.unknown_flag", "word.client_crash",
})  # fmt: skip


def words_in(text: str) -> frozenset[str]:
    return frozenset(name for name, pattern in WORDS.items() if pattern.search(text))


@lru_cache(maxsize=1024)
def _weights(cause_id: str, clues: tuple[tuple[str, int], ...]) -> dict[str, int]:
    weights = {name: min(weight, YAML_WEIGHT_CAP) for name, weight in clues}
    for clue, priors in PRIORS.items():
        if cause_id in priors:
            weights[clue] = weights.get(clue, 0) + priors[cause_id]
    return weights


def clue_points(cause: Cause, clues: frozenset[str]) -> tuple[int, tuple[str, ...]]:
    """How strongly ``clues`` point at ``cause`` (capped causes.yaml weights plus ``PRIORS``)."""
    weights = _weights(cause.id, cause.clues)
    used = tuple(sorted(name for name in clues if weights.get(name, 0) > 0))
    return sum(weights.get(name, 0) for name in clues), used


def score_causes(causes: tuple[Cause, ...], clues: frozenset[str]) -> list[Candidate]:
    """Every specific cause the clues point at with at least ``MIN_SCORE``, best first.

    The client that printed a text only reorders: a cause needs a clue of another kind (status, host,
    environment variable, word) to be named at all.
    """
    order = {cause.id: position for position, cause in enumerate(causes)}
    ranked: list[tuple[int, int, Candidate]] = []
    for cause in causes:
        if cause.vague or cause.generic:
            continue  # a catch-all is no candidate: it stands for the specific causes ranked here
        total, used = clue_points(cause, clues)
        if total >= MIN_SCORE and any(not name.startswith("client.") for name in used):
            ranked.append((-total, order[cause.id], Candidate(cause, total, used)))
    return [cand for _, _, cand in sorted(ranked, key=lambda item: item[:2])]


def rank_by_clues(
    causes: tuple[Cause, ...],
    text: str,
    clues: frozenset[str],
    blocks: list[Block],
    similar: Sequence[tuple[Cause, float]] = (),
) -> Match | None:
    """A vague finding with up to three candidates, or None (no clue, or no sign of failure).

    A sign of failure is a line that reads like an error (``text_clues.error_line``), an HTTP error
    status or a word such as *expired*, *blocked* or *timed out*. The causes its clues point at come
    first; the causes whose documented wording the text reads most like (``similar``, from
    ``doctor.similar``) fill the places left, or are the candidates when the clues name none (without a
    sign of failure only when the wording is close). A vague cause's place goes to the first of its
    candidates not named yet.
    """
    clues = clues | words_in(text)
    found = next((line for line in map(error_line, blocks) if line is not None), None)
    failing = found is not None or not clues.isdisjoint(_FAILURE_CLUES)
    by_id = {cause.id: cause for cause in causes}
    worded: list[Candidate] = []
    for cause, similarity in similar:
        named = {w.cause_id for w in worded}
        if cause.vague or cause.generic:
            cause = next((by_id[c] for c in cause.candidates if c not in named), cause)
        if not cause.vague and not cause.generic and cause.id not in named:
            worded.append(Candidate(cause, round(100 * similarity), (WORDING_CLUE,)))
    if not failing:  # without a sign of failure, only close wording names candidates
        worded = [cand for cand in worded if cand.score >= STRONG_SIMILARITY]
    ranked = score_causes(causes, clues) if failing else []
    if ranked:  # the clues rank first; wording fills the places they leave, below them
        floor = ranked[-1].score
        worded = [Candidate(c.cause, min(c.score, floor - 1 - i), c.clues) for i, c in enumerate(worded)]
    candidates = _dedupe([*ranked, *worded])[:MAX_CANDIDATES]
    if not candidates:
        return None
    if found is None:
        first = next(b for b in blocks if b.text.strip())
        found = (first.line, first.text.strip().splitlines()[0].strip())
    line, shown = found
    return Match(FALLBACK, line, shown[:300], candidates=candidates[:MAX_CANDIDATES])
