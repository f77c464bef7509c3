"""Which throttle subjects this gateway process has seen a failed client authentication for, so that a
client whose authentications succeed never waits on a Redis read before its token request.

The counts themselves stay in Redis (``ratelimit.Counters``, shared by every replica); a hint only says
"this subject failed here within the window, so ask Redis". A subject with no hint is let through
unchecked: with N gateway replicas, a client id or an address can get at most N attempts beyond its
limit per window (one first failure on each replica), which is harmless against ~238-bit secrets.
A hint outlives the Redis window it belongs to (it starts at a failure, never before the window did).

Bounded: past ``capacity`` live hints (a spray of client ids or addresses), the hints are dropped and
every check goes to Redis until a whole window has passed, which is how the gateway behaved before.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class FailureHints:
    def __init__(
        self, window: float, *, capacity: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window = window
        self._capacity = capacity
        self._clock = clock
        self._until: dict[str, float] = {}
        self._check_all_until = 0.0
        self._quiet_from = 0.0  # when the last hint (or the spray window) ends

    def quiet(self) -> bool:
        """No subject to ask Redis about: every hint and any spray window have ended (or none began),
        which is what every check finds while the clients' authentications succeed."""
        return self._clock() >= self._quiet_from

    def suspect(self, subject: str) -> bool:
        """Should a check of ``subject`` ask Redis?"""
        now = self._clock()
        if now < self._check_all_until:
            return True
        until = self._until.get(subject)
        if until is None:
            return False
        if until <= now:
            del self._until[subject]
            return False
        return True

    def failed(self, subject: str) -> None:
        now = self._clock()
        self._until[subject] = now + self._window
        self._quiet_from = now + self._window  # a spray window, if one starts below, ends at the same time
        if len(self._until) > self._capacity:
            self._until = {s: t for s, t in self._until.items() if t > now}
            if len(self._until) > self._capacity:
                self._until.clear()
                self._check_all_until = now + self._window
