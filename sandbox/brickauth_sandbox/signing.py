"""RS256 signing keys for the sandbox's identity providers (Entra and Databricks OIDC)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    private_key: rsa.RSAPrivateKey = field(repr=False)
    kid: str

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        n = key.public_key().public_numbers().n
        kid = _b64u(hashlib.sha1(n.to_bytes(256, "big")).digest())
        return cls(private_key=key, kid=kid)

    def sign(self, claims: dict[str, Any], *, typ: str = "JWT") -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, "typ": typ})

    def jwk(self) -> dict[str, Any]:
        nums = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64u(nums.n.to_bytes(256, "big")),
            "e": _b64u(nums.e.to_bytes(3, "big")),
            "alg": "RS256",
        }

    def verify(
        self, token: str, *, audience: str | list[str] | None, issuer: str | None, leeway: float = 0
    ) -> dict[str, Any]:
        """Decode and verify; raises ``jwt.InvalidTokenError`` subclasses."""
        options = {"verify_aud": audience is not None, "verify_iss": issuer is not None}
        claims: dict[str, Any] = jwt.decode(
            token,
            self.private_key.public_key(),
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options=options,  # type: ignore[arg-type]
        )
        return claims
