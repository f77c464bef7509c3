"""Where the CLI finds its deployment: ``MAVIO_*`` variables, or the running ``make run`` stack's file.

With neither ``MAVIO_NATS_URL`` nor ``MAVIO_REDIS_URL`` set, the local stack's ``stack.env``
(``shared.stack_file``) supplies both and the operator's credentials, and one line on stderr names the
file; a stack that is not running is a one-line error (``StackNotRunning``), never a hang. With no URL
set and no stack file either, the defaults are tried, and a failure to reach them says where the stack
file was looked for (``where_looked``): most often the command was run from another folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from shared import stack_file
from shared.config import Settings, load_settings

_HOW = (
    "run mavio-oauth from the folder where `make run` runs, or set MAVIO_RUN_DIR, "
    "or MAVIO_REDIS_URL and MAVIO_NATS_URL"
)


def cli_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (default ``os.environ``), completed from the local stack's file.

    Raises ``ConfigError`` for a bad value and ``stack_file.StackNotRunning`` for a stale file.
    """
    env, found = stack_file.client_environ(os.environ if environ is None else environ)
    if found is not None:
        print(f"mavio-oauth: using the local stack of {found.shown()}", file=sys.stderr, flush=True)
    return load_settings(env)


def where_looked(environ: Mapping[str, str] | None = None) -> str:
    """Where the stack file was looked for, when neither URL is set and none was found there; "" when
    a URL was given or a stack file exists (then it was used, or refused with its own message)."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in stack_file.URL_VARIABLES):
        return ""
    port = (env.get("MAVIO_HTTP_PORT") or "").strip()
    pattern = stack_file.run_dir(env).absolute() / (port or "*") / stack_file.FILE_NAME
    if any(pattern.parent.parent.glob(f"{pattern.parent.name}/{stack_file.FILE_NAME}")):
        return ""
    return f"no local stack file at {pattern} ({_HOW})"
