"""The authorization endpoint's error page (RFC 6749 §4.1.2.1) names the wrong parameter by the error's
type, which survives the bus as itself (``shared.errors.error_class``), never by its description."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway.keys import TEMPLATES
from services.gateway.rendering import make_templates
from services.gateway.routes.authorize import error_page
from shared.bus import error_payload, raise_if_error
from shared.errors import BadRedirectUri, InvalidRequest, OAuthError, UnknownClient

REDIRECT_PAGE = "<code>redirect_uri</code> of this request is wrong"
CLIENT_PAGE = "<code>client_id</code> of this request is wrong"
REQUEST_PAGE = "Invalid authorization request</h1>"


def _page(exc: OAuthError) -> web.Response:
    app = web.Application()
    app[TEMPLATES] = make_templates()
    return error_page(make_mocked_request("GET", "/oauth/authorize", app=app), exc)


def _over_the_bus(exc: OAuthError) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        raise_if_error(*error_payload(exc))
    return caught.value


@pytest.mark.parametrize(
    ("exc", "shown"),
    [
        (BadRedirectUri("the app has several registered URIs: name one"), REDIRECT_PAGE),
        (InvalidRequest("state is too long; redirect it elsewhere"), REQUEST_PAGE),
        (UnknownClient(), CLIENT_PAGE),
    ],
)
def test_the_page_names_the_parameter_by_the_error_type(exc: OAuthError, shown: str) -> None:
    answer = _page(_over_the_bus(exc))
    assert answer.status == 400 and answer.text is not None and shown in answer.text
