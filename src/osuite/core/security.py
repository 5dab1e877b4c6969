"""Secrets at rest: client tokens, enrollment codes, passwords and PINs are stored only as hashes.

Tokens and codes are long random strings, so a single SHA-256 is enough and lets the server find the
owner by the hash. Passwords and PINs are short and guessable, so they get salted scrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def new_token() -> str:
    """A bearer token with 256 bits of randomness, URL-safe."""
    return secrets.token_urlsafe(32)


def new_code(groups: int = 3) -> str:
    """A one-time enrollment code a person can read aloud and type: ``K7QM-2XPD-9HTA``."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(groups))


def token_digest(token: str) -> str:
    """The stored form of a bearer token: hex SHA-256, so the owner can be found by it."""
    return hashlib.sha256(token.encode()).hexdigest()


def code_digest(code: str) -> str:
    """The stored form of an enrollment code, forgiving case, spaces and dashes as people type them."""
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def hash_secret(secret: str) -> str:
    """Salted scrypt of a password or PIN, self-describing: ``scrypt$N$r$p$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)])


def verify_secret(secret: str, stored: str) -> bool:
    """True when ``secret`` is the one ``stored`` was made from; False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
