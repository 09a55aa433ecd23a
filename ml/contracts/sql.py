"""SQL quoting, for every module that builds SQL around a name or value it did not choose."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """*name* as a double-quoted SQL identifier (DuckDB and ANSI): embedded quotes doubled.

    Schema, table and column names come from the contract, the user's
    ``--relation`` or a file name, so they are always quoted rather than trusted.
    """
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """*text* as a single-quoted SQL string literal: embedded quotes doubled.

    For the few places a value cannot be a bound parameter (a file path in
    ATTACH, a constant column in generated SQL).
    """
    return "'" + text.replace("'", "''") + "'"
