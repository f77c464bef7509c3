"""Your App's pages (Jinja2, autoescaped): small, readable on a phone, no JavaScript."""

from __future__ import annotations

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · Your App</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #fbfaf7; }
header { background: #21403a; color: #fff; padding: .7rem 1rem; font-weight: 700; }
main { max-width: 640px; margin: 1.5rem auto; padding: 0 1rem; }
button { font: inherit; background: #3157d5; color: #fff; border: 0; border-radius: 6px; padding: .55rem 1rem; cursor: pointer; }
button.secondary { background: #fff; color: #1d2330; border: 1px solid #767f8f; }
:focus-visible { outline: 3px solid #3157d5; outline-offset: 2px; }
li { margin: .4rem 0; }
.muted { color: #545c6a; }
</style></head>
<body><header>Your App</header><main>{% block main %}{% endblock %}</main></body></html>"""


def _page(title: str, main: str) -> str:
    return (
        '{% extends "base.html" %}{% block title %}'
        + title
        + "{% endblock %}{% block main %}"
        + main
        + "{% endblock %}"
    )


_CONNECT = '<form method="post" action="/connect"><button type="submit">{label}</button></form>'

PAGES = {
    "base.html": _BASE,
    "home.html": _page(
        "Home",
        """<h1>Your App</h1>
{% if person %}<p id="signed-in-as">Signed in as <strong>{{ person.name }}</strong> ({{ person.email }})
with your Mavio account.</p>
<form method="post" action="/sign-out"><button type="submit" class="secondary">Sign out</button></form>
{% else %}<form method="post" action="/sign-in"><button type="submit">Sign in with Mavio</button></form>{% endif %}
<p>See your Mavio meetings here. Your App asks Mavio for permission; it never sees your Mavio password.</p>
{% if deleted_by_mavio %}<p id="deleted-by-mavio">You removed Your App's access in Mavio, and Mavio told us so: Your App
has deleted the meetings it had stored for you.</p>{% endif %}
{% if disconnected %}<p id="disconnected">Disconnected: Your App's access to your Mavio account has ended.</p>{% endif %}
{% if connected %}<p><a href="/meetings">Your meetings</a></p>
<form method="post" action="/disconnect"><button type="submit" class="secondary">Disconnect</button></form>
{% else %}"""
        + _CONNECT.format(label="Connect Mavio")
        + "{% endif %}",
    ),
    "meetings.html": _page(
        "Your meetings",
        """<h1>Your meetings</h1>
<ul id="meetings">{% for m in meetings %}<li><strong>{{ m.title }}</strong>
<span class="muted"><time datetime="{{ m.starts_at }}">{{ m.starts_at | for_people }}</time> · {{ m.minutes }} min</span></li>{% endfor %}</ul>
<p class="muted" id="refreshes">Access token renewed automatically {{ refreshes }} time{{ "" if refreshes == 1 else "s" }}.</p>
<form method="post" action="/disconnect"><button type="submit" class="secondary">Disconnect</button></form>""",
    ),
    "denied.html": _page(
        "Not connected",
        """<h1>Mavio was not connected</h1>
<p id="denied">You chose not to let Your App see your Mavio meetings. Nothing was shared.
You can connect whenever you like.</p>"""
        + _CONNECT.format(label="Connect Mavio"),
    ),
    "reconnect.html": _page(
        "Reconnect Mavio",
        """<h1>Mavio access ended</h1>
<p id="reconnect">Your App can no longer reach your Mavio meetings: the access was revoked or has expired.
Connect again to continue.</p>"""
        + _CONNECT.format(label="Reconnect Mavio"),
    ),
    "problem.html": _page(
        "Problem", "<h1>{{ title }}</h1><p>{{ text }}</p>" + _CONNECT.format(label="Connect Mavio")
    ),
}
