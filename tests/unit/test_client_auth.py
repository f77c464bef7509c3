"""Client credential extraction at the token endpoint (services/token/client_auth.py, RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import pytest

from shared.client_auth import ClientCredentials, extract_client_credentials
from shared.errors import InvalidClient, InvalidClientBasic, InvalidRequest, OAuthError, error_class

CID = "mavio_client_0123456789ABCDEF"
SECRET = "mavio_cs_" + "0" * 40 + "0ob98g"


def basic(client_id: str, secret: str) -> str:
    """The RFC 6749 §2.3.1 encoding: form-urlencode each part, join with ':', base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def raw_basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("header", "form", "expected"),
    [
        pytest.param(basic(CID, SECRET), {}, (CID, SECRET, "client_secret_basic"), id="basic"),
        # client_id alone: method none (RFC 6749 §2.1, §3.2.1); only a public app's verifier accepts it
        pytest.param(None, {"client_id": [CID]}, (CID, "", "none"), id="id-only"),
        pytest.param(None, {"client_id": [CID], "client_secret": [""]}, (CID, "", "none"), id="empty-secret"),
        pytest.param(
            "basic " + basic(CID, SECRET)[6:], {}, (CID, SECRET, "client_secret_basic"), id="scheme-case"
        ),
        pytest.param(
            "  Basic   " + basic(CID, SECRET)[6:] + " ", {}, (CID, SECRET, "client_secret_basic"), id="spaces"
        ),
        pytest.param(raw_basic(b"cid:a%3Ab"), {}, ("cid", "a:b", "client_secret_basic"), id="encoded-colon"),
        pytest.param(raw_basic(b"c%3Aid:s"), {}, ("c:id", "s", "client_secret_basic"), id="colon-in-id"),
        pytest.param(raw_basic(b"cid:a:b:c"), {}, ("cid", "a:b:c", "client_secret_basic"), id="first-colon"),
        pytest.param(raw_basic(b"cid:a+b%2Bc"), {}, ("cid", "a b+c", "client_secret_basic"), id="plus"),
        pytest.param(raw_basic(b"cid:%C3%A9"), {}, ("cid", "é", "client_secret_basic"), id="utf8-escape"),
        pytest.param(basic("a b&c=d", "s/e?c"), {}, ("a b&c=d", "s/e?c", "client_secret_basic"), id="quoted"),
        pytest.param(
            basic(CID, SECRET), {"client_id": [CID]}, (CID, SECRET, "client_secret_basic"), id="basic+same-id"
        ),
        pytest.param(
            basic(CID, SECRET),
            {"client_secret": [""]},
            (CID, SECRET, "client_secret_basic"),
            id="basic+empty-secret-field",
        ),
        pytest.param(
            basic(CID, SECRET),
            {"grant_type": ["refresh_token"], "client_id": []},
            (CID, SECRET, "client_secret_basic"),
            id="basic+other-fields",
        ),
        pytest.param(
            None,
            {"client_id": [CID], "client_secret": [SECRET], "grant_type": ["authorization_code"]},
            (CID, SECRET, "client_secret_post"),
            id="post",
        ),
        pytest.param(
            "",
            {"client_id": [CID], "client_secret": [SECRET]},
            (CID, SECRET, "client_secret_post"),
            id="post+empty",
        ),
        pytest.param(
            "Bearer mavio_at_x",
            {"client_id": [CID], "client_secret": [SECRET]},
            (CID, SECRET, "client_secret_post"),
            id="post+bearer",
        ),
        pytest.param(
            "Basicx " + basic(CID, SECRET)[6:],
            {"client_id": [CID], "client_secret": [SECRET]},
            (CID, SECRET, "client_secret_post"),
            id="post+not-quite-basic",
        ),
    ],
)
def test_accepted(header: str | None, form: dict[str, list[str]], expected: tuple[str, str, str]) -> None:
    creds = extract_client_credentials(header, form)
    assert creds == ClientCredentials(*expected)  # type: ignore[arg-type]
    assert isinstance(creds, ClientCredentials)


@pytest.mark.parametrize(
    ("header", "form", "error_type", "description"),
    [
        # both methods at once (RFC 6749 §2.3)
        pytest.param(
            basic(CID, SECRET),
            {"client_id": [CID], "client_secret": [SECRET]},
            InvalidRequest,
            "use only one client authentication method",
            id="both",
        ),
        pytest.param(
            basic(CID, SECRET),
            {"client_secret": [SECRET]},
            InvalidRequest,
            "use only one client authentication method",
            id="basic+secret-field",
        ),
        pytest.param(
            "Basic !!!!",
            {"client_id": [CID], "client_secret": [SECRET]},
            InvalidRequest,
            "use only one client authentication method",
            id="malformed-basic+post",
        ),
        pytest.param(
            basic(CID, SECRET),
            {"client_id": ["mavio_client_other0000000000"]},
            InvalidRequest,
            "client_id does not match the HTTP Basic credentials",
            id="basic+other-id",
        ),
        # repeated parameters (RFC 6749 §3.2)
        pytest.param(
            None,
            {"client_id": [CID, CID], "client_secret": [SECRET]},
            InvalidRequest,
            "client_id must not be included more than once",
            id="dup-id",
        ),
        pytest.param(
            None,
            {"client_id": [CID], "client_secret": [SECRET, "other"]},
            InvalidRequest,
            "client_secret must not be included more than once",
            id="dup-secret",
        ),
        pytest.param(
            basic(CID, SECRET),
            {"client_id": [CID, CID]},
            InvalidRequest,
            "client_id must not be included more than once",
            id="basic+dup-id",
        ),
        # no client authentication
        pytest.param(None, {}, InvalidClient, "client authentication is required", id="neither"),
        pytest.param("", {}, InvalidClient, "client authentication is required", id="empty-header"),
        pytest.param(
            None,
            {"client_secret": [SECRET]},
            InvalidClient,
            "client authentication is required",
            id="secret-only",
        ),
        pytest.param(
            None,
            {"client_id": [""], "client_secret": [SECRET]},
            InvalidClient,
            "client authentication is required",
            id="empty-id",
        ),
        pytest.param(
            "Bearer mavio_at_x", {}, InvalidClient, "client authentication is required", id="bearer-only"
        ),
        # malformed Basic
        pytest.param(
            "Basic", {}, InvalidClientBasic, "malformed HTTP Basic credentials", id="no-credentials"
        ),
        pytest.param(
            "Basic !!!!", {}, InvalidClientBasic, "malformed HTTP Basic credentials", id="not-base64"
        ),
        pytest.param("Basic Y2lk", {}, InvalidClientBasic, "malformed HTTP Basic credentials", id="no-colon"),
        pytest.param(
            "Basic Y2lkOnM", {}, InvalidClientBasic, "malformed HTTP Basic credentials", id="missing-padding"
        ),
        pytest.param(
            "Basic Y2lkOnM=é", {}, InvalidClientBasic, "malformed HTTP Basic credentials", id="non-ascii"
        ),
        pytest.param(
            raw_basic(b":s"), {}, InvalidClientBasic, "malformed HTTP Basic credentials", id="empty-id"
        ),
        pytest.param(
            raw_basic(b"cid:"), {}, InvalidClientBasic, "malformed HTTP Basic credentials", id="empty-secret"
        ),
        pytest.param(
            raw_basic(b"cid:\xff\xfe"),
            {},
            InvalidClientBasic,
            "malformed HTTP Basic credentials",
            id="not-utf8",
        ),
        pytest.param(
            raw_basic(b"cid:%FF"), {}, InvalidClientBasic, "malformed HTTP Basic credentials", id="bad-escape"
        ),
    ],
)
def test_rejected(
    header: str | None, form: dict[str, list[str]], error_type: type[OAuthError], description: str
) -> None:
    with pytest.raises(OAuthError) as info:
        extract_client_credentials(header, form)
    assert type(info.value) is error_type
    assert info.value.description == description


def test_basic_failures_are_invalid_client_with_401() -> None:
    with pytest.raises(InvalidClientBasic) as info:
        extract_client_credentials("Basic !!!!", {})
    assert isinstance(info.value, InvalidClient)
    assert info.value.error == "invalid_client"
    assert info.value.status == 401


def test_error_strings() -> None:
    with pytest.raises(InvalidRequest) as both:
        extract_client_credentials(basic(CID, SECRET), {"client_id": [CID], "client_secret": [SECRET]})
    assert (both.value.error, both.value.status) == ("invalid_request", 400)
    with pytest.raises(InvalidClient) as neither:
        extract_client_credentials(None, {})
    assert (neither.value.error, neither.value.status) == ("invalid_client", 401)


def test_subclass_does_not_shadow_the_registered_error_class() -> None:
    assert error_class("invalid_client") is InvalidClient


def test_secrets_stay_out_of_the_error() -> None:
    with pytest.raises(InvalidClientBasic) as info:
        extract_client_credentials(raw_basic(SECRET.encode()), {})
    assert SECRET not in info.value.description
    assert SECRET not in info.value.debug
    assert SECRET not in str(info.value)
