"""The OpenAPI document's OpenID Connect part: discovery, the JWKS and UserInfo (merged into
``openapi_doc.document``)."""

from __future__ import annotations

from typing import Any, Final

from services.gateway.oidc_metadata import JWKS_PATH, USERINFO_PATH

_S: Final = {"type": "string"}
_ERROR: Final = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# the Bearer header, or (POST) the access_token form field
_BEARER: Final[list[dict[str, list[str]]]] = [{"bearer": []}, {}]


def _ok(ref: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": "success",
        "content": {"application/json": {"schema": {"$ref": ref}}},
    }
    if headers:
        out["headers"] = headers
    return {"200": out}


def _challenge(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"WWW-Authenticate": {"required": True, "schema": _S}},
        "content": _ERROR,
    }


_USERINFO_RESPONSES: Final = {
    **_ok("#/components/schemas/UserInfo"),
    "400": {
        "description": "invalid_request: the token sent two ways, or a malformed body",
        "content": _ERROR,
    },
    "401": _challenge("no token (a bare Bearer challenge) or invalid_token (RFC 6750 §3.1)"),
    "403": _challenge("insufficient_scope: the token's scope lacks openid"),
    "408": {"description": "the body did not arrive in time", "content": _ERROR},
    "413": {"description": "body over the limit", "content": _ERROR},
    "414": {"description": "query string too long", "content": _ERROR},
    "415": {"description": "a Content-Encoding on the body or an unknown charset", "content": _ERROR},
    "431": {"description": "header fields too large", "content": _ERROR},
    "503": {"description": "the token service is unavailable", "content": _ERROR},
}

OIDC_PATHS: Final[dict[str, Any]] = {
    "/.well-known/openid-configuration": {
        "get": {
            "summary": "OpenID Provider metadata (OpenID Connect Discovery 1.0 §4): RFC 8414's document",
            "responses": _ok("#/components/schemas/Metadata"),
        }
    },
    JWKS_PATH: {
        "get": {
            "summary": "public signing keys: current, next, and retired keys whose ID tokens may be valid",
            "responses": {
                **_ok("#/components/schemas/JWKS", {"Cache-Control": {"required": True, "schema": _S}}),
                "503": {"description": "no signing key made yet", "content": _ERROR},
            },
        }
    },
    USERINFO_PATH: {
        method: {
            "summary": "UserInfo (OpenID Connect Core 1.0 §5.3): sub and the claims the scope allows",
            "security": _BEARER,
            **(
                {
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {"type": "object", "properties": {"access_token": _S}}
                            }
                        },
                    }
                }
                if method == "post"
                else {}
            ),
            "responses": _USERINFO_RESPONSES,
        }
        for method in ("get", "post")
    },
}

OIDC_SCHEMAS: Final[dict[str, Any]] = {
    "UserInfo": {
        "type": "object",
        "required": ["sub"],
        "properties": {"sub": _S, "name": _S, "email": _S, "email_verified": {"type": "boolean"}},
    },
    "JWKS": {
        "type": "object",
        "required": ["keys"],
        "properties": {
            "keys": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kty", "kid", "alg", "use"],
                    "properties": {"kty": _S, "kid": _S, "alg": {"enum": ["RS256", "ES256"]}, "use": _S},
                },
            }
        },
    },
}
# Discovery 1.0 §3's fields, added to RFC 8414's ``Metadata`` schema (one document for both).
METADATA_OIDC_REQUIRED: Final = (
    "jwks_uri",
    "userinfo_endpoint",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)
METADATA_OIDC_PROPERTIES: Final[dict[str, Any]] = {
    "userinfo_endpoint": _S,
    "jwks_uri": _S,
    "end_session_endpoint": _S,
    "subject_types_supported": {"type": "array", "items": _S},
    "id_token_signing_alg_values_supported": {"type": "array", "items": _S},
    "claims_supported": {"type": "array", "items": _S},
    "claims_parameter_supported": {"type": "boolean"},
    "request_parameter_supported": {"const": False},
    "request_uri_parameter_supported": {"const": False},
}
