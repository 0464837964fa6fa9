"""What counts as a listen: the rule reads the same in Polars (report) and SQL (warehouse views)."""

import sqlite3

import polars as pl
import pytest

from spotify_assets.settings import Settings
from spotify_assets.transforms.listens import parse_listen_rule

# (ms_played, duration_ms or None, counts under 30s, under 45s, under half_or_4min)
CASES = [
    (29_999, None, False, False, False),
    (30_000, None, True, False, True),  # length unknown: half_or_4min falls back to 30 s
    (30_000, 200_000, True, False, False),  # a third of the track
    (99_999, 200_001, True, True, False),  # half is 100,000 (integer halves, as in SQL)
    (100_000, 200_001, True, True, True),
    (100_000, 200_000, True, True, True),
    (240_000, 600_000, True, True, True),  # 4 minutes of a long track
    (20_000, 25_000, False, False, False),  # a track of 30 s or less never counts by length
    (45_000, None, True, True, True),
]
RULES = ("30s", "45s", "half_or_4min")


@pytest.mark.parametrize("rule_name", RULES)
def test_the_rule_is_the_same_in_polars_and_sql(rule_name):
    rule = parse_listen_rule(rule_name)
    expected = [case[2 + RULES.index(rule_name)] for case in CASES]
    frame = pl.DataFrame(
        {"ms": [case[0] for case in CASES], "duration": [case[1] for case in CASES]},
        schema={"ms": pl.Int64, "duration": pl.Int64},
    )
    assert frame.select(rule.polars(pl.col("ms"), pl.col("duration")))["ms"].to_list() == expected
    with sqlite3.connect(":memory:") as connection:
        connection.execute("CREATE TABLE plays (ms INTEGER, duration INTEGER)")
        connection.executemany("INSERT INTO plays VALUES (?, ?)", [case[:2] for case in CASES])
        rows = connection.execute(f"SELECT {rule.sql('ms', 'duration')} FROM plays ORDER BY rowid").fetchall()
    assert [bool(value) for (value,) in rows] == expected


def test_an_unknown_rule_is_refused_with_what_is_accepted():
    with pytest.raises(ValueError, match=r"30s .*half_or_4min"):
        parse_listen_rule("most of it")
    with pytest.raises(ValueError, match="SPOTIFY_LISTEN_RULE"):
        Settings.from_env({"SPOTIFY_LISTEN_RULE": "sometimes"})
    assert Settings.from_env({}).listen_rule == "30s"
