"""The OpenID Connect fields of the server's metadata (OpenID Connect Discovery 1.0 §3), served both in
``/.well-known/openid-configuration`` and in RFC 8414's ``/.well-known/oauth-authorization-server``
(one document, one ``issuer``)."""

from __future__ import annotations

from typing import Any

from shared.oidc_claims import CLAIMS_SUPPORTED
from shared.signing.keyset import ALGS

USERINFO_PATH = "/oauth/userinfo"
JWKS_PATH = "/oauth/jwks"
END_SESSION_PATH = "/oauth/logout"  # RP-Initiated Logout 1.0


def oidc_metadata(base: str) -> dict[str, Any]:
    return {
        "userinfo_endpoint": f"{base}{USERINFO_PATH}",
        "jwks_uri": f"{base}{JWKS_PATH}",
        "end_session_endpoint": f"{base}{END_SESSION_PATH}",
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGS),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
