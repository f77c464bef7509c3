"""Registry bus operations on real NATS + Redis: app views, client authentication, accounts,
sign-in, owner operations (and the owner check), events, and the callers' view cache."""

from __future__ import annotations

import msgspec
import pytest
from nats.aio.msg import Msg

from shared import subjects
from shared.errors import Conflict, InvalidClient, InvalidGrant, NotFound, ValidationFailed
from shared.messages.events import AppChanged, AppCreated, AppDeleted, Event, SecretRegenerated
from shared.messages.registry import CreateAppRequest, UpdateAppRequest
from shared.registry_client import RegistryClient
from shared.tokens import is_client_id
from tests.support.factories import DEFAULT_PASSWORD, create_account, create_app, sign_in, unique_email
from tests.support.polling import eventually
from tests.support.system import System


@pytest.fixture
def registry(system: System) -> RegistryClient:
    return RegistryClient(system.bus)


async def test_factories_create_an_account_and_an_app_that_authenticates(
    system: System, registry: RegistryClient
) -> None:
    owner = await create_account(system, name="Ada", plan="pro")
    app, secret = await create_app(system, owner)
    assert is_client_id(app.client_id) and secret.startswith("mavio_cs_")
    assert app.owner_id == owner.id and app.owner_name == "Ada"
    assert (await registry.get_app(app.client_id)) == app
    assert (await registry.verify_client(app.client_id, secret)) == app
    assert (await registry.get_account(owner.id)).plan == "pro"


async def test_verify_client_refuses_wrong_secret_unknown_client_and_other_apps_secret(
    system: System, registry: RegistryClient
) -> None:
    owner = await create_account(system)
    app, secret = await create_app(system, owner)
    other, other_secret = await create_app(system, owner, name="Other")
    for client_id, candidate in [
        (app.client_id, secret[:-1] + ("A" if secret[-1] != "A" else "B")),
        (app.client_id, other_secret),
        (app.client_id, ""),
        ("mavio_client_unknown00000000", secret),
        (other.client_id, secret),
    ]:
        with pytest.raises(InvalidClient):
            await registry.verify_client(client_id, candidate)


async def test_get_app_of_unknown_client_is_not_found(registry: RegistryClient) -> None:
    with pytest.raises(NotFound):
        await registry.get_app("mavio_client_doesnotexist0000")


async def test_authenticate_gives_one_generic_error(system: System, registry: RegistryClient) -> None:
    email = unique_email()
    account = await create_account(system, email=email)
    assert (await registry.authenticate(email.upper(), DEFAULT_PASSWORD)).id == account.id
    messages = set()
    for who, password in [(email, "wrong password"), (unique_email(), DEFAULT_PASSWORD), ("", "")]:
        with pytest.raises(InvalidGrant) as caught:
            await registry.authenticate(who, password)
        messages.add(caught.value.description)
    assert len(messages) == 1


async def test_accounts_are_unique_by_email_case_insensitively(system: System) -> None:
    email = unique_email()
    await create_account(system, email=email)
    with pytest.raises(Conflict):
        await create_account(system, email=email.upper())


async def test_account_rules(system: System) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await create_account(system, email="not-an-email", password="short", plan="gold", name="")
    assert set(caught.value.fields) == {"email", "password", "plan", "name"}


async def test_owner_operations_answer_not_found_to_anyone_else(
    system: System, registry: RegistryClient
) -> None:
    owner = await create_account(system)
    intruder = await create_account(system)
    app, _ = await create_app(system, owner)
    attempts = [
        registry.owned_app(intruder.id, app.client_id),
        registry.update_app(UpdateAppRequest(user_id=intruder.id, client_id=app.client_id, name="Mine now")),
        registry.regenerate_secret(intruder.id, app.client_id),
        registry.put_logo(intruder.id, app.client_id, b"\x89PNG\r\n\x1a\n"),
        registry.remove_logo(intruder.id, app.client_id),
        registry.delete_app(intruder.id, app.client_id),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            await attempt
    assert await registry.list_apps(intruder.id) == []
    assert (await registry.get_app(app.client_id)).name == app.name  # untouched


async def test_create_validates_every_field_and_saves_nothing(
    system: System, registry: RegistryClient
) -> None:
    owner = await create_account(system)
    bad = CreateAppRequest(
        user_id=owner.id,
        name="",
        description="x" * 501,
        homepage_url="ftp://example.com",
        redirect_uris=["https://example.com/cb#frag"],
        scopes=["admin:everything"],
        logo=b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    )
    with pytest.raises(ValidationFailed) as caught:
        await registry.create_app(bad)
    assert set(caught.value.fields) == {
        "name",
        "description",
        "homepage_url",
        "redirect_uris",
        "scopes",
        "logo",
    }
    assert await registry.list_apps(owner.id) == []


async def test_duplicate_name_for_one_owner_is_a_conflict(system: System, registry: RegistryClient) -> None:
    owner = await create_account(system)
    app, _ = await create_app(system, owner, name="Twin")
    req = CreateAppRequest(
        user_id=owner.id, name="twin", homepage_url="https://a.example", redirect_uris=["https://a.example/cb"],
        scopes=["users:read"],
    )  # fmt: skip
    with pytest.raises(Conflict):
        await registry.create_app(req)
    other_owner = await create_account(system)
    await create_app(system, other_owner, name="Twin")  # another owner may use the name
    assert [a.client_id for a in await registry.list_apps(owner.id)] == [app.client_id]


async def test_regenerate_invalidates_old_secret_at_once_by_default(
    system: System, registry: RegistryClient
) -> None:
    owner = await create_account(system)
    app, old = await create_app(system, owner)
    reply = await registry.regenerate_secret(owner.id, app.client_id)
    assert reply.client_secret != old and reply.old_secret_valid_until == 0
    with pytest.raises(InvalidClient):
        await registry.verify_client(app.client_id, old)
    assert (await registry.verify_client(app.client_id, reply.client_secret)).client_id == app.client_id


@pytest.mark.parametrize("keep", [3600, 86400])
async def test_regenerate_can_keep_the_old_secret_for_a_while(
    system: System, registry: RegistryClient, keep: int
) -> None:
    owner = await create_account(system)
    app, old = await create_app(system, owner)
    reply = await registry.regenerate_secret(owner.id, app.client_id, keep_old_seconds=keep)
    assert reply.old_secret_valid_until > 0
    await registry.verify_client(app.client_id, old)
    await registry.verify_client(app.client_id, reply.client_secret)
    newest = await registry.regenerate_secret(owner.id, app.client_id)  # a later default rotation
    for stale in (old, reply.client_secret):
        with pytest.raises(InvalidClient):
            await registry.verify_client(app.client_id, stale)
    await registry.verify_client(app.client_id, newest.client_secret)


async def test_regenerate_refuses_other_keep_periods(system: System, registry: RegistryClient) -> None:
    owner = await create_account(system)
    app, secret = await create_app(system, owner)
    with pytest.raises(ValidationFailed):
        await registry.regenerate_secret(owner.id, app.client_id, keep_old_seconds=999_999)
    await registry.verify_client(app.client_id, secret)


async def test_changes_publish_events_and_delete_rejects_the_client_everywhere(
    system: System, registry: RegistryClient
) -> None:
    seen: list[Event] = []
    decoder = msgspec.json.Decoder(Event)

    async def record(msg: Msg) -> None:
        seen.append(decoder.decode(msg.data))

    subs = [
        await system.nc.subscribe(s, cb=record)
        for s in (
            subjects.EVENT_APP_CREATED,
            subjects.EVENT_APP_CHANGED,
            subjects.EVENT_SECRET_REGENERATED,
            subjects.EVENT_APP_DELETED,
        )
    ]
    owner = await create_account(system)
    app, secret = await create_app(system, owner)
    await registry.update_app(UpdateAppRequest(user_id=owner.id, client_id=app.client_id, description="new"))
    await registry.regenerate_secret(owner.id, app.client_id, keep_old_seconds=3600)
    deleted = await registry.delete_app(owner.id, app.client_id)
    assert deleted.users_affected == 0

    async def mine_so_far() -> list[Event]:
        return [e for e in seen if e.client_id == app.client_id]

    mine = await eventually(mine_so_far, lambda events: len(events) >= 4)
    assert [type(e) for e in mine] == [AppCreated, AppChanged, SecretRegenerated, AppDeleted]
    assert {e.actor for e in mine} == {owner.id}  # the audit trail's actor: the owner, every time
    assert isinstance(mine[1], AppChanged) and mine[1].fields == ["description"]
    assert isinstance(mine[2], SecretRegenerated) and mine[2].keep_old_until > 0
    with pytest.raises(NotFound):
        await registry.get_app(app.client_id)
    with pytest.raises(InvalidClient):
        await registry.verify_client(app.client_id, secret)
    assert await registry.list_apps(owner.id) == []
    for sub in subs:
        await sub.unsubscribe()


async def test_cached_views_are_dropped_on_app_events(system: System) -> None:
    owner = await create_account(system)
    app, _ = await create_app(system, owner)
    cached = RegistryClient(system.bus, cache_ttl=3600)
    subs = await cached.watch(system.nc)
    await system.nc.flush()
    assert (await cached.get_app(app.client_id)).description == ""
    assert len(cached.cache) == 1
    await RegistryClient(system.bus).update_app(
        UpdateAppRequest(user_id=owner.id, client_id=app.client_id, description="changed")
    )

    async def dropped() -> bool:
        return cached.cache.get(app.client_id) is None

    await eventually(dropped)
    assert (await cached.get_app(app.client_id)).description == "changed"
    await RegistryClient(system.bus).delete_app(owner.id, app.client_id)
    await eventually(dropped)
    with pytest.raises(NotFound):
        await cached.get_app(app.client_id)
    for sub in subs:
        await sub.unsubscribe()


async def test_sign_in_factory_gives_a_session(system: System) -> None:
    from tests.support.factories import new_http

    email = unique_email()
    await create_account(system, email=email, name="Grace")
    async with new_http() as http:
        await sign_in(system, http, email)
        async with http.get(system.url("/")) as resp:
            assert "Grace" in await resp.text()
