"""The integration guide and the README match the product: the scopes table is the catalog's, the
guide covers what third-party developers trip over, the README's first screen has the commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.scopes import ScopeCatalog
from shared.scopes_table import END, START, markdown_table, with_table

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integration-guide.md"


def test_the_scopes_table_is_generated_from_the_catalog() -> None:
    text = GUIDE.read_text()
    assert with_table(text, ScopeCatalog.load()) == text, "run: python -m shared.scopes_table"
    table = text.split(START)[1].split(END)[0]
    for scope in ScopeCatalog.load():
        assert f"| `{scope.name}` | {scope.description} |" in table


def test_the_table_follows_the_catalog_order_and_plans() -> None:
    table = markdown_table(ScopeCatalog.load()).splitlines()
    assert table[2] == "| `openid` | Sign you in to the app | free, pro, business |"
    assert table[-1].startswith("| `webhooks:write` |") and table[-1].endswith("| business |")


def test_missing_markers_are_an_error() -> None:
    with pytest.raises(ValueError, match="markers"):
        with_table("no table here", ScopeCatalog.load())


@pytest.mark.parametrize(
    "needed",
    [
        "Settings > Developer > OAuth Apps",
        "code_challenge_method=S256",
        'curl -s -u "$CLIENT_ID:$CLIENT_SECRET" $MAVIO/oauth/token',
        "grant_type=refresh_token",
        "/oauth/revoke",
        "/.well-known/openid-configuration",
        "client.discovery(new URL(MAVIO), CLIENT_ID, CLIENT_SECRET)",
        "allowInsecureRequests",
        "expectedNonce",
        "end_session_endpoint",
        "prompt=none",
        "max_age",
        "login_required",
        "Post-logout redirect URIs",
        "requests-oauthlib",
        "Authlib",
        "prompt=consent",
        "Invalid redirect address",
        "Regenerate client secret",
        "access_denied",
        "was not approved for this app at registration",
        "requires the pro or business plan",
        "invalid_token",
        "make demo",
    ],
)
def test_the_guide_covers(needed: str) -> None:
    assert needed in GUIDE.read_text()


def test_openid_client_needs_no_oauth2_algorithm_any_more() -> None:
    assert "algorithm: 'oauth2'" not in GUIDE.read_text()


def test_the_readme_first_screen_says_what_it_is_and_how_to_start() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:24])
    assert "OAuth 2.0 authorization server" in first_screen
    for command in ("make run", "make test", "make demo"):
        assert command in first_screen, command
    assert "docs/integration-guide.md" in first_screen
