"""OAuth 2.0 error codes as exception types (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7009 §2.2.1).

Each subclass carries the RFC's code in ``error`` and the HTTP status the gateway answers with.
``description`` is public (RFC 6749 §5.2 restricts it to printable ASCII minus ``"`` and ``\\``);
``debug`` is for logs only and never leaves the process that raised it.
The single mapping from exception to wire shape lives in ``shared.bus`` (bus envelope) and the
gateway's error middleware (HTTP); nothing else renders errors.
"""

from __future__ import annotations

import re
from typing import ClassVar

_UNSAFE = re.compile(r"[^\x20-\x21\x23-\x5B\x5D-\x7E]")


def safe_description(text: str) -> str:
    """Reduce ``text`` to the RFC 6749 §5.2 error_description character set."""
    return _UNSAFE.sub("?", text)[:400]


class OAuthError(Exception):
    """Base of every protocol error."""

    error: ClassVar[str] = "server_error"
    status: ClassVar[int] = 400
    # A step of the protocol rather than a refusal (a device polling before the user decided): a
    # service logs it at debug, not as a refused request.
    routine: ClassVar[bool] = False

    def __init__(self, description: str = "", *, debug: str = "") -> None:
        super().__init__(description or self.error)
        self.description = safe_description(description)
        self.debug = debug

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"


class InvalidRequest(OAuthError):
    """The request is missing a required parameter, includes an unsupported parameter value,
    repeats a parameter, or is otherwise malformed."""

    error = "invalid_request"


class BadRedirectUri(InvalidRequest):
    """The redirection URI is missing, invalid, repeated or mismatching (RFC 6749 §4.1.2.1).

    The server MUST NOT redirect to it: it informs the resource owner on an HTML error page (status 400).
    """

    redirectable: ClassVar[bool] = False


class InvalidClient(OAuthError):
    """Client authentication failed (unknown client, no client authentication included, or
    unsupported authentication method)."""

    error = "invalid_client"
    status = 401


class UnknownClient(InvalidClient):
    """The client identifier is missing, repeated or invalid (RFC 6749 §4.1.2.1).

    The server MUST NOT redirect: it informs the resource owner on an HTML error page (status 400).
    """

    status = 400
    redirectable: ClassVar[bool] = False

    def __init__(self, description: str = "Unknown or deleted client_id", *, debug: str = "") -> None:
        super().__init__(description, debug=debug)


class InvalidClientBasic(InvalidClient):
    """Client authentication failed and the client used the HTTP Basic scheme: the 401 response
    MUST include ``WWW-Authenticate: Basic`` (RFC 6749 §5.2); the gateway's error middleware reads
    ``basic``."""

    basic: ClassVar[bool] = True


class InvalidGrant(OAuthError):
    """The provided authorization grant or refresh token is invalid, expired, revoked, does not
    match the redirection URI used in the authorization request, or was issued to another client."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """The authenticated client is not authorized to use this authorization grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """The authorization grant type is not supported by the authorization server."""

    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    """The requested scope is invalid, unknown, malformed, or exceeds the scope granted."""

    error = "invalid_scope"


class NothingGranted(InvalidScope):
    """The user pressed Authorize with every scope unticked: nothing may be issued, and nothing is sent
    to the client either (the consent page is shown again with this description)."""


class AccessDenied(OAuthError):
    """The resource owner or authorization server denied the request."""

    error = "access_denied"
    status = 403


class AuthorizationPending(OAuthError):
    """The authorization request is still pending as the end user hasn't yet completed the
    user-interaction steps (RFC 8628 §3.5)."""

    error = "authorization_pending"
    routine = True


class SlowDown(OAuthError):
    """A variant of "authorization_pending", the authorization request is still pending and polling
    should continue, but the interval MUST be increased by 5 seconds for this and all subsequent
    requests (RFC 8628 §3.5)."""

    error = "slow_down"
    routine = True


class ExpiredToken(OAuthError):
    """The "device_code" has expired, and the device authorization session has concluded
    (RFC 8628 §3.5)."""

    error = "expired_token"


class DeviceAccessDenied(AccessDenied):
    """The authorization request was denied (RFC 8628 §3.5): a token endpoint error, so 400."""

    status = 400


class UnsupportedResponseType(OAuthError):
    """The authorization server does not support obtaining an authorization code using this method."""

    error = "unsupported_response_type"


class UnsupportedTokenType(OAuthError):
    """The authorization server does not support the revocation of the presented token type
    (RFC 7009 §2.2.1)."""

    error = "unsupported_token_type"


class InvalidToken(OAuthError):
    """The access token provided is expired, revoked, malformed, or invalid (RFC 6750 §3.1)."""

    error = "invalid_token"
    status = 401


class InsufficientScope(OAuthError):
    """The request requires higher privileges than provided by the access token (RFC 6750 §3.1)."""

    error = "insufficient_scope"
    status = 403


class BearerTokenRequired(OAuthError):
    """RFC 6750 §3.1: the request lacks any authentication information; answered 401 with a bare
    ``WWW-Authenticate: Bearer`` challenge (no error code in it)."""

    error = "invalid_request"
    status = 401


class ServerError(OAuthError):
    """The authorization server encountered an unexpected condition."""

    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    """The authorization server is currently unable to handle the request (a dependency is down
    or a service did not answer in time)."""

    error = "temporarily_unavailable"
    status = 503


# ---- OpenID Connect Core 1.0 §3.1.2.6: authentication error codes (sent to the redirect URI) -------


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: the authorization server requires end-user authentication (the
    request said ``prompt=none``, and nobody, or another user, is signed in)."""

    error = "login_required"


class ConsentRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: the authorization server requires end-user consent (the request
    said ``prompt=none`` and the user's remembered consent does not cover it)."""

    error = "consent_required"


class RequestNotSupported(OAuthError):
    """OpenID Connect Core §3.1.2.6, §6: the OP does not support the ``request`` parameter."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    """OpenID Connect Core §3.1.2.6, §6: the OP does not support the ``request_uri`` parameter."""

    error = "request_uri_not_supported"


class NotFound(OAuthError):
    """Not an RFC code: the addressed resource does not exist or is not visible to the caller."""

    error = "not_found"
    status = 404


class Conflict(OAuthError):
    """Not an RFC code: the request conflicts with the current state of the resource."""

    error = "conflict"
    status = 409


class ValidationFailed(OAuthError):
    """Not an RFC code: form or JSON input failed validation; ``fields`` maps field to message."""

    error = "validation_failed"

    def __init__(self, fields: dict[str, str], *, debug: str = "") -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()), debug=debug)
        self.fields = dict(fields)


class FieldConflict(Conflict, ValidationFailed):
    """Not an RFC code: input that clashes with existing state (409), with per-field messages (an app
    name the owner already uses)."""


# ---- not RFC codes: the gateway's own refusals of web requests ----------------------------------


class CsrfFailed(OAuthError):
    """Not an RFC code: a state-changing form arrived without the session's CSRF token."""

    error = "invalid_request"
    status = 403


class InvalidSignature(OAuthError):
    """Not an RFC code: a signed report (``POST /oauth/leaked-credentials``) came without a signature,
    with one that does not verify over the body, or with a key identifier no trusted reporter has."""

    error = "invalid_signature"
    status = 401


class SignInRequired(OAuthError):
    """Not an RFC code: the API needs a signed-in session cookie."""

    error = "login_required"
    status = 401


class UnsupportedMediaType(OAuthError):
    """Not an RFC code: a state-changing request must send JSON (or an image, for the logo)."""

    error = "unsupported_media_type"
    status = 415


class CrossOriginRefused(OAuthError):
    """Not an RFC code: a state-changing request came from another origin."""

    error = "forbidden"
    status = 403


class TooManyRequests(OAuthError):
    """Not a code of its own: over a rate limit (429 with ``Retry-After``). The body keeps the RFC 6749
    §5.2 shape with ``temporarily_unavailable`` (RFC 6749 §4.1.2.1: the server cannot handle the request
    now), a code every OAuth client already knows; ``retry_after`` is the wait in seconds."""

    error = "temporarily_unavailable"
    status = 429

    def __init__(self, description: str = "", *, retry_after: int = 1, debug: str = "") -> None:
        super().__init__(description, debug=debug)
        self.retry_after = max(1, retry_after)


class PayloadTooLarge(OAuthError):
    """Not an RFC code: the body, a form field or the number of fields is over the route's limit."""

    error = "invalid_request"
    status = 413


class UriTooLong(OAuthError):
    """Not an RFC code: the request target (its query) is over the gateway's limit."""

    error = "invalid_request"
    status = 414


class HeadersTooLarge(OAuthError):
    """Not an RFC code: the request's header fields are over the gateway's limit."""

    error = "invalid_request"
    status = 431


class RequestTimeout(OAuthError):
    """Not an RFC code: the body did not arrive within MAVIO_HTTP_BODY_TIMEOUT seconds."""

    error = "invalid_request"
    status = 408


class UnsupportedEncoding(OAuthError):
    """Not an RFC code: the body has a content coding (``Content-Encoding``: the gateway inflates
    nothing) or a charset it cannot decode. 415; with a content coding the gateway's error middleware
    adds ``Accept-Encoding: identity`` (RFC 7694 §3)."""

    error = "invalid_request"
    status = 415
    content_coding: bool = False

    def __init__(self, description: str = "", *, content_coding: bool = False, debug: str = "") -> None:
        super().__init__(description, debug=debug)
        self.content_coding = content_coding


_BY_CODE: dict[str, type[OAuthError]] = {}
_BY_NAME: dict[str, type[OAuthError]] = {}


def _register() -> None:
    """Map each code to the first class defined here for it (the plain one, e.g. ``InvalidClient``
    before ``UnknownClient``), and each class name to its class."""
    for cls in list(globals().values()):
        if isinstance(cls, type) and issubclass(cls, OAuthError) and cls is not OAuthError:
            _BY_CODE.setdefault(cls.error, cls)
            _BY_NAME[cls.__name__] = cls


def error_class(code: str, kind: str = "") -> type[OAuthError]:
    """The exception type named ``kind`` when it is one of ours with that ``code``; else the type for
    the RFC ``error`` code (``ServerError`` when unknown). So an error survives the bus as itself."""
    if not _BY_CODE:
        _register()
    cls = _BY_NAME.get(kind)
    if cls is not None and cls.error == code:
        return cls
    return _BY_CODE.get(code, ServerError)


def is_redirectable(error: OAuthError) -> bool:
    """Whether ``error`` may be sent to the client's redirect URI (RFC 6749 §4.1.2.1)."""
    return bool(getattr(error, "redirectable", True))
