"""Quoting of SQL identifiers, for every module that builds SQL around a name it did not choose."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """*name* as a double-quoted SQL identifier (DuckDB and ANSI): embedded quotes doubled.

    Schema, table and column names come from the contract, the user's
    ``--relation`` or a file name, so they are always quoted rather than trusted.
    """
    return '"' + name.replace('"', '""') + '"'
