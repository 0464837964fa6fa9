"""Reading a history's `ts` text as a UTC timestamp: one grammar for every format (Polars).

Accepted forms (the value may have white space around it; fields of one or two digits):

* **Year first**, as the exports write it: Extended `2019-09-20T14:40:30Z`, Maven
  `2019-09-20 14:40:30`, basic account data `2024-03-01 17:04`, and spreadsheets that keep ISO
  dates. `T` or any white space (or none) between date and time, seconds optional, a fraction of
  a second after them (truncated to microseconds), an optional `Z`, an optional `+` before the year.
* **Year last**, as spreadsheets save the Maven CSV: `7/8/2013 2:44`, `08-07-2013 2.44`,
  `8.7.2013 14:44:05`, `7/8/2013 2:44 PM`: date parts separated by the same `/`, `-` or `.`, a
  four-digit year, white space, then hour and minute separated by `:` or `.` (seconds after the
  same separator, optional), an optional `AM`/`PM` (`a.m.` ...; hours 1-12 then). Whether the
  first number is the day or the month is not in the value: it comes from `date_order` (`dmy` or
  `mdy`), which the parser decides per file (`parse.date_order_of`); with no order such a value
  is unreadable.

Every value is UTC (the exports write UTC without saying so). A second of 60 is a leap second and
reads as the first second of the next minute, as chrono (Polars' own parser) reads it. Anything
else, or an impossible date or time (February 30, 24:00, 13 PM), is null.

The grammar is one regular expression (`TIMESTAMP_PATTERN`, a year-first and a year-last
alternative) shared with the Spark twin (`spark_timestamps.py`), so both engines accept exactly
the same texts; the calendar check is chrono's (here) and Java's (there) on the captured numbers.
Years run from 1 to 9999. It accepts everything the previous rule
(`%Y-%m-%d %H:%M:%S%.f` after `T` -> space and without a trailing `Z`) read from real exports;
chrono's odder readings that no export writes (white space inside a number, a negative or
five-digit year, a `T` anywhere in the text) are no longer read, so both engines now agree on them.
"""

from __future__ import annotations

import polars as pl

# The grammar: one regular expression, valid with the same meaning in Rust (Polars) and Java
# (Spark, after `(?U)` so that `\s` is Unicode white space there too, as in Rust and chrono);
# digits are spelled [0-9] because Rust's \d is Unicode. The year-first alternative is tried first.
YEAR_FIRST = (
    r"\+?([0-9]{1,4})-([0-9]{1,2})-([0-9]{1,2})\s*T?\s*"
    r"([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:\.([0-9]+))?)?Z?"
)
YEAR_LAST = (
    r"([0-9]{1,2})([/.-])([0-9]{1,2})([/.-])([0-9]{4})\s+"
    r"([0-9]{1,2})([:.])([0-9]{1,2})(?:([:.])([0-9]{1,2})(?:\.([0-9]+))?)?"
    r"(?:\s*([AaPp])\.?[Mm]\.?)?"
)
TIMESTAMP_PATTERN = rf"^\s*(?:{YEAR_FIRST}|{YEAR_LAST})\s*$"
# YEAR_LAST with one date separator and one time separator, without captures (a fast test)
_YEAR_LAST_SHAPES = [
    rf"[0-9]{{1,2}}{date}[0-9]{{1,2}}{date}[0-9]{{4}}\s+[0-9]{{1,2}}{time}[0-9]{{1,2}}"
    rf"(?:{time}[0-9]{{1,2}}(?:\.[0-9]+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?"
    for date in ("/", "-", r"\.")
    for time in (":", r"\.")
]
YEAR_LAST_SHAPE = rf"^\s*(?:{'|'.join(_YEAR_LAST_SHAPES)})\s*$"
# capture groups of TIMESTAMP_PATTERN, in order (year-last ones start with `l_`)
GROUPS = (
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "fraction",
    "l_a",
    "l_date_sep",
    "l_b",
    "l_date_sep_2",
    "l_year",
    "l_hour",
    "l_time_sep",
    "l_minute",
    "l_time_sep_2",
    "l_second",
    "l_fraction",
    "l_meridiem",
)
# The forms the exports write, read directly (years from 1000, times that exist; any other value
# takes the grammar's way, which reads these the same).
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
FAST_FORMS = (
    (rf"^[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}} {_TIME}:[0-5][0-9]$", "%Y-%m-%d %H:%M:%S"),  # Maven
    (rf"^[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}}T{_TIME}:[0-5][0-9]Z$", "%Y-%m-%dT%H:%M:%SZ"),  # Extended
    (rf"^[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}} {_TIME}$", "%Y-%m-%d %H:%M"),  # basic account data
)
FAST_SHAPE = "|".join(f"(?:{shape})" for shape, _ in FAST_FORMS)
# A year-last value proves its file's order when one of its first two numbers is 13..31.
DAY_ONLY = (13, 31)


def parse_timestamp(text: pl.Expr, date_order: pl.Expr) -> pl.Expr:
    """`text` (a String expression) as Datetime("us", "UTC"), null when it is not an accepted form.

    `date_order` (String: `dmy`, `mdy` or null) says how to read year-last values; it does not
    matter for year-first ones. The exact forms the exports write (FAST_FORMS) are read by Polars'
    fixed-format parser; only the other values go through the grammar (`read_timestamp`), which
    reads those forms the same but costs several times more per value.
    """
    fast = pl.coalesce(
        pl.when(text.str.contains(shape)).then(text).str.to_datetime(format_, strict=False, time_unit="us")
        for shape, format_ in FAST_FORMS
    ).dt.replace_time_zone("UTC")
    # the grammar sees only the values of no fast form (nulls cost it next to nothing); a value of a
    # fast form that the fixed-format parser refuses (February 30) is no timestamp in the grammar either
    rest = pl.when(text.str.contains(FAST_SHAPE)).then(pl.lit(None, pl.String)).otherwise(text)
    return pl.coalesce(fast, read_timestamp(rest, date_order))


def read_timestamp(text: pl.Expr, date_order: pl.Expr) -> pl.Expr:
    """The grammar itself: `parse_timestamp` without its fast path (same results, slower)."""
    part = pl.field("parts").struct.field
    a, b = part("l_a"), part("l_b")
    day_first, month_first = pl.field("order") == "dmy", pl.field("order") == "mdy"
    consistent = part("l_year").is_null() | _separators_agree(part)
    seconds, micros = pl.field("seconds"), pl.field("micros")
    # struct fields work as `let`: each step is computed once (common subexpressions are not
    # reliably shared under when/then); the captures are taken outside the struct (on null text
    # that is much cheaper there) and stay one field (unnesting them would repeat the regex per field)
    return (
        pl.struct(_captures(text).alias("parts"), date_order.alias("order"))
        .struct.with_fields(
            consistent.alias("consistent"),
            pl.coalesce(part("year"), part("l_year")).cast(pl.Int32).alias("year"),
            pl.concat_str(
                [
                    pl.coalesce(part("year"), part("l_year")),
                    pl.lit("-"),
                    pl.coalesce(part("month"), pl.when(day_first).then(b).when(month_first).then(a)),
                    pl.lit("-"),
                    pl.coalesce(part("day"), pl.when(day_first).then(a).when(month_first).then(b)),
                    pl.lit(" "),
                    pl.coalesce(
                        part("hour").cast(pl.Int32), _hour_24(part("l_hour"), part("l_meridiem"))
                    ).cast(pl.String),
                    pl.lit(":"),
                    pl.coalesce(part("minute"), part("l_minute")),
                ]
            ).alias("minute_text"),
            pl.coalesce(part("second"), part("l_second")).cast(pl.Int64).fill_null(0).alias("seconds"),
            pl.coalesce(part("fraction"), part("l_fraction"))
            .str.slice(0, 6)
            .str.pad_end(6, "0")
            .cast(pl.Int64)
            .fill_null(0)
            .alias("micros"),
        )
        .struct.with_fields(
            # chrono checks the calendar; years from 1 (Spark has no year 0)
            pl.when(pl.field("consistent") & (pl.field("year") >= 1) & (seconds <= 60))
            .then(pl.field("minute_text").str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us"))
            .dt.replace_time_zone("UTC")
            .alias("minute_start")
        )
        .struct.with_fields(
            (pl.field("minute_start") + pl.duration(microseconds=seconds * 1_000_000 + micros)).alias(
                "timestamp"
            )
        )
        .struct.field("timestamp")
    )


def year_last_numbers(text: pl.Expr) -> pl.Expr:
    """The first two numbers of a year-last value as two Int32 columns `a` and `b` (null when the
    value is not year-last): what `parse.date_order_of` weighs to decide a file's order. Cheap: a
    shape test without captures, then two small captures, as it runs over every value of a file."""
    shaped = pl.when(text.str.contains(YEAR_LAST_SHAPE)).then(text)
    numbers = shaped.str.extract_groups(r"^\s*([0-9]{1,2})[/.-]([0-9]{1,2})")
    return numbers.struct.rename_fields(["a", "b"]).struct.field("a", "b").cast(pl.Int32)


def _separators_agree(part) -> pl.Expr:
    """A year-last value uses one date separator and one time separator."""
    return (part("l_date_sep") == part("l_date_sep_2")) & (
        part("l_time_sep_2").is_null() | (part("l_time_sep") == part("l_time_sep_2"))
    )


def _captures(text: pl.Expr) -> pl.Expr:
    return text.str.extract_groups(TIMESTAMP_PATTERN).struct.rename_fields(list(GROUPS))


def _hour_24(hour_text: pl.Expr, meridiem_text: pl.Expr) -> pl.Expr:
    """The hour on a 24-hour clock (with `AM`/`PM`, hours must be 1..12)."""
    hour = hour_text.cast(pl.Int32)
    meridiem = meridiem_text.str.to_lowercase()
    twelve_hour = pl.when((hour >= 1) & (hour <= 12)).then(
        hour % 12 + pl.when(meridiem == "p").then(12).otherwise(0)
    )
    return pl.when(meridiem.is_null()).then(hour).otherwise(twelve_hour)
