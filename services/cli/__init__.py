"""``mavio-oauth``: the operator's command line (``main``), and the audit trail reader (``audit``)."""
