"""The shared facts below every ml layer: run ids, SQL quoting, and one verbosity option."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import duckdb
import pytest

from ml import pipeline, score, train
from ml.contracts.run_ids import RUN_ID_PATTERN, new_run_id
from ml.contracts.sql import quote_identifier, quote_literal
from reports import build


def test_a_run_id_is_the_utc_start_time_and_a_suffix():
    run_id = new_run_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert re.fullmatch(r"20260102T030405Z-[0-9a-f]{6}", run_id)
    assert re.fullmatch(RUN_ID_PATTERN, run_id)


def test_a_naive_time_is_taken_as_utc_and_another_zone_is_converted():
    assert new_run_id(datetime(2026, 1, 2, 3, 4, 5)).startswith("20260102T030405Z-")
    two_hours_east = timezone(timedelta(hours=2))
    assert new_run_id(datetime(2026, 1, 2, 5, 4, 5, tzinfo=two_hours_east)).startswith(
        "20260102T030405Z-"
    )


def test_two_run_ids_of_the_same_second_differ():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert new_run_id(now) != new_run_id(now)


def test_quoted_names_and_values_survive_quotes_of_their_own():
    name, value = 'odd "name"', "it's; drop table x"
    assert quote_identifier(name) == '"odd ""name"""'
    assert quote_literal(value) == "'it''s; drop table x'"
    with duckdb.connect() as con:
        cursor = con.execute(f"select {quote_literal(value)} as {quote_identifier(name)}")
        assert cursor.description[0][0] == name
        assert cursor.fetchone() == (value,)


@pytest.mark.parametrize(
    "parser",
    [train.build_parser(), score.build_parser(), pipeline._parser(), build._parser()],
    ids=["train", "score", "pipeline", "reports.build"],
)
def test_every_command_takes_verbose_as_log_level_debug(parser):
    extra = ["versions"] if parser.prog.endswith("pipeline") else []
    assert parser.parse_args([*extra]).log_level == "INFO"
    assert parser.parse_args([*extra, "--verbose"]).log_level == "DEBUG"
    assert parser.parse_args([*extra, "-v"]).log_level == "DEBUG"
    assert parser.parse_args([*extra, "--log-level", "WARNING"]).log_level == "WARNING"
    with pytest.raises(SystemExit):
        parser.parse_args([*extra, "--verbose", "--log-level", "WARNING"])
