"""Every bus subject in one place: ``mavio.oauth.v1.<service>.<operation>`` and
``mavio.oauth.v1.events.<noun>.<past-verb>``."""

from __future__ import annotations

PREFIX = "mavio.oauth.v1"

# Service names double as nats.micro service names and queue-group names.
AUTHORIZE = "authorize"
TOKEN = "token"
REGISTRY = "registry"
REVOCATION = "revocation"
WEBHOOKS = "webhooks"
SERVICES = (AUTHORIZE, TOKEN, REGISTRY, REVOCATION, WEBHOOKS)
GATEWAY = "gateway"  # the gateway's name in nats.micro discovery only: it serves no subject


def op(service: str, operation: str) -> str:
    return f"{PREFIX}.{service}.{operation}"


# authorize
AUTHORIZE_CHECK = op(AUTHORIZE, "check")  # validate a request before sign-in/consent
AUTHORIZE_DECIDE = op(AUTHORIZE, "decide")  # the user's Authorize / Deny decision -> code or error
AUTHORIZE_DEVICE_SHOW = op(AUTHORIZE, "device.show")  # a user code typed on /device -> device consent page
AUTHORIZE_DEVICE_DECIDE = op(AUTHORIZE, "device.decide")  # Authorize / Deny on the device consent page

# token
TOKEN_EXCHANGE = op(TOKEN, "exchange")  # POST /oauth/token (all grant types)
TOKEN_EXCHANGE_MANY = op(TOKEN, "exchange_many")  # many POST /oauth/token requests in one message
TOKEN_VERIFY = op(TOKEN, "verify")  # bearer verification for resource servers (RFC 7662 shape)
TOKEN_VERIFY_MANY = op(TOKEN, "verify_many")  # many bearer tokens in one message, answered in order
TOKEN_INTROSPECT = op(TOKEN, "introspect")  # POST /oauth/introspect for an authenticated client
TOKEN_DEVICE_AUTHORIZE = op(TOKEN, "device_authorize")  # POST /oauth/device_authorization (RFC 8628)
TOKEN_CALLS = op(TOKEN, "calls")  # verifications a resource server answered from its cache (stats)
TOKEN_USERINFO = op(TOKEN, "userinfo")  # GET/POST /oauth/userinfo (OpenID Connect Core 1.0 §5.3)
TOKEN_KEYS_LIST = op(TOKEN, "keys.list")  # ``mavio-oauth keys list``
TOKEN_KEYS_ROTATE = op(TOKEN, "keys.rotate")  # ``mavio-oauth keys rotate``

# registry
REGISTRY_GET_APP = op(REGISTRY, "app.get")
REGISTRY_VERIFY_CLIENT = op(REGISTRY, "client.verify")
REGISTRY_OWNER = op(REGISTRY, "owner")  # owner operations (create/list/update/delete/regenerate/...)
REGISTRY_GET_ACCOUNT = op(REGISTRY, "account.get")
REGISTRY_AUTHENTICATE = op(REGISTRY, "account.authenticate")  # email + password -> account
REGISTRY_SET_PLAN = op(REGISTRY, "account.set_plan")  # the account's plan (source of truth)
REGISTRY_SECRET_LEAKED = op(REGISTRY, "secret.leaked")  # leaked client secrets: invalidate at once

# revocation
REVOCATION_REVOKE = op(REVOCATION, "revoke")  # RFC 7009
REVOCATION_REVOKE_APP = op(REVOCATION, "app.revoke_all")
REVOCATION_REVOKE_GRANT = op(REVOCATION, "grant.revoke")  # user revokes a connected app
REVOCATION_REVOKE_USER_ACCESS = op(REVOCATION, "user.revoke_access")  # the operator ends a user's access
REVOCATION_CONNECTED_APPS = op(REVOCATION, "connected_apps")
REVOCATION_PLAN_CHANGED = op(REVOCATION, "plan_changed")
REVOCATION_LEAKED = op(REVOCATION, "leaked")  # leaked access/refresh tokens: revoke their grants

# webhooks (``services.webhooks``): an app's delivery log and endpoint, asked by the gateway for its owner
WEBHOOKS_DELIVERIES = op(WEBHOOKS, "deliveries.list")  # the last 100 deliveries and the endpoint's state
WEBHOOKS_REDELIVER = op(WEBHOOKS, "deliveries.redeliver")  # one delivery again, same webhook-id
WEBHOOKS_SEND_TEST = op(WEBHOOKS, "test.send")  # a ``webhook.test`` event
WEBHOOKS_ENABLE = op(WEBHOOKS, "endpoint.enable")  # resume a disabled endpoint
WEBHOOKS_ENDPOINT = op(WEBHOOKS, "endpoint.get")  # enabled, or disabled since when
# The deliveries to make: a JetStream work queue only the webhooks service reads (``shared.webhooks.queue``).
WEBHOOK_QUEUE = f"{PREFIX}.webhook-queue"
WEBHOOK_WAIT = f"{PREFIX}.webhook-wait"  # a job waiting for its next attempt (a JetStream schedule)

# revocation's commands: a durable JetStream work queue only revocation consumes (``shared.commands``);
# not events, so no observer can take the work.
COMMANDS_REVOCATION = f"{PREFIX}.commands.{REVOCATION}"
COMMAND_REVOKE_APP = f"{COMMANDS_REVOCATION}.app.revoke"
COMMAND_NARROW_TO_PLAN = f"{COMMANDS_REVOCATION}.plan.narrow"


def event(noun: str, past_verb: str) -> str:
    return f"{PREFIX}.events.{noun}.{past_verb}"


EVENTS_ALL = f"{PREFIX}.events.>"
EVENT_TOKENS_REVOKED = event("tokens", "revoked")
EVENT_REFRESH_REUSED = event("refresh", "reused")
EVENT_REFRESH_REPLAYED = event("refresh", "replayed")
EVENT_CODE_REUSED = event("code", "reused")
EVENT_SECRET_REGENERATED = event("secret", "regenerated")
EVENT_APP_CREATED = event("app", "created")
EVENT_APP_CHANGED = event("app", "changed")
EVENT_APP_DELETED = event("app", "deleted")
EVENT_GRANT_EXPIRED = event("grant", "expired")
EVENT_PLAN_CHANGED = event("plan", "changed")
EVENT_SCOPES_NARROWED = event("scopes", "narrowed")
EVENT_CREDENTIAL_LEAKED = event("credential", "leaked")
# Live only, not an app's event: every token replica loads the new current signing keys at once.
EVENT_SIGNING_KEYS_ROTATED = event("signing_keys", "rotated")

# What a resource server's verification cache (``shared.verify_client``) listens to: the events that
# end or narrow a token. Its bus users may subscribe to these and no other event.
VERIFIER_EVENTS = (
    EVENT_TOKENS_REVOKED,
    EVENT_SCOPES_NARROWED,
    EVENT_REFRESH_REUSED,
    EVENT_CODE_REUSED,
    EVENT_GRANT_EXPIRED,
    EVENT_APP_DELETED,
)

# The header that carries the gateway's request id across bus hops.
REQUEST_ID_HEADER = "Mavio-Request-Id"


def replica_subject(subject: str, replica_id: str) -> str:
    """``subject`` served by one replica alone (its nats.micro id): a batch route's own copy, so a
    requester can send a batch to the replica with the least work (``services.gateway.replicas``)."""
    return f"{subject}.{replica_id}"
