"""``compose.yaml`` for real, on podman: a 3-node NATS cluster with JetStream, Redis with AOF and its
ACL user, every service with its own replica count (token x3) and the gateway, all from the one
image. A real OAuth client (Authlib) runs the whole authorization code flow against it (sign-in,
consent, code, token, bus verification, refresh, verification), the audit trail is read back from
the MAVIO_AUDIT stream, and the token service is scaled 3 -> 4 -> 1 with the flow passing each time.

Slow (about two minutes, plus the first image build): its own target, ``make test-containers``.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import nats
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from nats.js.api import StreamInfo

from shared import bus_auth, subjects
from shared.events import AUDIT_STREAM
from tests.support.compose import ComposeStack, compose_stack
from tests.support.polling import eventually_sync

T = TypeVar("T")
pytestmark = [pytest.mark.containers, pytest.mark.timeout(1800)]

SCOPE = "meetings:read users:read"
REDIRECT_URI = "http://127.0.0.1:9999/callback"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_GRANTED = re.compile(r'<input type="checkbox" name="granted" value="([^"]+)"')


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with compose_stack() as running:
        running.wait_ready()
        yield running


class LoopbackCookies:
    """A browser's cookies for one loopback origin: production cookies are ``Secure`` (``__Host-``),
    which browsers send to a loopback origin over plain HTTP; httpx's cookie jar would not."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def keep(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.values.pop(name, None)  # deleted
                else:
                    self.values[name] = morsel.value

    def send(self, request: httpx.Request) -> None:
        if self.values:
            request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.values.items())


def browser(stack: ComposeStack) -> httpx.Client:
    cookies = LoopbackCookies()
    return httpx.Client(
        base_url=stack.url,
        follow_redirects=False,
        timeout=30,
        event_hooks={"request": [cookies.send], "response": [cookies.keep]},
    )


def new_account(stack: ComposeStack, name: str) -> tuple[str, str]:
    """An account made by the operator CLI in its own container: (email, password)."""
    email, password = f"{name.lower()}-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(18)
    out = stack.cli(
        "users", "add", email, "--name", name, "--plan", "free", "--password-stdin", stdin=password
    )
    assert "created usr_" in out and email in out, out
    return email, password


def sign_in(http: httpx.Client, email: str, password: str) -> None:
    page = http.get("/login")
    found = _CSRF.search(page.text)
    assert page.status_code == 200 and found, (page.status_code, page.text[:300])
    resp = http.post("/login", data={"csrf_token": found.group(1), "email": email, "password": password})
    assert resp.status_code == 303, (resp.status_code, resp.text[:300])


def register_app(stack: ComposeStack) -> tuple[str, str]:
    """A developer signs in and registers an app over the JSON API: (client_id, client_secret)."""
    email, password = new_account(stack, "Developer")
    with browser(stack) as http:
        sign_in(http, email, password)
        resp = http.post(
            "/api/v1/oauth-apps",
            json={
                "name": "Container App",
                "description": "registered against the containers",
                "homepage_url": "https://container-app.example",
                "redirect_uris": [REDIRECT_URI],
                "scopes": SCOPE.split(),
            },
        )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    return created["client_id"], created["client_secret"]


def approve(stack: ComposeStack, user: tuple[str, str], authorization_url: str, *, consent: bool) -> str:
    """The user signs in and sees the consent page and clicks Authorize (``consent``), or is sent
    straight back because the grant is remembered: the redirect to the client."""
    with browser(stack) as http:
        sign_in(http, *user)
        page = http.get(authorization_url)
        if not consent and page.status_code == 302:
            assert page.headers["location"].startswith(REDIRECT_URI + "?code="), page.headers
            return page.headers["location"]
        assert page.status_code == 200, (page.status_code, page.headers.get("location"), page.text[:300])
        form = [(name, html.unescape(value)) for name, value in _HIDDEN.findall(page.text)]
        form += [("granted", html.unescape(scope)) for scope in _GRANTED.findall(page.text)]
        body = urlencode([*form, ("decision", "authorize")])  # repeated ``granted`` fields
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        decided = http.post("/oauth/authorize", content=body, headers=form_type)
    assert decided.status_code == 303, (decided.status_code, decided.text[:300])
    return decided.headers["location"]


def eventually(probe: Callable[[], T], accept: Callable[[T], bool] = bool) -> T:
    """Poll ``probe`` until ``accept`` holds (events fan out in the background); fail after a minute."""
    return eventually_sync(probe, accept, timeout=60, pause=0.5)


def bus_verify(stack: ComposeStack, token: str) -> dict[str, Any]:
    """Verification as a resource server does it: on the bus, as bus user ``resource``."""

    async def ask() -> dict[str, Any]:
        nc = await nats.connect(
            f"nats://127.0.0.1:{stack.nats_port}",
            user="resource",
            password=stack.secrets["MAVIO_NATS_RESOURCE_PASSWORD"],
            inbox_prefix=bus_auth.inbox_prefix("resource"),
            allow_reconnect=False,
        )
        try:
            msg = await nc.request(subjects.TOKEN_VERIFY, json.dumps({"token": token}).encode(), timeout=10)
        finally:
            await nc.close()
        reply: dict[str, Any] = json.loads(msg.data)
        return reply

    return asyncio.run(ask())


def full_flow(
    stack: ComposeStack, client_id: str, secret: str, user: tuple[str, str], *, consent: bool = False
) -> dict[str, Any]:
    """Authlib as the client: authorization URL with PKCE, consent (the first time), code, token,
    verify, refresh, verify."""
    token_url = f"{stack.url}/oauth/token"
    client = OAuth2Client(
        client_id=client_id,
        client_secret=secret,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        token_endpoint_auth_method="client_secret_basic",
        code_challenge_method="S256",
        timeout=30,
    )
    with client:
        verifier = generate_token(64)
        url, state = client.create_authorization_url(f"{stack.url}/oauth/authorize", code_verifier=verifier)
        location = approve(stack, user, url, consent=consent)
        assert parse_qs(urlsplit(location).query)["state"] == [state]
        token = client.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
        assert token["token_type"] == "Bearer" and token["scope"] == SCOPE, token
        info = bus_verify(stack, token["access_token"])
        assert info["active"] is True and info["client_id"] == client_id, info
        renewed = client.refresh_token(token_url, refresh_token=token["refresh_token"])
        assert renewed["refresh_token"] != token["refresh_token"]
        assert bus_verify(stack, renewed["access_token"])["active"] is True
    return dict(renewed)


@pytest.fixture(scope="module")
def party(stack: ComposeStack) -> tuple[str, str, tuple[str, str]]:
    client_id, secret = register_app(stack)
    return client_id, secret, new_account(stack, "User")


def test_every_service_is_ready_on_the_nats_cluster(stack: ComposeStack) -> None:
    body = stack.wait_ready()
    assert body["down"] == [] and set(body["checks"]) == {"nats", "redis", *subjects.SERVICES}
    assert len(stack.containers("token")) == 3 and len(stack.containers("authorize")) == 2
    assert len(stack.containers("nats-1") + stack.containers("nats-2") + stack.containers("nats-3")) == 3
    assert len(stack.wait_replicas("token", 3)) == 3
    for service in subjects.SERVICES:  # the readiness probe of deploy/k8s/, inside a replica
        out = stack.exec(f"{stack.project}_{service}_1", "python", "-m", "shared.probe", service)
        assert out.startswith(f"probe: {service} ready (instance "), out


def test_the_full_flow_with_authlib(stack: ComposeStack, party: tuple[str, str, tuple[str, str]]) -> None:
    full_flow(stack, *party, consent=True)


def test_a_revocation_reaches_the_audit_trail_in_the_jetstream_stream(
    stack: ComposeStack, party: tuple[str, str, tuple[str, str]]
) -> None:
    client_id, secret, _ = party
    tokens = full_flow(stack, *party)
    revoked = httpx.post(
        f"{stack.url}/oauth/revoke", data={"token": tokens["refresh_token"]}, auth=(client_id, secret)
    )
    assert revoked.status_code == 200, revoked.text
    assert eventually(lambda: bus_verify(stack, tokens["access_token"])["active"] is False)
    trail = eventually(lambda: stack.cli("apps", "audit", client_id), lambda out: "tokens.revoked" in out)
    kinds = [line.split()[1] for line in trail.splitlines() if line.strip()]
    assert kinds[0] == "app.created" and "tokens.revoked" in kinds, trail
    stream = audit_stream(stack)
    assert stream.config.num_replicas == 3 and stream.cluster is not None
    assert stream.cluster.leader and len(stream.cluster.replicas or []) == 2  # on all three nodes


def audit_stream(stack: ComposeStack) -> StreamInfo:
    """MAVIO_AUDIT as JetStream describes it, asked as the operator's bus user ``cli``."""

    async def ask() -> StreamInfo:
        nc = await nats.connect(
            f"nats://127.0.0.1:{stack.nats_port}",
            user="cli",
            password=stack.secrets["MAVIO_NATS_CLI_PASSWORD"],
            inbox_prefix=bus_auth.inbox_prefix("cli"),
            allow_reconnect=False,
        )
        try:
            return await nc.jetstream().stream_info(AUDIT_STREAM)
        finally:
            await nc.close()

    return asyncio.run(ask())


def test_scaling_the_token_service_keeps_the_flow_working(
    stack: ComposeStack, party: tuple[str, str, tuple[str, str]]
) -> None:
    stack.scale("token", 4)
    assert len(stack.containers("token")) == 4
    assert len(stack.wait_replicas("token", 4)) == 4
    full_flow(stack, *party)
    stack.scale("token", 1)
    assert stack.containers("token") == [f"{stack.project}_token_1"]
    assert len(stack.wait_replicas("token", 1)) == 1
    full_flow(stack, *party)
    assert stack.wait_ready()["down"] == []


def test_no_process_crashed_or_logged_a_traceback(stack: ComposeStack) -> None:
    """Over everything above (cold start of the cluster, flows, scaling): no restart, no traceback;
    and all of it ran on a read-only root without capabilities, as on Kubernetes."""
    for name in stack.all_containers():
        assert stack.inspect(name, "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}") == "true mavio", name
        restarts = stack.inspect(name, "{{.RestartCount}}")
        logs = stack.logs(name)
        assert restarts == "0" and "Traceback" not in logs, f"{name}: {restarts} restarts\n{logs[-3000:]}"
