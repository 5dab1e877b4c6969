from __future__ import annotations

import re
import string

import pytest

from osuite.core.security import (
    code_digest,
    hash_secret,
    new_code,
    new_token,
    token_digest,
    verify_secret,
)


@pytest.mark.parametrize("secret", ["1234", "correct horse battery staple", "пароль", "", "$scrypt$"])
def test_a_hashed_secret_verifies(secret: str) -> None:
    stored = hash_secret(secret)
    assert verify_secret(secret, stored)
    assert secret not in stored.split("$")[4:]


def test_a_wrong_secret_fails() -> None:
    stored = hash_secret("1234")
    for wrong in ["1235", "12345", "123", "", " 1234", "1234 "]:
        assert not verify_secret(wrong, stored)


def test_hashes_are_salted_and_self_describing() -> None:
    first, second = hash_secret("1234"), hash_secret("1234")
    assert first != second
    assert first.startswith("scrypt$16384$8$1$")
    assert verify_secret("1234", first)
    assert verify_secret("1234", second)


def test_a_tampered_hash_fails() -> None:
    stored = hash_secret("1234")
    *head, digest = stored.split("$")
    flipped = ("B" if digest[0] == "A" else "A") + digest[1:]
    assert not verify_secret("1234", "$".join([*head, flipped]))
    scheme, n, r, p, salt, digest = stored.split("$")
    other_salt = ("B" if salt[0] == "A" else "A") + salt[1:]
    assert not verify_secret("1234", "$".join([scheme, n, r, p, other_salt, digest]))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "1234",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$AAAA",
        "scrypt$16384$8$1$AAAA$AAAA$AAAA",
        "scrypt$x$8$1$AAAA$AAAA",
        "scrypt$3$8$1$AAAA$AAAA",  # n not a power of two
        "scrypt$16384$0$1$AAAA$AAAA",
        "scrypt$-16384$8$1$AAAA$AAAA",
        "scrypt$99999999999999999999999$8$1$AAAA$AAAA",
        "scrypt$1048576$8$1$AAAA$AAAA",  # needs more memory than scrypt allows
        "scrypt$16384$8$1$!!!!$AAAA",
        "scrypt$16384$8$1$AAAA$",
        "scrypt$16384$8$1$AAAA$Ää",
    ],
)
def test_a_malformed_hash_fails_without_raising(stored: str) -> None:
    assert verify_secret("1234", stored) is False


def test_token_digest_is_stable_hex_and_tells_tokens_apart() -> None:
    token = new_token()
    digest = token_digest(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token_digest(token) == digest
    assert token_digest(token + "x") != digest
    assert token not in digest


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM-2XPD-9HTA",
        "k7qm-2xpd-9hta",
        "K7QM2XPD9HTA",
        "k7qm 2xpd 9hta",
        " K7QM - 2XPD - 9HTA\n",
        "K7Q-M2X-PD9-HTA",
    ],
)
def test_code_digest_forgives_case_spaces_and_dashes(typed: str) -> None:
    assert code_digest(typed) == code_digest("K7QM-2XPD-9HTA")


def test_code_digest_tells_codes_apart() -> None:
    assert code_digest("K7QM-2XPD-9HTA") != code_digest("K7QM-2XPD-9HTB")
    assert code_digest("K7QM-2XPD-9HTA") != code_digest("K7QM-2XPD-9HT")


def test_tokens_are_long_url_safe_and_unique() -> None:
    tokens = [new_token() for _ in range(2000)]
    assert len(set(tokens)) == len(tokens)
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for token in tokens:
        assert len(token) >= 43  # 256 bits in base64
        assert set(token) <= alphabet


def test_codes_are_readable_aloud_and_unique() -> None:
    codes = [new_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
        assert not set(code) & set("IO01")  # easily confused when read aloud or typed
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){4}", new_code(groups=5))


def test_codes_use_the_whole_alphabet() -> None:
    seen = set("".join(new_code() for _ in range(500)).replace("-", ""))
    assert seen == set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
