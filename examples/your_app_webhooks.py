"""Your App's webhook receiver (``docs/integration-guide.md``, "Webhooks"): Mavio POSTs signed events to
``/webhooks/mavio``; each is verified with the ``standardwebhooks`` library (the app's signing secret,
shown once when its webhook URL was set), handled once per ``webhook-id``, and answered 2xx quickly.

On ``authorization.revoked`` (the user revoked Your App on Connected apps, an operator ended their access,
or a plan change emptied the grant) Your App deletes everything it stored for that user (``data.sub``):
their tokens and the meetings it kept, and tells them so on their next visit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

PATH = "/webhooks/mavio"
SEEN_IDS = 1000  # the webhook-ids remembered for idempotency (a retry or redelivery repeats one)


class Receiver:
    """Verifies and dispatches Mavio's webhooks; ``forget_user(sub)`` deletes one user's data."""

    def __init__(self, secret: str, forget_user: Callable[[str], int]) -> None:
        self._webhook = Webhook(secret) if secret else None
        self._forget_user = forget_user
        self._seen: deque[str] = deque(maxlen=SEEN_IDS)
        self.handled: list[dict[str, Any]] = []  # what was acted on, newest last (shown in the demo)

    async def handle(self, request: web.Request) -> web.Response:
        if self._webhook is None:
            raise web.HTTPNotFound()
        body = await request.text()
        try:
            event = self._webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            return web.Response(status=400, text="bad signature")
        webhook_id = request.headers.get("webhook-id", "")
        if webhook_id in self._seen:
            return web.Response(status=204)  # a retry of one already handled: nothing to do twice
        self._seen.append(webhook_id)
        data = event.get("data", {})
        if event.get("type") == "authorization.revoked" and data.get("sub"):
            forgotten = self._forget_user(str(data["sub"]))
            reason = data.get("reason", "")
            self.handled.append({"type": event["type"], "reason": reason, "visitors": forgotten})
        return web.Response(status=204)
