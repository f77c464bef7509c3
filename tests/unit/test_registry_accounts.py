"""Account rules and password hashing (argon2id), pure."""

from __future__ import annotations

import pytest

from shared.accounts.passwords import Passwords
from shared.accounts.records import (
    AccountRecord,
    check_new_account,
    email_problem,
    new_user_id,
    normalise_email,
)
from shared.errors import ValidationFailed


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords()


def test_user_ids_are_prefixed_and_random() -> None:
    ids = {new_user_id() for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("usr_") and len(i) == 20 and i[4:].isalnum() for i in ids)


def test_emails_compare_case_insensitively() -> None:
    assert normalise_email("  Ada@Example.COM ") == "ada@example.com"


@pytest.mark.parametrize(
    "email", ["", "ada", "ada@", "@example.com", "ada@localhost", "a da@example.com", "a@b."]
)
def test_bad_emails(email: str) -> None:
    assert email_problem(email) is not None


def test_every_bad_field_is_named() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_new_account(email="x", name="", plan="enterprise", password="1234567")
    assert set(caught.value.fields) == {"email", "name", "plan", "password"}
    check_new_account(email="ada@example.com", name="Ada", plan="business", password="12345678")


def test_passwords_are_argon2id_and_verify(passwords: Passwords) -> None:
    hashed = passwords.hash("correct horse")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert passwords.verify(hashed, "correct horse")
    assert not passwords.verify(hashed, "wrong horse")
    assert not passwords.verify("not a hash", "correct horse")
    assert not passwords.needs_rehash(hashed) and passwords.needs_rehash("garbage")


def test_unknown_account_is_never_a_match(passwords: Passwords) -> None:
    assert not passwords.verify(None, "")
    assert not passwords.verify(None, "anything")


def test_view_hides_the_password_hash() -> None:
    rec = AccountRecord(id="usr_x", email="a@b.co", name="A", plan="free", password="$argon2id$...")
    assert "password" not in rec.view().__struct_fields__
