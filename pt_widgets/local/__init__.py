"""The local workspace: a Databricks-dialect server on loopback (needs the ``local`` extra).

Nothing outside this package imports it; clients reach it over HTTP like any workspace.
"""
