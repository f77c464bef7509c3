"""Revocation's commands: the work other services hand it through the durable JetStream work queue
``MAVIO_COMMANDS`` (``shared.commands``), never through broadcast events. A tagged union; within ``v1``
only additive changes."""

from __future__ import annotations

import msgspec


class _Command(msgspec.Struct, tag_field="kind", frozen=True, kw_only=True):
    actor: str = ""  # who caused it, for the audit trail: a user id, ``billing``, ``operator``


class RevokeApp(_Command, tag="app.revoke", frozen=True, kw_only=True):
    """Revoke every code and token of the app: it was deleted (``app_deleted``) or its owner asked
    (``app_revoke_all``). Answered with ``RevokeAppReply``."""

    client_id: str
    reason: str


class NarrowToPlan(_Command, tag="plan.narrow", frozen=True, kw_only=True):
    """The account now has ``plan``: narrow every grant of the user to it. Answered with
    ``PlanChangedReply``."""

    user_id: str
    plan: str


Command = RevokeApp | NarrowToPlan


class CommandEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """One message of the queue. ``reply_to``: the inbox of the sender waiting for the outcome (it may
    have stopped waiting: the command is carried out all the same)."""

    command: Command
    reply_to: str = ""
    request_id: str = ""
