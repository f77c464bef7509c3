"""Token formats, checksums and HMAC signatures (shared/tokens.py)."""

from __future__ import annotations

import collections
import string

import pytest

from shared.tokens import (
    SECRET_PATTERN,
    ParsedToken,
    Signer,
    _random_b62,
    check_client_secret_format,
    is_client_id,
    mint,
    mint_access_and_refresh,
    mint_client_secret,
    new_client_id,
    new_family_id,
    parse,
)

BASE62 = set(string.digits + string.ascii_letters)
ALPHABET_62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
FAMILY = "0123456789ABCDEF"
SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"
# Known answers, computed independently with binascii.crc32 and a separate base62 encoder.
GOLDEN_AT = f"mavio_at_{FAMILY}{SECRET}39x9Uv"
GOLDEN_RT = f"mavio_rt_{FAMILY}{SECRET}16Ugzu"
GOLDEN_CODE = f"mavio_code_{FAMILY}{SECRET}0Ficev"  # CRC < 62**5: checksum is left-padded with "0"
GOLDEN_CS = "mavio_cs_" + "0" * 40 + "0ob98g"


def _swap(text: str, i: int) -> str:
    """``text`` with the character at ``i`` replaced by a different base62 character."""
    return text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1 :]


# --- minting ------------------------------------------------------------------------------------------


def test_new_family_id_is_16_base62_chars() -> None:
    family = new_family_id()
    assert len(family) == 16
    assert set(family) <= BASE62


@pytest.mark.parametrize(
    ("kind", "prefix", "length"),
    [("at", "mavio_at_", 63), ("rt", "mavio_rt_", 63), ("code", "mavio_code_", 65)],
)
def test_mint_layout_and_round_trip(kind: str, prefix: str, length: int) -> None:
    family = new_family_id()
    token = mint(kind, family)  # type: ignore[arg-type]
    assert token.startswith(prefix)
    assert len(token) == length
    assert token[len(prefix) : len(prefix) + 16] == family
    assert set(token[len(prefix) :]) <= BASE62
    assert parse(token) == ParsedToken(kind, family)
    assert parse(token, kind) == ParsedToken(kind, family)


def test_thousand_mints_are_unique_and_share_the_family() -> None:
    family = new_family_id()
    minted = [mint(kind, family) for kind in ("at", "rt", "code") for _ in range(1000)]
    assert len(set(minted)) == 3000
    assert {parse(t).family for t in minted} == {family}  # type: ignore[union-attr]
    secrets_part = {t[-38:-6] for t in minted}
    assert len(secrets_part) == 3000
    # 96,000 random characters: every base62 symbol shows up (miss probability ~ e^-1500).
    assert set("".join(secrets_part)) == BASE62


def test_a_pair_from_one_read_is_two_independent_tokens_of_the_family() -> None:
    family = new_family_id()
    pairs = [mint_access_and_refresh(family) for _ in range(1000)]
    assert {(parse(a, "at"), parse(r, "rt")) for a, r in pairs} == {
        (ParsedToken("at", family), ParsedToken("rt", family))
    }
    secrets_part = {t[-38:-6] for pair in pairs for t in pair}
    assert len(secrets_part) == 2000  # no pair shares its halves, no two pairs anything
    assert set("".join(secrets_part)) == BASE62
    with pytest.raises(ValueError):
        mint_access_and_refresh(FAMILY[:-1])


def test_family_ids_are_unique() -> None:
    assert len({new_family_id() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    ("kind", "family"),
    [
        ("cs", FAMILY),
        ("access", FAMILY),
        ("at", FAMILY[:-1]),
        ("at", FAMILY + "0"),
        ("at", "0123456789ABCDE_"),
        ("at", "0123456789ABCDEé"),
        ("at", "{0123456789ABCD}"),
    ],
)
def test_mint_rejects_bad_kind_or_family(kind: str, family: str) -> None:
    with pytest.raises(ValueError):
        mint(kind, family)  # type: ignore[arg-type]


# --- parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (GOLDEN_AT, ParsedToken("at", FAMILY)),
        (GOLDEN_RT, ParsedToken("rt", FAMILY)),
        (GOLDEN_CODE, ParsedToken("code", FAMILY)),
    ],
)
def test_parse_golden_tokens(token: str, expected: ParsedToken) -> None:
    assert parse(token) == expected
    assert parse(token, expected.kind) == expected


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        (GOLDEN_RT, "at"),  # a refresh token presented where an access token is expected
        (GOLDEN_AT, "rt"),
        (GOLDEN_AT, "code"),
        (GOLDEN_CODE, "at"),
    ],
)
def test_parse_rejects_other_kind(token: str, kind: str) -> None:
    assert parse(token, kind) is None


MALFORMED = [
    pytest.param("", id="empty"),
    pytest.param("mavio_", id="bare-prefix"),
    pytest.param("mavio_at_", id="prefix-only"),
    pytest.param(GOLDEN_AT[:-1], id="truncated"),
    pytest.param(GOLDEN_AT[:-6], id="no-checksum"),
    pytest.param(GOLDEN_AT + "0", id="extra-char"),
    pytest.param(" " + GOLDEN_AT, id="leading-space"),
    pytest.param(GOLDEN_AT + "\n", id="trailing-newline"),
    pytest.param("mavio_rt" + GOLDEN_AT[8:], id="kind-relabelled-at-to-rt"),
    pytest.param("mavio_xx" + GOLDEN_AT[8:], id="unknown-kind"),
    pytest.param("mavio_cs" + GOLDEN_AT[8:], id="cs-kind"),
    pytest.param("MAVIO_AT" + GOLDEN_AT[8:], id="uppercase-prefix"),
    pytest.param("mavio-at-" + GOLDEN_AT[9:], id="dashes"),
    pytest.param("xavio_at_" + GOLDEN_AT[9:], id="wrong-vendor"),
    pytest.param("mavio_at_" + FAMILY + SECRET[:-1] + "é" + "39x9Uv", id="unicode-letter"),
    pytest.param("mavio_at_" + FAMILY + SECRET[:-1] + "٣" + "39x9Uv", id="arabic-digit"),
    pytest.param("mavio_at_" + FAMILY + SECRET[:-1] + "\uff21" + "39x9Uv", id="fullwidth-letter"),
    pytest.param("mavio_at_" + FAMILY + SECRET[:-1] + "_" + "39x9Uv", id="underscore-in-body"),
    pytest.param("mavio_at_" + FAMILY + SECRET[:-1] + "-" + "39x9Uv", id="dash-in-body"),
    pytest.param(GOLDEN_AT[:-6] + "39x9UV", id="checksum-case"),
    pytest.param(GOLDEN_AT[:-6] + "000000", id="zero-checksum"),
    pytest.param(GOLDEN_CS, id="client-secret"),
    pytest.param("mavio_client_" + FAMILY, id="client-id"),
]


@pytest.mark.parametrize("token", MALFORMED)
def test_parse_rejects_malformed(token: str) -> None:
    assert parse(token) is None
    for kind in ("at", "rt", "code"):
        assert parse(token, kind) is None


@pytest.mark.parametrize("value", [None, 42, b"mavio_at_x", GOLDEN_AT.encode(), [GOLDEN_AT]])
def test_parse_rejects_non_str(value: object) -> None:
    assert parse(value) is None  # type: ignore[arg-type]
    assert parse(value, "at") is None  # type: ignore[arg-type]


@pytest.mark.parametrize("token", [GOLDEN_AT, GOLDEN_RT, GOLDEN_CODE])
def test_every_single_character_change_is_rejected(token: str) -> None:
    rejected = [parse(_swap(token, i)) is None for i in range(len(token))]
    assert rejected == [True] * len(token)


def test_adjacent_transposition_is_rejected() -> None:
    body_start = len("mavio_at_")
    for i in range(body_start, len(GOLDEN_AT) - 1):
        a, b = GOLDEN_AT[i], GOLDEN_AT[i + 1]
        if a != b:
            swapped = GOLDEN_AT[:i] + b + a + GOLDEN_AT[i + 2 :]
            assert parse(swapped) is None, i


@pytest.mark.parametrize("kind", ["cs", "access", "", "AT"])
def test_parse_with_unknown_kind_argument_is_a_programming_error(kind: str) -> None:
    with pytest.raises(ValueError):
        parse(GOLDEN_AT, kind)


# --- client secrets and ids ---------------------------------------------------------------------------


def test_client_secret_layout_and_format_check() -> None:
    minted = [mint_client_secret() for _ in range(1000)]
    assert len(set(minted)) == 1000
    for secret in minted[:50]:
        assert secret.startswith("mavio_cs_")
        assert len(secret) == 9 + 40 + 6
        assert set(secret[9:]) <= BASE62
        assert check_client_secret_format(secret) is True
        assert parse(secret) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (GOLDEN_CS, True),
        (GOLDEN_CS[:-1], False),
        (GOLDEN_CS + "0", False),
        (GOLDEN_CS[:-6] + "0ob98G", False),
        ("mavio_cs_" + "1" + "0" * 39 + "0ob98g", False),
        ("mavio_cs_" + "0" * 39 + "é" + "0ob98g", False),
        ("mavio_at" + GOLDEN_CS[8:], False),
        (GOLDEN_AT, False),
        ("", False),
        (None, False),
        (b"mavio_cs_", False),
    ],
)
def test_check_client_secret_format(value: str, expected: bool) -> None:
    assert check_client_secret_format(value) is expected


def test_every_single_character_change_of_a_client_secret_is_rejected() -> None:
    assert [check_client_secret_format(_swap(GOLDEN_CS, i)) for i in range(len(GOLDEN_CS))] == [False] * len(
        GOLDEN_CS
    )


def test_new_client_id() -> None:
    ids = {new_client_id() for _ in range(1000)}
    assert len(ids) == 1000
    for client_id in list(ids)[:50]:
        assert client_id.startswith("mavio_client_")
        assert len(client_id) == 13 + 16
        assert is_client_id(client_id) is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mavio_client_" + FAMILY, True),
        ("mavio_client_" + FAMILY[:-1], False),
        ("mavio_client_" + FAMILY + "0", False),
        ("mavio_client_" + FAMILY[:-1] + "-", False),
        ("mavio_client_" + FAMILY[:-1] + "é", False),
        ("MAVIO_CLIENT_" + FAMILY, False),
        ("mavio_cs_" + FAMILY, False),
        ("", False),
        (None, False),
    ],
)
def test_is_client_id(value: str, expected: bool) -> None:
    assert is_client_id(value) is expected


# --- redaction pattern --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOLDEN_AT, True),
        (GOLDEN_RT, True),
        (GOLDEN_CODE, True),
        (GOLDEN_CS, True),
        (f"Authorization: Bearer {GOLDEN_AT}", True),
        (f'{{"refresh_token": "{GOLDEN_RT}"}}', True),
        (f"/cb?code={GOLDEN_CODE}&state=xyz", True),
        (GOLDEN_AT[:-10], True),  # truncated leaks are still redacted
        ("mavio_at_" + FAMILY, True),
        ("mavio_at_" + FAMILY[:-1], False),
        ("mavio_client_" + FAMILY, False),
        ("the mavio_at_ prefix marks access tokens", False),
        ("", False),
    ],
)
def test_secret_pattern_finds_every_secret_shape(text: str, expected: bool) -> None:
    """The redactor's pattern (``shared.logging.redact_text``); was ``looks_like_secret``, which had no
    caller left."""
    assert (SECRET_PATTERN.search(text) is not None) is expected


def test_secret_pattern_redacts_every_secret_in_a_line() -> None:
    line = f"at={GOLDEN_AT} rt={GOLDEN_RT} cs={GOLDEN_CS} client=mavio_client_{FAMILY}"
    redacted = SECRET_PATTERN.sub(lambda m: f"mavio_{m[1]}_[REDACTED]", line)
    assert redacted == (
        f"at=mavio_at_[REDACTED] rt=mavio_rt_[REDACTED] cs=mavio_cs_[REDACTED] client=mavio_client_{FAMILY}"
    )


# --- signatures ---------------------------------------------------------------------------------------

KEY_A = b"a" * 32
KEY_B = b"b" * 32


def test_sign_matches_rfc4231_test_case_6() -> None:
    signer = Signer(b"\xaa" * 131)
    assert (
        signer.sign("Test Using Larger Than Block-Size Key - Hash Key First")
        == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )


def test_signature_shape_and_determinism() -> None:
    signature = Signer(KEY_A).sign(GOLDEN_AT)
    assert len(signature) == 64
    assert set(signature) <= set("0123456789abcdef")
    assert Signer(KEY_A).sign(GOLDEN_AT) == signature
    assert GOLDEN_AT not in signature


def test_signatures_differ_by_key_and_by_token() -> None:
    assert Signer(KEY_A).sign(GOLDEN_AT) != Signer(KEY_B).sign(GOLDEN_AT)
    assert Signer(KEY_A).sign(GOLDEN_AT) != Signer(KEY_A).sign(GOLDEN_RT)


def test_matches() -> None:
    signer = Signer(KEY_A)
    signature = signer.sign(GOLDEN_AT)
    assert signer.matches(GOLDEN_AT, signature) is True
    assert signer.matches(GOLDEN_RT, signature) is False
    assert Signer(KEY_B).matches(GOLDEN_AT, signature) is False
    assert signer.matches(GOLDEN_AT, signature.upper()) is False
    assert signer.matches(GOLDEN_AT, signature[:-1]) is False
    assert signer.matches(GOLDEN_AT, _swap(signature, 0)) is False
    assert signer.matches(GOLDEN_AT, "") is False
    assert signer.matches(GOLDEN_AT, signature[:-1] + "é") is False
    assert signer.matches(GOLDEN_AT, None) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"", b"k" * 31])
def test_signer_rejects_short_keys(key: bytes) -> None:
    with pytest.raises(ValueError):
        Signer(key)


def test_signer_rejects_str_keys_and_hides_its_key() -> None:
    with pytest.raises(TypeError):
        Signer("k" * 32)  # type: ignore[arg-type]
    assert Signer(b"k" * 32).sign("x")
    assert "k" * 32 not in repr(Signer(b"k" * 32))


class _Bytes:
    """A scripted random source: hands out the given bytes in order, and counts what was asked."""

    def __init__(self, data: bytes) -> None:
        self.data, self.asked = data, []

    def __call__(self, n: int) -> bytes:
        self.asked.append(n)
        out, self.data = self.data[:n], self.data[n:]
        return out


def test_random_digits_map_each_accepted_byte_to_its_residue_and_drop_the_rest() -> None:
    source = _Bytes(bytes(range(256)))
    digits = _random_b62(248, source)  # every byte value once: 0..247 kept, 248..255 dropped
    assert digits == ALPHABET_62 * 4
    assert source.asked == [256]  # 248 + 8 spare: enough, no top-up


def test_random_digits_top_up_when_too_many_bytes_are_dropped() -> None:
    source = _Bytes(bytes([255] * 10 + [1] * 40) + bytes([61, 62, 123, 247]))
    assert _random_b62(32, source) == "1" * 32
    assert source.asked == [40, 10]  # 30 kept of the first 40; 2 short (+8 spare) drawn again


def test_random_digits_are_uniform_over_the_alphabet() -> None:
    """Counted over all 248 accepted byte values: each digit stands for exactly four of them."""
    counts = collections.Counter(_random_b62(248, _Bytes(bytes(range(248)) + b"\0" * 8)))
    assert set(counts) == BASE62 and set(counts.values()) == {4}
