"""The signing cost of one ID token (RS256, RSA 2048, joserfc as the token service signs it): a
micro-measure beside the code exchange with ``openid``, to tell how much of an exchange is the
signature."""

from __future__ import annotations

import time

from joserfc import jwt

from bench.measures import Measure
from shared.signing.keyset import generate

SIGNS = 300


def signing_cost(signs: int = SIGNS) -> Measure:
    key = generate("RS256", "bench-rs256")
    claims = {
        "iss": "http://127.0.0.1:8080",
        "sub": "usr_0123456789abcdef",
        "aud": "mavio_client_0123456789abcdef",
        "exp": 2_000_000_000,
        "iat": 1_999_996_400,
        "auth_time": 1_999_996_000,
        "nonce": "n-0S6_WzA2Mj",
        "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
        "sid": "08a5019c-17e1-4977-8f42-65a12843ea02",
    }
    header = {"alg": "RS256", "kid": "bench-rs256", "typ": "JWT"}
    jwt.encode(header, claims, key, algorithms=["RS256"])  # warm
    started = time.process_time()
    for _ in range(signs):
        jwt.encode(header, claims, key, algorithms=["RS256"])
    us = (time.process_time() - started) / signs * 1e6
    return Measure(
        scenario="ID token signing cost per exchange (RS256, RSA 2048, joserfc)",
        figure=f"{us:,.0f} µs of CPU per ID token (one per exchange with openid; {signs} signs)",
        goal="reported beside the exchange with openid",
        met=True,
        data={"us_per_sign": round(us, 1), "signs": signs},
    )
