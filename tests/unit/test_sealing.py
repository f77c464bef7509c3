"""shared.sealing: values sealed under MAVIO_KEY_ENCRYPTION_KEY open only with that key and purpose."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, load_settings
from shared.sealing import Sealer, SealError

KEY = b"k" * 40


def test_a_sealed_value_opens_with_its_key_and_purpose() -> None:
    sealed = Sealer(KEY).seal(b"whsec_secret", purpose="webhook:app1")
    assert b"whsec_secret" not in sealed.encode()
    assert Sealer(KEY).open(sealed, purpose="webhook:app1") == b"whsec_secret"


def test_each_seal_is_fresh() -> None:
    sealer = Sealer(KEY)
    assert sealer.seal(b"x", purpose="p") != sealer.seal(b"x", purpose="p")


@pytest.mark.parametrize(
    ("key", "purpose"), [(b"o" * 40, "webhook:app1"), (KEY, "webhook:app2"), (KEY, "jwk:app1")]
)
def test_another_key_or_purpose_does_not_open(key: bytes, purpose: str) -> None:
    sealed = Sealer(KEY).seal(b"secret", purpose="webhook:app1")
    with pytest.raises(SealError):
        Sealer(key).open(sealed, purpose=purpose)


@pytest.mark.parametrize("damaged", ["", "v1.", "v1.AAAA", "v2.abc", "v1.!!!!", "plain text"])
def test_damaged_values_are_refused(damaged: str) -> None:
    with pytest.raises(SealError):
        Sealer(KEY).open(damaged, purpose="p")


def test_a_flipped_byte_is_refused() -> None:
    sealed = Sealer(KEY).seal(b"secret", purpose="p")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealError):
        Sealer(KEY).open(flipped, purpose="p")


def test_short_key_material_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer(b"short")


def test_repr_shows_no_key() -> None:
    assert "k" * 10 not in repr(Sealer(KEY))


def test_production_requires_the_key_encryption_key() -> None:
    env = {"MAVIO_ENV": "production", "MAVIO_TOKEN_HMAC_KEY": "h" * 40}
    with pytest.raises(ConfigError, match="MAVIO_KEY_ENCRYPTION_KEY: required"):
        load_settings(env)
    settings = load_settings({**env, "MAVIO_KEY_ENCRYPTION_KEY": "e" * 40})
    assert settings.encryption_key == b"e" * 40


@pytest.mark.parametrize("raw", ["", "short"])
def test_a_short_key_encryption_key_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="MAVIO_KEY_ENCRYPTION_KEY"):
        load_settings({"MAVIO_KEY_ENCRYPTION_KEY": raw})
