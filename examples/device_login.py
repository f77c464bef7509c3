"""Device login: an example command-line app that signs in with the device flow (RFC 8628) and calls
the example Meetings API. The integration guide's "The device flow" walks through the same steps.

    python -m examples.device_login --issuer http://127.0.0.1:8080 --client-id mavio_client_… \\
        [--client-secret mavio_cs_…] [--scope meetings:read] [--api http://127.0.0.1:8091]

(or ``MAVIO_URL``, ``MAVIO_CLIENT_ID``, ``MAVIO_CLIENT_SECRET``, ``MEETINGS_API_URL``). It reads the
endpoints from the RFC 8414 metadata, asks for a device code, prints the code and where to enter it,
then polls the token endpoint politely: every ``interval`` seconds, five more after each ``slow_down``,
until the user decides or the code expires. The app must have **Enable device flow** ticked.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import httpx

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5  # seconds added to the interval by each slow_down (RFC 8628 §3.5)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description="Sign in to Mavio with the device flow.")
    parser.add_argument("--issuer", default=env("MAVIO_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--client-id", default=env("MAVIO_CLIENT_ID", ""))
    parser.add_argument("--client-secret", default=env("MAVIO_CLIENT_SECRET", ""))
    parser.add_argument("--scope", default="meetings:read")
    parser.add_argument("--api", default=env("MEETINGS_API_URL", "http://127.0.0.1:8091"))
    args = parser.parse_args(argv)
    if not args.client_id:
        parser.error("--client-id (or MAVIO_CLIENT_ID) is required")
    return args


def client_auth(args: argparse.Namespace) -> dict[str, str]:
    """A confidential app sends its secret; a public app its client_id alone."""
    auth = {"client_id": args.client_id}
    return auth | ({"client_secret": args.client_secret} if args.client_secret else {})


def poll(
    http: httpx.Client, token_endpoint: str, auth: dict[str, str], started: dict[str, Any]
) -> dict[str, Any]:
    """Poll until the tokens come, or exit with the reason (denied, expired, anything else)."""
    interval = int(started.get("interval", 5))
    deadline = time.monotonic() + int(started["expires_in"])
    form = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"], **auth}
    while time.monotonic() < deadline:
        time.sleep(interval)
        answer = http.post(token_endpoint, data=form)
        body: dict[str, Any] = answer.json()
        if answer.status_code == 200:
            return body
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_STEP
            continue
        reasons = {"access_denied": "you denied the request", "expired_token": "the code expired"}
        sys.exit(f"Not signed in: {reasons.get(str(error), body.get('error_description', error))}.")
    sys.exit("Not signed in: the code expired.")


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    auth = client_auth(args)
    with httpx.Client(timeout=10) as http:
        metadata = http.get(f"{args.issuer}/.well-known/oauth-authorization-server").json()
        answer = http.post(metadata["device_authorization_endpoint"], data={"scope": args.scope, **auth})
        started = answer.json()
        if answer.status_code != 200:
            sys.exit(f"Mavio refused: {started.get('error')}: {started.get('error_description', '')}")
        print(f"To sign in, open {started['verification_uri']} and enter the code {started['user_code']}")
        print(f"(or open {started['verification_uri_complete']})", flush=True)
        tokens = poll(http, metadata["token_endpoint"], auth, started)
        print(f"Signed in ({tokens['scope']}).", flush=True)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        meetings = http.get(f"{args.api}/meetings", headers=headers).json()
    for meeting in meetings["meetings"]:
        print(f"- {meeting['starts_at']}  {meeting['title']} ({meeting['minutes']} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
