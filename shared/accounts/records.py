"""Mavio accounts: the record, its public view, and the rules for a new account (pure; no I/O)."""

from __future__ import annotations

import secrets

import msgspec

from shared.errors import ValidationFailed
from shared.messages.registry import AccountView
from shared.scopes import PLANS
from shared.text import has_bidi_control
from shared.tokens import ALPHABET

USER_ID_PREFIX = "usr_"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 100


class AccountRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Stored as the hash ``keys.account(id)``; ``password`` is an argon2id hash, never a password."""

    id: str
    email: str
    name: str
    plan: str
    password: str
    created_at: int = 0

    def view(self) -> AccountView:
        return AccountView(id=self.id, email=self.email, display_name=self.name, plan=self.plan)


def new_user_id() -> str:
    return USER_ID_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(16))


def normalise_email(email: str) -> str:
    """Emails are unique case-insensitively: compare and store them stripped and lowercased."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if not email:
        return "Email is required"
    if len(email) > MAX_EMAIL_LENGTH:
        return f"Email must be at most {MAX_EMAIL_LENGTH} characters"
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in email):
        return f"{email!r} is not an email address"
    if has_bidi_control(email) or not email.isprintable():
        return f"{email!r} is not an email address"
    return None


def plan_problem(plan: str) -> str | None:
    return None if plan in PLANS else f"Plan must be one of {', '.join(PLANS)} (got {plan!r})"


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be at most {MAX_PASSWORD_LENGTH} characters"
    return None


def name_problem(name: str) -> str | None:
    if not name:
        return "Name is required"
    if len(name) > MAX_NAME_LENGTH:
        return f"Name must be at most {MAX_NAME_LENGTH} characters"
    if any(not c.isprintable() for c in name):
        return "Name must not contain control characters"
    return None


def check_new_account(*, email: str, name: str, plan: str, password: str) -> None:
    """Raise ``ValidationFailed`` naming every bad field of a new account."""
    problems = {
        "email": email_problem(email),
        "name": name_problem(name),
        "plan": plan_problem(plan),
        "password": password_problem(password),
    }
    errors = {field: msg for field, msg in problems.items() if msg is not None}
    if errors:
        raise ValidationFailed(errors)
