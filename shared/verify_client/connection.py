"""Where a resource server's bus is: ``nats.connect`` arguments from the environment or the running
local stack's ``resource.env`` (``shared.stack_file``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

import structlog

from shared import bus_auth, stack_file

log = structlog.get_logger("mavio.verify_client")


async def _on_error(exc: Exception) -> None:
    log.warning("bus error", debug=repr(exc))


async def _on_disconnect() -> None:
    log.warning("bus disconnected: reconnecting")


async def _on_reconnect() -> None:
    log.info("bus reconnected")


# One log line per bus event, instead of nats-py's default: a traceback per failed reconnect attempt.
QUIET_CALLBACKS: Final[dict[str, Any]] = {
    "error_cb": _on_error,
    "disconnected_cb": _on_disconnect,
    "reconnected_cb": _on_reconnect,
}


def bus_options(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``nats.connect`` keyword arguments for a resource server: ``servers``, its bus identity and
    callbacks that log each bus event in one line (``QUIET_CALLBACKS``).

    From ``MAVIO_NATS_URL`` with ``MAVIO_NATS_USER`` (default ``resource``) and ``MAVIO_NATS_PASSWORD``
    when it is set; otherwise from the running local stack's ``resource.env`` (``shared.stack_file``;
    never from ``stack.env``, the operator's), saying so in a log line. Raises
    ``stack_file.StackNotRunning`` when there is neither, or the stack of that file is not running.
    """
    env = os.environ if environ is None else environ
    if not env.get("MAVIO_NATS_URL"):
        found = stack_file.find_resource(env)
        if found is None:
            where = stack_file.run_dir(env)
            raise stack_file.StackNotRunning(
                f"MAVIO_NATS_URL is unset and no local stack file is in {where}: start `make run` or set it"
            )
        log.info(
            "bus address from the local stack file",
            path=found.shown(),
            nats_url=found.values["MAVIO_NATS_URL"],
        )
        env = found.values
    url = env["MAVIO_NATS_URL"]
    password = env.get("MAVIO_NATS_PASSWORD", "")
    user = env.get("MAVIO_NATS_USER") or ("resource" if password else "")
    options: dict[str, Any] = {"servers": url.split(","), **QUIET_CALLBACKS}
    if user:
        options.update(user=user, password=password, inbox_prefix=bus_auth.inbox_prefix(user))
    return options
