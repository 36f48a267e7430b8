"""Classification of Entra (msal dict) and Databricks OIDC error answers."""

from __future__ import annotations

import pytest

from brickauth.errors import IdentityProviderError, InvalidClientError, InvalidGrantError
from brickauth.idp_errors import ENTRA_CODES, first_sentence, from_entra, from_oauth


def entra(code: int, error: str = "invalid_client") -> dict[str, object]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: Something failed.\r\nTrace ID: abc\r\nCorrelation ID: def\r\n"
        "Timestamp: 2024-01-01 00:00:00Z",
        "error_codes": [code],
        "trace_id": "abc",
        "correlation_id": "def",
    }


@pytest.mark.parametrize(
    ("code", "cls", "ba"),
    [
        (700016, InvalidClientError, "BA210"),
        (7000215, InvalidClientError, "BA211"),
        (7000222, InvalidClientError, "BA212"),
        (7000218, InvalidClientError, "BA213"),
        (90002, IdentityProviderError, "BA214"),
        (900023, IdentityProviderError, "BA215"),
        (500011, IdentityProviderError, "BA216"),
        (70011, IdentityProviderError, "BA217"),
        (50034, IdentityProviderError, "BA218"),
        (50126, IdentityProviderError, "BA219"),
        (700082, InvalidGrantError, "BA220"),
        (50173, InvalidGrantError, "BA221"),
        (700024, InvalidClientError, "BA222"),
    ],
)
def test_common_entra_codes(code: int, cls: type[IdentityProviderError], ba: str) -> None:
    err = from_entra(entra(code))
    assert type(err) is cls and err.code == ba
    assert err.idp_error_codes == (code,) and not err.transient
    text = str(err)
    assert f"AADSTS{code}" in text and "Fix: " in text and "\n" not in text and "Trace ID" not in text


def test_every_known_code_has_cause_and_fix() -> None:
    for known in ENTRA_CODES.values():
        assert known.cause and known.fix.endswith(".") and known.code.startswith("BA2")


def test_code_read_from_description_when_codes_missing() -> None:
    err = from_entra({"error": "invalid_request", "error_description": "AADSTS900023: Specified tenant ..."})
    assert err.code == "BA215"


def test_unknown_entra_code_keeps_first_sentence() -> None:
    err = from_entra(entra(12345, "invalid_grant"))
    assert isinstance(err, InvalidGrantError) and err.code == "BA202"
    assert "AADSTS12345: Something failed." in str(err) and "doctor explain AADSTS12345" in str(err)


def test_transient_entra_error() -> None:
    err = from_entra({"error": "temporarily_unavailable", "error_description": "try later"})
    assert err.transient and err.code == "BA209"


@pytest.mark.parametrize(
    ("body", "status", "cls", "code", "transient"),
    [
        (
            {"error": "invalid_client", "error_description": "Client authentication failed"},
            401,
            InvalidClientError,
            "BA240",
            False,
        ),
        ({"error": "invalid_grant"}, 400, InvalidGrantError, "BA241", False),
        # Databricks' answer to a dead refresh token (databricks/cli#667): sign in again.
        (
            {"error": "invalid_request", "error_description": "Refresh token is invalid"},
            400,
            InvalidGrantError,
            "BA241",
            False,
        ),
        ({"error": "invalid_request", "error_description": "Missing code_verifier"}, 400,
         IdentityProviderError, "BA245", False),
        ({"error": "invalid_scope"}, 400, IdentityProviderError, "BA242", False),
        ({"error": "weird_error", "error_description": "x"}, 400, IdentityProviderError, "BA249", False),
        ({}, 503, IdentityProviderError, "BA250", True),
        ("<html>busy</html>", 429, IdentityProviderError, "BA250", True),
        ("<html>Not found</html>", 404, IdentityProviderError, "BA247", False),
        ("", 403, IdentityProviderError, "BA248", False),
    ],
)
def test_databricks_oauth_errors(
    body: object, status: int, cls: type[IdentityProviderError], code: str, transient: bool
) -> None:
    err = from_oauth(body, status)  # type: ignore[arg-type]
    assert type(err) is cls and err.code == code and err.transient is transient
    assert "\n" not in str(err) and "Fix: " in str(err)


def test_first_sentence() -> None:
    assert first_sentence("AADSTS1: a b.\r\nTrace ID: x") == "AADSTS1: a b."
    assert first_sentence("AADSTS1: a b. Trace ID: x Correlation ID: y") == "AADSTS1: a b."
