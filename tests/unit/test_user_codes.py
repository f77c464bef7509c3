"""RFC 8628 §6.1 user codes: the alphabet, the shape, and every accepted way of typing one."""

from __future__ import annotations

import re

import pytest

from shared.user_codes import ALPHABET, new_user_code, normalise, shown


def test_new_codes_are_two_groups_of_four_without_vowels() -> None:
    codes = {new_user_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", code)
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)  # every letter in use


@pytest.mark.parametrize(
    "typed", ["WDJB-MJHT", "wdjb-mjht", "WDJBMJHT", "wdjbmjht", " WDJB MJHT ", "Wd-Jb-Mj-Ht"]
)
def test_every_way_of_typing_a_code_gives_the_same_code(typed: str) -> None:
    assert normalise(typed) == "WDJBMJHT"
    assert shown("WDJBMJHT") == "WDJB-MJHT"


@pytest.mark.parametrize(
    "typed", ["", "WDJB-MJH", "WDJB-MJHTX", "WAJB-MJHT", "WDJB-MJH1", "W" * 40, "\u0412DJB-MJHT"]
)
def test_what_cannot_be_a_code_is_refused(typed: str) -> None:
    assert normalise(typed) is None
