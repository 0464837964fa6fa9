"""Rows on their way in and out of the warehouse: the load frame and the typed read-back.

A load frame holds a table's columns in the spec's order, sorted by primary key (so the
clustered index / SQLite rowid is appended to), in the forms both dialects store: datetimes as
UTC text `YYYY-MM-DD HH:MM:SS.ffffff`, dates as `YYYY-MM-DD`, booleans as 0/1.
"""

from __future__ import annotations

import polars as pl

from ...tables import TableSpec

DATE_TEXT_FORMAT = "%Y-%m-%d"
DATETIME_READ_FORMAT = "%Y-%m-%d %H:%M:%S%.f"


def load_expressions(spec: TableSpec) -> list[pl.Expr]:
    converted = []
    for column in spec.columns:
        expr = pl.col(column.name)
        if column.type == "datetime":
            # a cast prints microseconds always (".000000" too) and is faster than strftime
            expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(pl.String)
        elif column.type == "date":
            expr = expr.dt.strftime(DATE_TEXT_FORMAT)
        elif column.type == "bool":
            expr = expr.cast(pl.Int8)
        converted.append(expr)
    return converted


def load_frame(spec: TableSpec, frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The frame conformed to the spec, sorted by key, with values in the warehouse's text forms."""
    return (
        spec.conform(frame)
        .sort(list(spec.primary_key))
        .select(load_expressions(spec))
        .collect(engine="streaming")
    )


def from_warehouse(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows read back from either dialect, typed as the spec says."""
    converted = []
    for column in spec.columns:
        expr = pl.col(column.name)
        dtype = frame.schema[column.name]
        if column.type == "datetime":
            expr = (
                expr.str.to_datetime(DATETIME_READ_FORMAT, time_zone="UTC", time_unit="us")
                if dtype == pl.String
                else expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
            )
        elif column.type == "date" and dtype == pl.String:
            expr = expr.str.to_date(DATE_TEXT_FORMAT)
        converted.append(expr)
    return spec.conform(frame.select(converted)).collect()


def rows_frame(spec: TableSpec, rows: list[tuple]) -> pl.DataFrame:
    """Driver rows (tuples in the spec's column order) as a typed frame."""
    frame = pl.DataFrame(rows, schema=spec.column_names, orient="row", infer_schema_length=None)
    return from_warehouse(spec, frame)
