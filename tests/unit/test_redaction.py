"""The log redactor (``shared.logging``): known fields, and anything shaped like a Mavio token, secret,
code, session cookie or Basic/Bearer credential, in structlog events and in stdlib log records."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import tokens
from shared.logging import (
    _SHAPES,
    REDACTED,
    SECRET_FIELDS,
    RedactingFilter,
    configure_logging,
    redact,
    redact_text,
)

FAMILY = "0123456789abcdef"
AT = tokens.mint("at", FAMILY)
RT = tokens.mint("rt", FAMILY)
CODE = tokens.mint("code", FAMILY)
CS = tokens.mint_client_secret()
SID = "Zx9_sessionid-value-0123456789abcdefghijklmnopqrstuv"
BASIC = base64.b64encode(f"mavio_client_{FAMILY}:{CS}".encode()).decode()
SECRETS = (AT, RT, CODE, CS, SID, BASIC, CS[:30], "hunter2-password")


@pytest.mark.parametrize(
    "line",
    [
        f"Authorization: Basic {BASIC}",
        f"authorization: bearer {AT}",
        f"Cookie: mavio_session={SID}; mavio_login_csrf={SID}",
        f"Cookie: __Host-mavio_session={SID}",
        f"GET /cb?code={CODE}&state=xyz",
        f"client_id=x&client_secret={CS[:30]}&grant_type=refresh_token&refresh_token={RT}",
        f'{{"password": "hunter2-password", "access_token": "{AT}"}}',
        '{"password": "hunter2-password"}',  # only its quotes mark it
        "{'password': 'hunter2-password'}",
        f"Got more than 8190 bytes when reading: b'mavio_session={SID}",
        f"token={AT}",
        f"a truncated {AT[:30]} in the middle",
    ],
)
def test_secret_shapes_are_redacted_in_text(line: str) -> None:
    out = redact_text(line)
    assert REDACTED in out
    for secret in SECRETS:
        assert secret not in out, (secret, out)


@pytest.mark.parametrize(
    "line",
    [
        "grant_type=authorization_code&redirect_uri=https://a.example/cb",
        "error=invalid_client error_code=401 mavio_client_0123456789abcdef",
        "the mavio_at_ prefix marks access tokens",
        "token_type_hint=access_token",
        "auth_method=client_secret_basic status=401",
        "the basic idea",
    ],
)
def test_ordinary_text_is_left_alone(line: str) -> None:
    assert redact_text(line) == line


def test_the_processor_redacts_fields_at_any_depth_and_shapes_in_values() -> None:
    event = {
        "event": f"exchanged {CODE}",
        "client_secret": CS,
        "request": {"headers": {"Authorization": f"Basic {BASIC}"}, "form": {"password": "x"}},
        "items": [f"rt {RT}"],
        "client_id": "mavio_client_" + FAMILY,
    }
    out = redact(None, "info", event)
    text = json.dumps(out)
    for secret in (CODE, CS, BASIC, RT):
        assert secret not in text
    assert out["client_id"] == "mavio_client_" + FAMILY and out["request"]["form"]["password"] == REDACTED


def test_stdlib_records_are_redacted_with_their_arguments_and_tracebacks() -> None:
    record = logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "bad %s", (f"Basic {BASIC}",), None
    )
    try:
        raise ValueError(f"line was mavio_session={SID}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert BASIC not in text and SID not in text and "ValueError" in text


def test_every_stdlib_logger_goes_through_the_redactor() -> None:
    stream = io.StringIO()
    configure_logging(json=True, level="info", stream=stream, cache=False)
    try:
        logging.getLogger("aiohttp.server").error(
            "Error handling request: %s", f"Cookie: mavio_session={SID}"
        )
        logging.getLogger("some.library.deep.child").warning("token=%s", AT)
    finally:
        configure_logging(json=False, level="warning", cache=False)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["event"] for line in lines)
    assert SID not in stream.getvalue() and AT not in stream.getvalue()


@given(st.text(max_size=40), st.text(max_size=40), st.sampled_from(SECRETS[:6]))
def test_a_secret_anywhere_in_a_line_is_redacted(before: str, after: str, secret: str) -> None:
    for line in (
        f"{before} {secret} {after}",
        f"{before} token={secret}&{after}",
        f"{before} Basic {secret}",
    ):
        if secret in (SID, BASIC) and "token=" not in line and "Basic" not in line:
            continue  # not shaped like anything on its own: only its context marks it
        assert secret not in redact_text(line), line


def test_id_tokens_and_hints_are_redacted() -> None:
    jws = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl"
    line = f"GET /oauth/logout?id_token_hint={jws}&state=s and /oauth/authorize?id_token_hint={jws}"
    assert jws not in redact_text(line) and "state=s" in redact_text(line)
    assert redact(None, "info", {"event": "x", "id_token": jws})["id_token"] == REDACTED


def _every_pattern(text: str) -> str:
    """The redaction without its shortcut: every pattern run on every text."""
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


# Pieces that each make some pattern match, or come near to it (the shortcut must not skip them).
_PIECES = st.sampled_from(
    [
        AT,
        CS[:30],
        "mavio_",
        "Basic ",
        "BEARER ",
        "Ba\u017fic ",
        "bas\u0131c ",
        "Bearer\t",
        "=",
        "code=",
        "token=",
        '"password": "',
        "'code': '",
        ":",
        " ",
        "abcdefgh1234",
        "__Host-mavio_session=",
        "\u212a",
    ]
)


@given(st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=8))
def test_the_shortcut_changes_no_result(parts: list[str]) -> None:
    """``redact_text`` skips the patterns for text none of them can match: its result is always the
    one of every pattern run (non-ASCII case folding, e.g. a long s in "Basic", included)."""
    text = "".join(parts)
    assert redact_text(text) == _every_pattern(text)


@pytest.mark.parametrize("text", ["Ba\u017fic " + "x" * 12, "BAS\u0131C " + "y" * 12])
def test_non_ascii_lookalikes_of_basic_and_bearer_still_redact(text: str) -> None:
    assert _every_pattern(text) != text  # the pattern folds these letters onto ASCII ones
    assert redact_text(text) == _every_pattern(text)


def _reference_redact(event: dict[str, Any]) -> dict[str, Any]:
    """The processor's rule spelled out: a secret field's value redacted, ``_``-keys kept, anything else
    scrubbed (text by every pattern, containers item by item)."""

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return _every_pattern(value)
        if isinstance(value, dict):
            return {k: REDACTED if str(k).lower() in SECRET_FIELDS else scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [scrub(v) for v in value]
        return value

    return {
        k: REDACTED if k.lower() in SECRET_FIELDS else v if k.startswith("_") else scrub(v)
        for k, v in event.items()
    }


_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _PIECES, st.text(max_size=8)
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | _PIECES, inner, max_size=3)
    ),
    max_leaves=6,
)


@given(
    st.dictionaries(
        st.sampled_from(["event", "path", "Token", "_record", "code", "x"]) | st.text(max_size=6), _VALUES
    )
)
def test_the_processor_applies_its_rule_to_any_event(event: dict[str, Any]) -> None:
    assert redact(None, "info", dict(event)) == _reference_redact(event)
