"""A test secret-scanning reporter: its own P-256 key (``cryptography``), its key list in GitHub's
shape, and signed reports posted to ``POST /oauth/leaked-credentials`` exactly as a scanner sends them."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.leak_reporters import KEY_ID_HEADER, SIGNATURE_HEADER
from tests.support.system import System

PATH = "/oauth/leaked-credentials"


@dataclass
class Reporter:
    key_id: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def public_entry(self, *, current: bool = True) -> dict[str, Any]:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {"key_identifier": self.key_id, "key": pem.decode(), "is_current": current}

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()

    def headers(self, body: bytes) -> dict[str, str]:
        return {KEY_ID_HEADER: self.key_id, SIGNATURE_HEADER: self.sign(body)}


def write_key_list(path: Path, *reporters: Reporter) -> None:
    path.write_text(json.dumps({"public_keys": [r.public_entry() for r in reporters]}))


def report_body(*items: tuple[str, str], url: str = "https://github.com/o/r/blob/main/.env") -> bytes:
    """A report of (token, type) pairs as GitHub sends it."""
    return json.dumps(
        [{"token": token, "type": kind, "url": url, "source": "content"} for token, kind in items]
    ).encode()


async def post_report(system: System, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST ``body`` as a scanner does: (status, parsed JSON body)."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    async with system.http.post(system.url(PATH), data=body, headers=sent) as resp:
        raw = await resp.read()
        return resp.status, json.loads(raw) if raw else None
