from __future__ import annotations

import base64
import re

import pytest

from brickauth.oauth.pkce import PKCEPair, challenge_s256, new_state, new_verifier


def test_rfc7636_appendix_b_vector() -> None:
    octets = bytes([116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
                    77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121])
    verifier = base64.urlsafe_b64encode(octets).rstrip(b"=").decode()
    assert verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_generated_verifiers_are_valid_unique_and_hidden() -> None:
    pairs = [PKCEPair.generate() for _ in range(50)]
    verifiers = {p.verifier.reveal() for p in pairs}
    assert len(verifiers) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", v) for v in verifiers)
    assert all(challenge_s256(p.verifier.reveal()) == p.challenge for p in pairs)
    assert pairs[0].verifier.reveal() not in repr(pairs[0])
    assert len(new_verifier(96)) == 128 and new_state() != new_state()


@pytest.mark.parametrize("bad", ["short", "x" * 129, "a" * 42 + "!", "ü" * 43])
def test_invalid_verifiers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        challenge_s256(bad)
