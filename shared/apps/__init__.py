"""OAuth apps: their settings, defined once (``settings``: the fields a developer edits, with their
constraints, and ``validate_app``) and the rule of each field (``validation``), the stored record
(``records``), logos (``logo``) and the one module that reads and writes app keys (``store``). The
registry service owns every change to an app and validates it; the gateway parses forms and JSON into
the settings and renders the registry's field errors; the operator CLI lists apps."""
