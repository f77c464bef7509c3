"""One HTTP attempt of a delivery: Standard Webhooks headers signed anew, no redirect followed, at most
1 KiB of the response kept, and (in production) the SSRF rule on the address actually connected to.

The connector's resolver resolves the host, refuses it unless every address is public
(``shared.webhooks.addresses``), and hands aiohttp exactly the addresses it checked, so a name that
resolves differently a moment later (DNS rebinding) is never connected to unchecked. aiohttp does not
ask a resolver for an IP literal: those are checked before the request. Tests inject ``resolve``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from standardwebhooks.webhooks import Webhook

from shared.webhooks.addresses import host_refusal, refusal

Resolve = Callable[[str, int], Awaitable[list[str]]]
BODY_KEPT = 1024  # bytes of the response kept for the log


class AddressRefused(Exception):
    """The endpoint's host is (or resolves to) an address that is not public."""


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool  # a 2xx
    status: str  # "200", "500", or the error ("timeout", "address refused: ...")
    body: str = ""  # at most BODY_KEPT bytes of the response


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PublicOnlyResolver(AbstractResolver):
    """Resolves with ``resolve``; refuses a host unless all its addresses are public."""

    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._resolve(host, port)
        if not addresses:
            raise AddressRefused(f"{host} does not resolve")
        for address in addresses:
            if (why := refusal(address)) is not None:
                raise AddressRefused(f"{host} resolves to {address}, a {why} address")
        return [_result(host, a, port) for a in addresses]

    async def close(self) -> None:
        return None


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)


def signature_header(secrets: list[str], msg_id: str, timestamp: int, body: str) -> str:
    """``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` per secret, space-separated (two while a
    regenerated secret overlaps), by the ``standardwebhooks`` library's signer."""
    when = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return " ".join(Webhook(secret).sign(msg_id, when, body) for secret in secrets)


class Sender:
    def __init__(self, *, timeout: float, production: bool, resolve: Resolve | None = None) -> None:
        self.timeout = timeout
        self.production = production
        self._resolve = resolve or system_resolve
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = PublicOnlyResolver(self._resolve) if self.production else None
            # Resolved (and checked) at every attempt: no DNS cache.
            connector = aiohttp.TCPConnector(resolver=resolver, limit=0, use_dns_cache=False)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, url: str, headers: dict[str, str], body: str) -> Outcome:
        if self.production and (why := host_refusal(urlsplit(url).hostname or "")) is not None:
            return Outcome(False, f"address refused: {urlsplit(url).hostname} is a {why} address")
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with self._client().post(
                url, data=body.encode(), headers=headers, allow_redirects=False, timeout=timeout
            ) as resp:
                kept = await resp.content.read(BODY_KEPT)
                return Outcome(200 <= resp.status < 300, str(resp.status), kept.decode("utf-8", "replace"))
        except AddressRefused as exc:
            return Outcome(False, f"address refused: {exc}")
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.__cause__, AddressRefused) or isinstance(exc.os_error, AddressRefused):
                return Outcome(False, f"address refused: {exc.os_error}")
            return Outcome(False, f"connection failed: {exc.os_error.strerror or exc.os_error}")
        except TimeoutError:
            return Outcome(False, "timeout")
        except (aiohttp.ClientError, ValueError, OSError) as exc:  # a malformed URL, a reset, ...
            return Outcome(False, f"request failed: {type(exc).__name__}")
