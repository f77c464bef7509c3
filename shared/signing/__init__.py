"""OpenID Connect signing keys: the key set (``keyset``), its one Redis writer (``store``), and checking
an ID token's signature against the published keys (``verify``)."""
