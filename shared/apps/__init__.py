"""OAuth apps: the stored record (``records``), input validation (``validation``), logos (``logo``) and
the one module that reads and writes app keys (``store``). The registry service owns every change to an
app; the gateway validates forms with the same rules, the operator CLI lists apps."""
