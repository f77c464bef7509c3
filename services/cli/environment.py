"""Where the CLI finds its deployment: ``MAVIO_*`` variables, or the running ``make run`` stack's file.

With neither ``MAVIO_NATS_URL`` nor ``MAVIO_REDIS_URL`` set, the local stack's ``stack.env``
(``shared.stack_file``) supplies both and the operator's credentials, and one line on stderr names the
file; a stack that is not running is a one-line error (``StackNotRunning``), never a hang.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from shared import stack_file
from shared.config import Settings, load_settings


def cli_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (default ``os.environ``), completed from the local stack's file.

    Raises ``ConfigError`` for a bad value and ``stack_file.StackNotRunning`` for a stale file.
    """
    env, found = stack_file.client_environ(os.environ if environ is None else environ)
    if found is not None:
        print(f"mavio-oauth: using the local stack of {found.shown()}", file=sys.stderr, flush=True)
    return load_settings(env)
