"""Mavio accounts: the record and its rules (``records``), passwords (``passwords``), the one module that
reads and writes account keys (``store``) and the operations on them (``service``). Used by the registry
service and the operator CLI."""
