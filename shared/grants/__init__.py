"""The grant family: authorization codes, access and refresh tokens, refresh replay windows, the family
records and tombstones, the users' grants, the per-app and per-user indexes, the API-call counters and
the sweeper's work list. This package is the only writer of those keys (``shared.grants.keys``).

- ``storage``: the records' outcomes and the narrow contracts, split by artefact;
- ``store``: ``RedisGrantStore``, their Redis implementation (``codes``, ``tokens``, ``indexes``,
  ``consents``), and ``calls.GrantStats``; ``sweep``: the sweeper's batch operations;
- ``lua/``: one file per script, and one per rule the scripts share (``reuse_detection.lua``,
  ``replay_window.lua``, ``scope_narrowing.lua``, ``code_single_use.lua``); ``scripts`` composes them,
  ``shared.script_runner`` runs them.
"""
