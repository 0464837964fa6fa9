"""The `ts` grammar (Polars twin): every accepted form, the calendar, and the rule it replaces."""

from __future__ import annotations

import itertools
import random

import polars as pl
import pytest

from spotify_assets.transforms.timestamps import (
    GROUPS,
    TIMESTAMP_PATTERN,
    parse_timestamp,
    read_timestamp,
    year_last_numbers,
)

from .timestamp_cases import CASES, expected

# The rule before issue 11: chrono's reading of one format after `T` -> space, without a final `Z`.
PREVIOUS_FORMAT = "%Y-%m-%d %H:%M:%S%.f"


def previous_rule(text: pl.Expr) -> pl.Expr:
    return (
        text.str.replace("T", " ", literal=True)
        .str.strip_suffix("Z")
        .str.to_datetime(PREVIOUS_FORMAT, strict=False, time_unit="us")
        .dt.replace_time_zone("UTC")
    )


def read(texts: list[str | None], orders: list[str | None], how=parse_timestamp) -> list:
    frame = pl.DataFrame({"text": texts, "order": orders}, schema={"text": pl.String, "order": pl.String})
    return frame.select(how(pl.col("text"), pl.col("order")).alias("ts"))["ts"].to_list()


@pytest.mark.parametrize(("text", "order", "iso"), CASES)
def test_every_form_reads_as_documented(text, order, iso):
    assert read([text], [order]) == [expected(iso)]


def test_the_whole_table_at_once_gives_the_same_values_as_one_by_one():
    texts, orders, isos = zip(*CASES, strict=True)
    assert read(list(texts), list(orders)) == [expected(iso) for iso in isos]
    assert read(list(texts), list(orders), how=read_timestamp) == [expected(iso) for iso in isos]


def test_the_result_is_a_utc_microsecond_timestamp_and_empty_input_works():
    frame = pl.DataFrame({"text": [], "order": []}, schema={"text": pl.String, "order": pl.String})
    result = frame.lazy().select(parse_timestamp(pl.col("text"), pl.col("order")).alias("ts")).collect()
    assert result.schema["ts"] == pl.Datetime("us", "UTC")
    assert result.height == 0


def _texts(rng: random.Random, choices: list[list[str]], count: int) -> list[str]:
    """`count` texts, each a concatenation of one option per list (the first, usual one half the time)."""
    return [
        "".join(options[0] if rng.random() < 0.5 else rng.choice(options) for options in choices)
        for _ in range(count)
    ]


def near_timestamps(count: int, seed: int) -> list[str]:
    """Texts around the year-first grammar: field widths, separators, white space, leap seconds ..."""
    rng = random.Random(seed)
    choices = [
        ["", " ", "+", "\t"],
        ["2019", "19", "9", "0999", "2016", "2020"],
        ["-"],
        ["9", "09", "12", "13", "0", "2", "002"],
        ["-"],
        ["2", "02", "29", "30", "31", "00", "1"],
        [" ", "T", "  ", "", "\t", " T ", "\u00a0", "t"],
        ["4", "04", "23", "24", "00", "004"],
        [":"],
        ["4", "40", "59", "60", "00"],
        [":30", "", ":3", ":60", ":61", ":30.5", ":30.", ":30.123456789", ":30.1234567891234", ":059"],
        ["Z", "", "ZZ", " ", "z", "+01:00"],
    ]
    return _texts(rng, choices, count)


def near_year_last(count: int, seed: int) -> list[str]:
    """Texts around the spreadsheet (year-last) forms."""
    rng = random.Random(seed)
    choices = [
        ["", " "],
        ["7", "07", "13", "31", "0", "32", "2", "12"],
        ["/", "-", ".", "/"],
        ["8", "08", "12", "13", "29", "0"],
        ["/", "-", ".", "/"],
        ["2013", "13", "0000", "2020", "2021"],
        [" ", "  ", "\t", "", "T"],
        ["2", "02", "12", "13", "0", "24"],
        [":", ".", ":"],
        ["44", "4", "60", "00"],
        ["", ":05", ".05", ":60", ":05.25", ":5"],
        ["", " PM", "am", " P.M.", " x", "pm"],
        ["", " "],
    ]
    return _texts(rng, choices, count)


def test_everything_the_previous_rule_read_reads_the_same():
    texts = near_timestamps(60_000, seed=7)
    frame = pl.DataFrame({"text": texts}).with_columns(
        before=previous_rule(pl.col("text")),
        now=parse_timestamp(pl.col("text"), pl.lit(None, pl.String)),
    )
    compared = frame.filter(pl.col("before").is_not_null())
    assert compared.height > 1_000  # the sample exercises the old grammar
    assert compared.filter(pl.col("now") != pl.col("before")).height == 0
    assert compared["now"].null_count() == 0
    assert frame.filter(pl.col("before").is_null() & pl.col("now").is_not_null()).height > 0  # and more


# chrono's readings that no export writes and Spark never read: deliberately not timestamps now
DROPPED = [
    "0000-01-01 00:00:00",
    "+02019-09-20 14:40:30",
    "-2019-09-20 14:40:30",
    "2019- 09-20 14: 40:30",
    "T2019-09-20 14:40:30",
]


def test_chrono_oddities_that_no_export_writes_are_no_longer_read():
    frame = pl.DataFrame({"text": DROPPED}).with_columns(
        before=previous_rule(pl.col("text")), now=parse_timestamp(pl.col("text"), pl.lit(None, pl.String))
    )
    assert frame["before"].null_count() == 0
    assert frame["now"].null_count() == len(DROPPED)


def test_the_fast_path_reads_exactly_what_the_grammar_reads():
    texts = (
        near_timestamps(5_000, seed=8)
        + near_year_last(5_000, seed=8)
        + [
            f"{year}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}{second}{zone}"
            for year, month, day, sep, hour, minute, second, zone in itertools.product(
                (1000, 2016, 2020, 9999),
                (2, 12),
                (28, 29, 30),
                (" ", "T"),
                (0, 23),
                (0, 59),
                ("", ":00", ":59"),
                ("", "Z"),
            )
        ]
    )
    frame = pl.DataFrame({"text": texts}).with_columns(
        fast=parse_timestamp(pl.col("text"), pl.lit("dmy")),
        grammar=read_timestamp(pl.col("text"), pl.lit("dmy")),
    )
    assert frame.filter(pl.col("fast").is_not_null()).height > 1_000
    assert frame.filter(pl.col("fast").ne_missing(pl.col("grammar"))).height == 0


def test_year_last_orders_read_the_same_instant_written_both_ways():
    days = pl.datetime_range(pl.datetime(2013, 1, 1), pl.datetime(2013, 12, 31), interval="7h", eager=True)
    frame = pl.DataFrame({"when": days.dt.replace_time_zone("UTC")}).with_columns(
        mdy=pl.col("when").dt.strftime("%-m/%-d/%Y %-H:%M"),
        dmy=pl.col("when").dt.strftime("%d-%m-%Y %-H.%M"),
    )
    read_back = frame.select(
        parse_timestamp(pl.col("mdy"), pl.lit("mdy")).alias("mdy"),
        parse_timestamp(pl.col("dmy"), pl.lit("dmy")).alias("dmy"),
    )
    assert read_back["mdy"].to_list() == frame["when"].to_list()
    assert read_back["dmy"].to_list() == frame["when"].to_list()


def test_the_date_order_evidence_is_the_grammars_first_two_numbers():
    """year_last_numbers (a shape test and a split) agrees with the grammar's captures."""
    texts = near_year_last(6_000, seed=11) + near_timestamps(2_000, seed=11)
    parts = pl.col("parts").struct.field
    same_separators = (parts("l_date_sep") == parts("l_date_sep_2")) & (
        parts("l_time_sep_2").is_null() | (parts("l_time_sep") == parts("l_time_sep_2"))
    )
    frame = (
        pl.DataFrame({"text": texts})
        .with_columns(
            year_last_numbers(pl.col("text")),
            pl.col("text")
            .str.extract_groups(TIMESTAMP_PATTERN)
            .struct.rename_fields(list(GROUPS))
            .alias("parts"),
        )
        .with_columns(
            pl.when(same_separators).then(parts("l_a").cast(pl.Int32)).alias("grammar_a"),
            pl.when(same_separators).then(parts("l_b").cast(pl.Int32)).alias("grammar_b"),
        )
    )
    assert frame["a"].is_not_null().sum() > 1_000
    assert (
        frame.filter(
            pl.col("a").ne_missing(pl.col("grammar_a")) | pl.col("b").ne_missing(pl.col("grammar_b"))
        ).height
        == 0
    )
