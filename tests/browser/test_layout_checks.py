"""The layout checks (``layout_checks``, run by ``audit.Audit`` on every page) can fail: a page built
with each defect they look for is reported, at both widths where the defect shows at both."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.audit import Audit

pytestmark = pytest.mark.browser

KNOWN_BAD = """<!doctype html><html lang="en"><title>Bad layout</title>
<style>
  .breadcrumb ol { display:flex; flex-wrap:wrap; width:150px; list-style:none; padding:0 }
  .breadcrumb li + li::before { content:"\\203A"; }
  header.topbar { width:90px }
  header.topbar a, header.topbar span, header.topbar button { display:block }
</style>
<header class="topbar"><a class="brand" href="/">Mavio</a>
  <nav class="main-nav" aria-label="Main"><a href="/a">Settings</a> <a href="/b">OAuth Apps</a></nav>
  <div class="account"><span class="who">Someone</span><button>Sign out</button></div></header>
<main><h1>Bad layout</h1>
<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/s">Settings</a></li>
  <li><a href="/d">Developer</a></li><li><a href="/o">OAuth Apps</a></li><li>Credentials</li></ol></nav>
<label class="choice" style="display:flex;flex-wrap:wrap"><input type="checkbox" name="granted" value="a">
  <span style="width:100%">Read everything you ever wrote</span></label>
<label class="choice"><input type="checkbox" name="scopes" value="b">
  <span class="choice-text"><code>b:read</code>
  <span class="choice-hint" style="display:block;margin-top:40px">Read b</span></span></label>
<label class="choice"><input type="checkbox" name="scopes" value="c">
  <span class="choice-text"><code>c:read</code>
  <span class="choice-hint" style="display:block">Read c</span></span></label>
<p style="width:80px"><code class="uri" style="overflow-wrap:anywhere">abcdefghijklmnopqrstuvwxyz</code></p>
<p><button class="copy">Copy client ID</button></p>
<p style="margin-left:40px"><button class="copy">Copy secret</button></p>
</main></html>"""


async def test_the_layout_checks_catch_each_defect(chromium: Any) -> None:
    audit = Audit()
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        await page.set_content(KNOWN_BAD)
        await audit.page(page, "known-bad-layout")
    finally:
        await context.close()
    found = "\n".join(audit.failures())
    for width in (1280, 360):
        assert f"known-bad-layout @{width}px: labels_apart: input[granted=a]" in found, found
        assert f"known-bad-layout @{width}px: badly_broken_values: abcdefghijklmnopqrstuvwxyz" in found, found
        assert f"known-bad-layout @{width}px: breadcrumb_line_starts:" in found, found
        assert f"known-bad-layout @{width}px: header_rows: the header takes 5 rows" in found, found
        assert f"known-bad-layout @{width}px: header_rows: the navigation wraps to 2 lines" in found, found
        assert f"known-bad-layout @{width}px: scope_grouping: b:read" in found, found
        assert f"known-bad-layout @{width}px: copy_buttons:" in found, found
    assert "input[scopes=b]" not in found and "input[scopes=c]" not in found, found
