"""``mavio-oauth``: the operator's command line.

    mavio-oauth users add EMAIL --name NAME --plan PLAN --password-stdin
    mavio-oauth users set-plan EMAIL PLAN
    mavio-oauth users revoke-access EMAIL [--app CLIENT_ID]
    mavio-oauth users list
    mavio-oauth apps list
    mavio-oauth apps audit CLIENT_ID
    mavio-oauth leak-reporters list
    mavio-oauth status [--wait SECONDS]
    mavio-oauth keys list | rotate

Talks to Redis directly (MAVIO_REDIS_URL; with neither it nor MAVIO_NATS_URL set, the running ``make run``
stack's ``stack.env``: ``services.cli.environment``) through the account and app stores (``shared.accounts``,
``shared.apps``), so it works while the services are down. ``users set-plan`` asks the registry,
which owns plan changes: it records the plan and has the user's grants narrowed to it; with the
revocation service away, the narrowing is queued (durably) and the command says it is pending (exit
0: it will be done when revocation is back). ``status`` asks the bus only (``services.cli.status``),
and so do ``keys list`` and ``keys rotate`` (the token service, the signing keys' one writer:
``services.cli.keys``).
With the bus or
the registry down the plan is recorded here and the command says the grants were NOT narrowed and
exits 1 (running it again once the services are up is safe). Errors are one line on stderr; exit
status 1 for a refused operation, 2 for bad usage or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import sys
from collections.abc import Sequence

import redis.exceptions

from services.cli.connect import connect_bus
from services.cli.environment import cli_settings, where_looked
from services.cli.status import DEFAULT_WAIT, bus_status, render
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.apps.store import AppStore, RedisAppStore
from shared.bus import Bus
from shared.config import ConfigError, Settings
from shared.errors import OAuthError, TemporarilyUnavailable, ValidationFailed
from shared.messages.events import OPERATOR
from shared.messages.registry import SetPlanReply
from shared.registry_client import RegistryClient
from shared.scopes import PLANS
from shared.stack_file import StackNotRunning
from shared.store import open_redis


class CliError(Exception):
    """A one-line message for stderr; the command exits with status 1 (after printing ``output``)."""

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mavio-oauth", description="Operate a Mavio OAuth deployment.")
    groups = parser.add_subparsers(
        dest="group", required=True, metavar="{users,apps,keys,leak-reporters,status}"
    )
    users = groups.add_parser("users", help="Mavio accounts").add_subparsers(dest="command", required=True)
    add = users.add_parser("add", help="create an account")
    add.add_argument("email")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--plan", required=True, choices=PLANS)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    set_plan = users.add_parser("set-plan", help="change an account's plan")
    set_plan.add_argument("email")
    set_plan.add_argument("plan", choices=PLANS)
    revoke = users.add_parser("revoke-access", help="end a user's access to every app, or to one")
    revoke.add_argument("email")
    revoke.add_argument("--app", default="", metavar="CLIENT_ID", help="only this app")
    users.add_parser("list", help="list accounts")
    apps = groups.add_parser("apps", help="OAuth apps").add_subparsers(dest="command", required=True)
    apps.add_parser("list", help="list every registered app")
    audit = apps.add_parser("audit", help="an app's audit trail, oldest first (from the bus)")
    audit.add_argument("client_id")
    keys = groups.add_parser("keys", help="OpenID Connect signing keys").add_subparsers(
        dest="command", required=True
    )
    keys.add_parser("list", help="the signing keys: current, next, retired (key ids only)")
    keys.add_parser("rotate", help="make each next key current on every token replica; make new next keys")
    reporters = groups.add_parser("leak-reporters", help="trusted secret-scanning reporters")
    reporters.add_subparsers(dest="command", required=True).add_parser(
        "list", help="the reporters' keys (MAVIO_LEAK_REPORTER_KEYS_FILE or _URL)"
    )
    status = groups.add_parser("status", help="the services and replicas answering on the bus")
    status.add_argument(
        "--wait", type=_seconds, default=DEFAULT_WAIT, metavar="SECONDS", help="collection window (1)"
    )
    status.set_defaults(command="")
    return parser


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {raw!r}") from None
    if not 0.05 <= value <= 60:
        raise argparse.ArgumentTypeError(f"expected 0.05 to 60 seconds, got {raw}")
    return value


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.read()
        return password[:-1] if password.endswith("\n") else password
    if not sys.stdin.isatty():
        raise CliError("pass --password-stdin to read the password from standard input")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise CliError("the passwords do not match")
    return first


def _describe(exc: OAuthError) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(exc.fields.values())
    return exc.description or exc.error


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


async def _ask_registry(settings: Settings, user_id: str, plan: str) -> SetPlanReply:
    """The registry's plan change: it records the plan and has the grants narrowed (idempotent)."""
    nc = await connect_bus(settings)
    try:
        return await RegistryClient(Bus(nc, timeout=max(settings.bus_timeout, 10.0))).set_plan(
            user_id, plan, actor=OPERATOR
        )
    finally:
        await nc.close()


def _not_narrowed(changed: str, why: str) -> CliError:
    return CliError(
        f"{changed}, but existing grants were NOT narrowed ({why}); "
        "run the same command again once the services are running"
    )


async def _set_plan(accounts: AccountService, settings: Settings, email: str, plan: str) -> str:
    """Ask the registry to change the plan; with it out of reach, record the plan here and say so."""
    account = await accounts.by_email(email)
    try:
        reply = await _ask_registry(settings, account.id, plan)
    except TemporarilyUnavailable as exc:
        view, previous = await accounts.set_plan(email, plan)
        raise _not_narrowed(f"{view.email}: plan {previous} -> {view.plan}", exc.description) from None
    changed = f"{reply.account.email}: plan {reply.previous_plan} -> {reply.account.plan}"
    if reply.pending:
        queued = "queued for the revocation service, done when it is back"
        return f"{changed}; existing grants NOT narrowed yet: pending ({queued})"
    if reply.narrowed is None:
        raise _not_narrowed(changed, "the revocation service did not answer")
    narrowed = reply.narrowed
    return (
        f"{changed}; grants narrowed: {narrowed.grants_narrowed}, grants revoked: {narrowed.grants_revoked}"
    )


async def _status(settings: Settings, wait: float) -> str:
    found = await bus_status(settings, wait)
    output = render(found, _table)
    if found.missing:
        raise CliError(f"no replica of {', '.join(found.missing)} answered", output=output)
    return output


async def _run(args: argparse.Namespace, settings: Settings) -> str:
    if args.group == "status":
        return await _status(settings, args.wait)
    if args.group == "keys":
        from services.cli.keys import signing_keys

        return await signing_keys(settings, args.command, _table)
    if args.group == "leak-reporters":
        from services.cli.leak_reporters import list_reporters
        from shared.leak_reporters import KeyListError

        try:
            return await list_reporters(settings, _table)
        except KeyListError as exc:
            raise CliError(str(exc)) from None
    if (args.group, args.command) == ("apps", "audit"):
        from services.cli.audit import audit_trail

        return await audit_trail(settings, args.client_id)
    async with open_redis(settings) as redis:
        accounts = AccountService(RedisAccountStore(redis), Passwords())
        match (args.group, args.command):
            case ("users", "add"):
                password = _read_password(args.password_stdin)
                view = await accounts.create(
                    email=args.email, name=args.name, plan=args.plan, password=password
                )
                return f"created {view.id} {view.email} ({view.plan})"
            case ("users", "set-plan"):
                return await _set_plan(accounts, settings, args.email, args.plan)
            case ("users", "revoke-access"):
                from services.cli.access import revoke_access

                account = await accounts.by_email(args.email)
                return await revoke_access(settings, account.id, account.email, args.app)
            case ("users", "list"):
                rows = [(a.id, a.email, a.plan, a.display_name) for a in await accounts.all()]
                return _table(rows, ("ID", "EMAIL", "PLAN", "NAME"))
            case ("apps", "list"):
                return await _apps_table(RedisAppStore(redis), accounts)
    raise CliError(f"unknown command {args.group} {args.command}")


async def _apps_table(apps_store: AppStore, accounts: AccountService) -> str:
    emails = {a.id: a.email for a in await accounts.all()}
    rows = [
        (
            r.client_id,
            r.name,
            emails.get(r.owner_id, r.owner_id),
            dt.datetime.fromtimestamp(r.created_at, dt.UTC).strftime("%Y-%m-%d"),
        )
        for r in await apps_store.all()
    ]
    return _table(rows, ("CLIENT ID", "NAME", "OWNER", "CREATED"))


def _then(hint: str) -> str:
    return f"; {hint}" if hint else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = cli_settings()
    except ConfigError as exc:
        print(f"mavio-oauth: configuration error: {exc}", file=sys.stderr)
        return 2
    except StackNotRunning as exc:
        print(f"mavio-oauth: error: {exc}", file=sys.stderr)
        return 1
    try:
        output = asyncio.run(_run(args, settings))
    except CliError as exc:
        if exc.output:
            print(exc.output)
        print(f"mavio-oauth: error: {exc}", file=sys.stderr)
        return 1
    except OAuthError as exc:
        hint = where_looked() if isinstance(exc, TemporarilyUnavailable) else ""
        print(f"mavio-oauth: error: {_describe(exc)}{_then(hint)}", file=sys.stderr)
        return 1
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
        reach = f"cannot reach Redis at {settings.redis_url}: {exc}"
        print(f"mavio-oauth: error: {reach}{_then(where_looked())}", file=sys.stderr)
        return 1
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
