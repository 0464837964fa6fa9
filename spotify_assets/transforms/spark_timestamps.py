"""The Spark twin of `timestamps.py`: the same grammar, the same UTC timestamps, in Spark SQL functions.

The grammar is `timestamps.TIMESTAMP_PATTERN`, used here with `(?U)` so that Java's `\\s` is
Unicode white space as in Rust. One `regexp_replace` writes a matching value's captures as one
`|`-separated text (a group that took no part writes nothing), so each value is matched twice
(`rlike`, then the replacement) rather than once per capture group. The calendar is checked by
`try_make_timestamp` (null for February 30, hour 24, ...); seconds and the fraction are added to
the start of the minute as in the Polars twin, so a second of 60 is the next minute's first.

The session must run in UTC (`spark_clean.SESSION_CONFIG`).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from .timestamps import GROUPS, TIMESTAMP_PATTERN

JAVA_PATTERN = "(?U)" + TIMESTAMP_PATTERN
CAPTURES = "|".join(f"${index}" for index in range(1, len(GROUPS) + 1))


def parse_timestamp(text: Column, date_order: Column) -> Column:
    """`timestamps.parse_timestamp` in Spark: `text` as a UTC timestamp, null when not an accepted
    form; `date_order` (`dmy`, `mdy` or null) reads year-last values."""
    matches = text.rlike(JAVA_PATTERN)
    captured = F.when(matches, F.split(F.regexp_replace(text, JAVA_PATTERN, CAPTURES), r"\|"))

    def part(name: str) -> Column:
        return F.nullif(F.try_element_at(captured, F.lit(GROUPS.index(name) + 1)), F.lit(""))

    def number(name: str) -> Column:
        return part(name).try_cast("int")

    a, b = number("l_a"), number("l_b")
    day_first, month_first = date_order == "dmy", date_order == "mdy"
    consistent = part("l_year").isNull() | (
        (part("l_date_sep") == part("l_date_sep_2"))
        & (part("l_time_sep_2").isNull() | (part("l_time_sep") == part("l_time_sep_2")))
    )
    year = F.coalesce(number("year"), number("l_year"))
    month = F.coalesce(number("month"), F.when(day_first, b).when(month_first, a))
    day = F.coalesce(number("day"), F.when(day_first, a).when(month_first, b))
    hour = F.coalesce(number("hour"), _hour_24(number("l_hour"), part("l_meridiem")))
    minute = F.coalesce(number("minute"), number("l_minute"))
    seconds = F.coalesce(number("second"), number("l_second"), F.lit(0)).cast("bigint")
    fraction = F.coalesce(part("fraction"), part("l_fraction"))
    micros = F.coalesce(F.rpad(F.substring(fraction, 1, 6), 6, "0").try_cast("bigint"), F.lit(0))
    minute_start = F.try_make_timestamp(year, month, day, hour, minute, F.lit(0), F.lit("UTC"))
    stamp = F.timestamp_micros(F.unix_micros(minute_start) + seconds * 1_000_000 + micros)
    return F.when(matches & consistent & (year >= 1) & (seconds <= 60), stamp)


def _hour_24(hour: Column, meridiem: Column) -> Column:
    """The hour on a 24-hour clock (with `AM`/`PM`, hours must be 1..12)."""
    pm = F.when(F.lower(meridiem) == "p", 12).otherwise(0)
    twelve_hour = F.when((hour >= 1) & (hour <= 12), hour % 12 + pm)
    return F.when(meridiem.isNull(), hour).otherwise(twelve_hour)
