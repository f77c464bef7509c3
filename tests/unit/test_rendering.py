"""The ``breakable`` template filter: long values break after ``/ . _ ? & = # -`` runs, never mid-word,
and stay escaped."""

from __future__ import annotations

import pytest

from services.gateway.rendering import breakable


@pytest.mark.parametrize(
    ("value", "html"),
    [
        ("https://app.example/cb", "https://<wbr>app.<wbr>example/<wbr>cb"),
        ("mavio_client_AbC123", "mavio_<wbr>client_<wbr>AbC123"),
        (
            "http://127.0.0.1:8/cb?a=1&b=<i>",
            "http://<wbr>127.<wbr>0.<wbr>0.<wbr>1:8/<wbr>cb?<wbr>a=<wbr>1&amp;<wbr>b=<wbr>&lt;i&gt;",
        ),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_breakable(value: str, html: str) -> None:
    assert str(breakable(value)) == html
