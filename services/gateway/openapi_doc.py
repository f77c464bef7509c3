"""The OpenAPI 3.1 document of the gateway's HTTP API, served at ``/api/openapi.json``.

The OAuth endpoints (RFC 6749, 7009, 7662, 8414, 9207), health, and the apps JSON API. HTML pages are
described only as ``text/html`` answers. An app's settings (the request body, the app object) are
generated from ``shared.apps.settings.AppSettings``, their one definition.
``tests/e2e/test_openapi_contract.py`` runs schemathesis on it against a live gateway: no 5xx, and
every response must match what is written here.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from services.gateway.openapi_events import EVENT_SCHEMAS, WEBHOOK_EVENTS
from services.gateway.openapi_oidc import (
    METADATA_OIDC_PROPERTIES,
    METADATA_OIDC_REQUIRED,
    OIDC_PATHS,
    OIDC_SCHEMAS,
)
from services.gateway.openapi_webhooks import WEBHOOK_SCHEMAS, webhook_paths
from shared.apps.settings import CLIENT_TYPES, CONFIDENTIAL, AppSettings

PATH: Final = "/api/openapi.json"

_S: Final = {"type": "string"}
_ERROR_REF: Final = {"$ref": "#/components/schemas/Error"}
_HTML: Final = {"text/html": {"schema": _S}}
_JSON_ERROR: Final = {"application/json": {"schema": _ERROR_REF}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _JSON_ERROR}


def _html_or_json(description: str) -> dict[str, Any]:
    return {"description": description, "content": {**_HTML, **_JSON_ERROR}}


_REJECTIONS: Final = {
    "408": _error("the body did not arrive in time"),
    "413": _error("body, form field or field count over the limit"),
    "414": _error("query string too long"),
    "415": _error("a Content-Encoding on the body (nothing is inflated) or an unknown charset"),
    "431": _error("header fields too large"),
    "503": _error("a service is unavailable (temporarily_unavailable)"),
}
_CLIENT_ERRORS: Final = {
    "400": _error("invalid_request, invalid_grant, unsupported_grant_type, invalid_scope, ..."),
    "401": _error("invalid_client (with WWW-Authenticate: Basic after Basic authentication)"),
    "429": _error("too many failed client authentications (temporarily_unavailable, Retry-After)"),
    **_REJECTIONS,
}
_API_ERRORS: Final = {
    "400": _error("validation_failed, with per-field messages in fields"),
    "401": _error("login_required: no session cookie"),
    "403": _error("cross-origin request"),
    "404": _error("no such app, or not yours"),
    "405": {"description": "method not allowed", "content": {"text/plain": {"schema": _S}}},
    "409": _error("name already used"),
    **_REJECTIONS,
    "415": _error(
        "not application/json (logo: not an image or multipart), a Content-Encoding or an unknown charset"
    ),
}
_CLIENT_AUTH_FIELDS: Final = {
    "client_id": _S,
    # A public app sends client_id alone (method none); a confidential one its secret (or HTTP Basic).
    "client_secret": {**_S, "description": "confidential apps only; a public app sends client_id alone"},
}


def _form(properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": {**properties, **_CLIENT_AUTH_FIELDS}}
    return {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}


def _json_body(ref: str, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _ok(ref: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": "success", "content": {"application/json": {"schema": {"$ref": ref}}}}}


def _pending(ref: str) -> dict[str, Any]:
    """202: the revocation service did not answer in time; the work is queued and done when it is back."""
    content = {"application/json": {"schema": {"$ref": ref}}}
    return {"202": {"description": "accepted: revocation pending", "content": content}}


_CLIENT_ID_PARAM: Final = {"name": "client_id", "in": "path", "required": True, "schema": _S}
_API_SECURITY: Final[list[dict[str, list[str]]]] = [{"session": []}]


def _api(summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": _API_SECURITY,
        "responses": {**responses, **_API_ERRORS},
        **more,
    }


_APP_PATHS: Final = {
    "/api/v1/oauth-apps": {
        "get": _api("the signed-in user's apps", _ok("#/components/schemas/AppList")),
        "post": _api(
            "register an app (the secret is shown once; a public app gets none)",
            _ok("#/components/schemas/CreatedApp", "201"),
            requestBody=_json_body("#/components/schemas/CreateAppBody"),
        ),
    },
    "/api/v1/oauth-apps/{client_id}": {
        "parameters": [_CLIENT_ID_PARAM],
        "get": _api("one app with its stats", _ok("#/components/schemas/AppWithStats")),
        "patch": _api(
            "edit an app (client_type is fixed at registration: sending it is a 400 field error; the reply"
            " that sets a first webhook URL carries its webhook_secret, once)",
            _ok("#/components/schemas/UpdatedApp"),
            requestBody=_json_body("#/components/schemas/AppBody"),
        ),
        "delete": _api(
            "delete an app and revoke its tokens (no body; 202: revocation pending, done when it is back)",
            {**_ok("#/components/schemas/Deleted"), **_pending("#/components/schemas/DeletedPending")},
        ),
    },
    "/api/v1/oauth-apps/{client_id}/secret": {
        "parameters": [_CLIENT_ID_PARAM],
        "post": _api(
            "a new client secret (a public app has none: 400)",
            _ok("#/components/schemas/NewSecret"),
            requestBody=_json_body("#/components/schemas/SecretBody", required=False),
        ),
    },
    "/api/v1/oauth-apps/{client_id}/webhook/secret": {
        "parameters": [_CLIENT_ID_PARAM],
        "post": _api(
            "a new webhook signing secret (shown once; the old one stops signing at once; 400 without a URL)",
            _ok("#/components/schemas/NewWebhookSecret"),
        ),
    },
    "/api/v1/oauth-apps/{client_id}/revoke-tokens": {
        "parameters": [_CLIENT_ID_PARAM],
        "post": _api(
            "revoke every token of the app (202: revocation pending, done when it is back)",
            {**_ok("#/components/schemas/Revoked"), **_pending("#/components/schemas/RevocationPending")},
        ),
    },
    "/api/v1/oauth-apps/{client_id}/logo": {
        "parameters": [_CLIENT_ID_PARAM],
        "put": _api(
            "upload a logo (PNG, JPEG, GIF or WebP, at most 1 MiB; raw or multipart field logo)",
            _ok("#/components/schemas/App"),
            requestBody={
                "required": True,
                "content": {
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"logo": {"type": "string", "format": "binary"}},
                        }
                    },
                },
            },
        ),
        "delete": _api("remove the logo", _ok("#/components/schemas/App")),
    },
}

_LOGOUT: Final = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")
_OAUTH_PATHS: Final = {
    "/.well-known/oauth-authorization-server": {
        "get": {
            "summary": "authorization server metadata (RFC 8414)",
            "responses": _ok("#/components/schemas/Metadata"),
        }
    },
    "/oauth/authorize": {
        "get": {
            "summary": "authorization endpoint (RFC 6749 §4.1.1)",
            "parameters": [
                {"name": name, "in": "query", "required": False, "schema": _S}
                for name in (
                    "client_id",
                    "response_type",
                    "redirect_uri",
                    "scope",
                    "state",
                    "code_challenge",
                    "code_challenge_method",
                    "prompt",
                    "max_age",
                    "nonce",
                    "claims",
                    "login_hint",
                    "id_token_hint",
                )
            ],
            "responses": {
                "200": {"description": "the consent page", "content": _HTML},
                "302": {
                    "description": "to the client with code or error, and iss (RFC 9207); or to sign-in",
                    "headers": {"Location": {"required": True, "schema": _S}},
                },
                "400": _html_or_json(
                    "an error page: unknown client_id, bad redirect_uri, or any error "
                    "of a request made before sign-in (RFC 9700 §4.11.2)"
                ),
                "414": _html_or_json("query string too long"),
                "431": _error("header fields too large"),
                "503": _html_or_json("a service is unavailable"),
            },
        }
    },
    "/oauth/logout": {
        method: {
            "summary": "end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0)",
            **(
                {"parameters": [{"name": n, "in": "query", "required": False, "schema": _S} for n in _LOGOUT]}
                if method == "get"
                else {"requestBody": _form(dict.fromkeys(_LOGOUT, _S))}
            ),
            "responses": {
                "200": {"description": "the page Sign out of Mavio? (signed in)", "content": _HTML},
                "303": {
                    "description": "signed out: to the registered post_logout_redirect_uri with state",
                    "headers": {"Location": {"required": True, "schema": _S}},
                },
                "400": {
                    "description": "an error page: bad id_token_hint, client_id or URI",
                    "content": _HTML,
                },
            },
        }
        for method in ("get", "post")
    },
    "/oauth/token": {
        "post": {
            "summary": "token endpoint (RFC 6749 §3.2, §4.1.3, §6; RFC 8628 §3.4-3.5)",
            "description": (
                "grant_type authorization_code, refresh_token, or "
                "urn:ietf:params:oauth:grant-type:device_code with device_code (a device polling: "
                "authorization_pending, slow_down, access_denied, expired_token, then the tokens once)"
            ),
            "security": [{"clientBasic": []}, {}],
            "requestBody": _form(
                {
                    "grant_type": {
                        "type": "string",
                        "examples": [
                            "authorization_code",
                            "refresh_token",
                            "urn:ietf:params:oauth:grant-type:device_code",
                        ],
                    },
                    "code": _S,
                    "redirect_uri": _S,
                    "code_verifier": _S,
                    "refresh_token": _S,
                    "scope": _S,
                    "device_code": _S,
                }
            ),
            "responses": {**_ok("#/components/schemas/TokenResponse"), **_CLIENT_ERRORS},
        }
    },
    "/oauth/device_authorization": {
        "post": {
            "summary": "device authorization request (RFC 8628 §3.1-3.2), for an app with the device flow",
            "description": (
                "unauthorized_client for an app without the device flow; the user enters user_code at "
                "verification_uri (/device) while the device polls the token endpoint every interval seconds"
            ),
            "security": [{"clientBasic": []}, {}],
            "requestBody": _form({"scope": _S}),
            "responses": {**_ok("#/components/schemas/DeviceAuthorization"), **_CLIENT_ERRORS},
        }
    },
    "/oauth/revoke": {
        "post": {
            "summary": "token revocation (RFC 7009)",
            "security": [{"clientBasic": []}, {}],
            "requestBody": _form({"token": _S, "token_type_hint": _S}),
            "responses": {"200": {"description": "revoked, or was not valid"}, **_CLIENT_ERRORS},
        }
    },
    "/oauth/introspect": {
        "post": {
            "summary": "token introspection of the client's own tokens (RFC 7662)",
            "security": [{"clientBasic": []}, {}],
            "requestBody": _form({"token": _S, "token_type_hint": _S}),
            "responses": {**_ok("#/components/schemas/Introspection"), **_CLIENT_ERRORS},
        }
    },
    "/oauth/leaked-credentials": {
        "post": {
            "summary": "leaked-credential reports in GitHub's secret-scanning partner format: every live "
            "Mavio credential named is revoked before the reply (404 unless reporters' keys are set)",
            "parameters": [
                {"name": name, "in": "header", "required": True, "schema": _S}
                for name in ("Github-Public-Key-Identifier", "Github-Public-Key-Signature")
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LeakReport"}}},
            },
            "responses": {
                **_ok("#/components/schemas/LeakLabels"),
                "400": _error("invalid_request: not JSON, not an array, empty, or an item not of the shape"),
                "401": _error("invalid_signature: no signature, an unknown key, or one that does not verify"),
                "404": _error("not_found: no trusted reporter configured"),
                **_REJECTIONS,
                "413": _error("body over 1 MiB"),
            },
        }
    },
    "/healthz": {"get": {"summary": "process alive", "responses": _ok("#/components/schemas/Health")}},
    "/readyz": {
        "get": {
            "summary": "bus, store and every service reachable",
            "responses": {
                **_ok("#/components/schemas/Ready"),
                "503": {
                    "description": "something is down",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}},
                },
            },
        }
    },
    PATH: {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
}

_STR_LIST: Final = {"type": "array", "items": _S}
_WEBHOOK_SECRET: Final = {
    "type": "string",
    "pattern": "^whsec_[A-Za-z0-9+/]+={0,2}$",
    "description": "the webhook signing secret (Standard Webhooks), present only in the reply that mints it",
}


def _settings_properties() -> dict[str, Any]:
    """Each of an app's settings (``AppSettings``) with its JSON type and limits, from the Struct."""
    _, components = msgspec.json.schema_components([AppSettings])
    properties = components[AppSettings.__name__]["properties"]
    return {name: {k: v for k, v in schema.items() if k != "default"} for name, schema in properties.items()}


_SETTINGS: Final = _settings_properties()
# Chosen at registration only (RFC 6749 §2.1): a public app has no secret and must use PKCE.
_CLIENT_TYPE: Final = {"enum": list(CLIENT_TYPES)}
_APP_PROPERTIES: Final = {
    "client_id": _S,
    **_SETTINGS,
    "client_type": _CLIENT_TYPE,
    "has_logo": {"type": "boolean"},
    "created_at": {"type": "integer"},
    "updated_at": {"type": "integer"},
    "logo_url": {"type": ["string", "null"]},
    # The client secret was reported leaked (found in public at this URL, "" when its owner reported
    # it) and revoked; cleared (0) once a new secret is made.
    "leaked_url": _S,
    "leaked_at": {"type": "integer"},
}
_APP: Final = {
    "type": "object",
    "required": ["client_id", *_SETTINGS, "client_type"],  # the API answers every setting
    "properties": _APP_PROPERTIES,
}

_STATS: Final = {
    "type": "object",
    "required": ["active_authorizations", "api_calls_total", "api_calls_by_day"],
    "properties": {
        # Users whose grant for the app is live: the users whose Connected apps list shows it.
        "active_authorizations": {"type": "integer"},
        "api_calls_total": {"type": "integer"},
        "api_calls_by_day": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["day", "calls"],
                "properties": {"day": _S, "calls": {"type": "integer"}},
            },
        },
    },
}

# The settings a body may carry: ``webhook_url`` also takes null (removes it, like "").
_EDITABLE: Final = {
    **_SETTINGS,
    "webhook_url": {
        "type": ["string", "null"],
        "description": 'https URL for signed webhooks (Standard Webhooks); null or "" removes it',
    },
}
_LEAK_ITEM: Final = {
    "type": "object",
    "required": ["token", "type"],
    "properties": {"token": _S, "type": _S, "url": _S, "source": _S},
}
_LEAK_LABEL: Final = {
    "type": "object",
    "required": ["token_hash", "token_type", "label"],
    "properties": {
        "token_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},  # SHA-256 of the raw string
        "token_type": _S,
        "label": {"enum": ["true_positive", "false_positive"]},
    },
}

SCHEMAS: Final[dict[str, Any]] = {
    "LeakReport": {"type": "array", "minItems": 1, "items": _LEAK_ITEM},
    "LeakLabels": {"type": "array", "items": _LEAK_LABEL},
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": _S, "error_description": _S, "fields": {"type": "object"}},
    },
    "Metadata": {
        "type": "object",
        "required": [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "authorization_response_iss_parameter_supported",
            *METADATA_OIDC_REQUIRED,
        ],
        "properties": {
            "issuer": _S,
            "authorization_endpoint": _S,
            "token_endpoint": _S,
            "authorization_response_iss_parameter_supported": {"const": True},
            **METADATA_OIDC_PROPERTIES,
        },
    },
    "TokenResponse": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "refresh_token", "scope"],
        "properties": {
            "access_token": _S,
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
            "refresh_token": _S,
            "scope": _S,
            "id_token": _S,  # when the scope holds openid (OpenID Connect Core 1.0 §3.1.3.3)
        },
    },
    "DeviceAuthorization": {
        "type": "object",
        "required": [
            "device_code",
            "user_code",
            "verification_uri",
            "verification_uri_complete",
            "expires_in",
            "interval",
        ],
        "properties": {
            "device_code": _S,
            "user_code": {
                "type": "string",
                "pattern": "^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$",
            },
            "verification_uri": _S,
            "verification_uri_complete": _S,
            "expires_in": {"type": "integer"},
            "interval": {"type": "integer"},
        },
    },
    "Introspection": {
        "type": "object",
        "required": ["active"],
        "properties": {
            "active": {"type": "boolean"},
            "client_id": _S,
            "sub": _S,
            "scope": _S,
            "exp": {"type": "integer"},
            "iat": {"type": "integer"},
            "token_type": _S,
        },
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": _S}},
    "Ready": {
        "type": "object",
        "required": ["status", "checks", "down"],
        "properties": {
            "status": {"enum": ["ok", "unavailable"]},
            "checks": {"type": "object"},
            "down": _STR_LIST,
        },
    },
    "App": _APP,
    "AppList": {
        "type": "object",
        "required": ["apps"],
        "properties": {"apps": {"type": "array", "items": _APP}},
    },
    "AppWithStats": {**_APP, "properties": {**_APP_PROPERTIES, "stats": _STATS}},
    "CreatedApp": {
        **_APP,
        "required": [*_APP["required"], "client_secret"],
        "properties": {
            **_APP_PROPERTIES,
            "client_secret": {"type": ["string", "null"]},  # null: a public app
            "webhook_secret": _WEBHOOK_SECRET,
        },
    },
    "UpdatedApp": {**_APP, "properties": {**_APP_PROPERTIES, "webhook_secret": _WEBHOOK_SECRET}},
    "AppBody": {"type": "object", "additionalProperties": False, "properties": _EDITABLE},
    "CreateAppBody": {
        "type": "object",
        "additionalProperties": False,
        "properties": {**_EDITABLE, "client_type": {**_CLIENT_TYPE, "default": CONFIDENTIAL}},
    },
    "NewWebhookSecret": {
        "type": "object",
        "required": ["client_id", "webhook_secret"],
        "properties": {"client_id": _S, "webhook_secret": _WEBHOOK_SECRET},
    },
    "SecretBody": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"keep_old_secret_seconds": {"type": "integer"}},
    },
    "NewSecret": {
        "type": "object",
        "required": ["client_id", "client_secret"],
        "properties": {"client_id": _S, "client_secret": _S, "old_secret_valid_until": {"type": "integer"}},
    },
    "Deleted": {
        "type": "object",
        "required": ["deleted", "client_id"],
        "properties": {"deleted": {"const": True}, "client_id": _S},
    },
    "Revoked": {
        "type": "object",
        "required": ["client_id", "families_revoked"],
        "properties": {"client_id": _S, "families_revoked": {"type": "integer"}},
    },
    "RevocationPending": {
        "type": "object",
        "required": ["client_id", "revocation"],
        "properties": {"client_id": _S, "revocation": {"const": "pending"}},
    },
    "DeletedPending": {
        "type": "object",
        "required": ["deleted", "client_id", "revocation"],
        "properties": {"deleted": {"const": True}, "client_id": _S, "revocation": {"const": "pending"}},
    },
}


def document(public_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mavio OAuth", "version": "1"},
        "servers": [{"url": public_url}],
        "paths": {**_OAUTH_PATHS, **OIDC_PATHS, **_APP_PATHS, **webhook_paths(_API_ERRORS)},
        "webhooks": WEBHOOK_EVENTS,  # what Mavio POSTs to an app's webhook URL
        "components": {
            "schemas": {**SCHEMAS, **OIDC_SCHEMAS, **WEBHOOK_SCHEMAS, **EVENT_SCHEMAS},
            "securitySchemes": {
                "clientBasic": {"type": "http", "scheme": "basic"},
                "session": {"type": "apiKey", "in": "cookie", "name": "mavio_session"},
                "bearer": {"type": "http", "scheme": "bearer"},  # UserInfo
            },
        },
    }
