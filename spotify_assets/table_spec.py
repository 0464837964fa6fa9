"""How a table is specified: `TableSpec`, its columns and keys, and what is derived from them.

A `TableSpec` names a table's columns, logical types, primary key, foreign keys and indexes.
The Delta IO manager casts to `polars_schema()` before it writes, the warehouse derives its DDL
from the same spec, the asset checks test its keys, and the UI shows its column schema. The
declarations of the platform's tables are in `table_defs/`, indexed by `tables.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

PARTITION_COLUMN = "landing_file"

POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int64": pl.Int64(),
    "int32": pl.Int32(),
    "int16": pl.Int16(),
    "float64": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = True
    # Longest value a warehouse must hold in an indexed (VARCHAR) column; None means free text.
    max_length: int | None = None

    def __post_init__(self) -> None:
        if self.type not in POLARS_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class ForeignKey:
    """`table.column` references `parent.parent_column` (the parent's primary key). A null value
    references nothing: it is allowed unless the column is declared not-null."""

    table: str
    column: str
    parent: str
    parent_column: str
    nullable: bool


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    # column -> referenced table; the referenced column is that table's (one-column) primary key,
    # whatever its name: {"sample_track_key": "dim_track"} references dim_track.track_key
    foreign_keys: dict[str, str] = field(default_factory=dict)
    indexes: tuple[tuple[str, ...], ...] = ()
    partitioned: bool = False  # one Delta partition per landing file, in PARTITION_COLUMN

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    def polars_schema(self) -> pl.Schema:
        return pl.Schema({column.name: POLARS_TYPES[column.type] for column in self.columns})

    def conform(self, frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
        """The frame with exactly this table's columns, in order, cast to their types."""
        return frame.lazy().select(
            pl.col(column.name).cast(POLARS_TYPES[column.type]) for column in self.columns
        )

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema())

    def references(self, tables: Mapping[str, TableSpec]) -> list[ForeignKey]:
        """Every foreign key, with the column it references (`tables`: every spec by name)."""
        return [
            ForeignKey(
                table=self.name,
                column=column,
                parent=parent,
                parent_column=tables[parent].primary_key[0],
                nullable=self.column(column).nullable and column not in self.primary_key,
            )
            for column, parent in self.foreign_keys.items()
        ]

    def dagster_column_schema(self) -> dg.TableSchema:
        return dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=column.name,
                    type=column.type,
                    description=column.description,
                    constraints=dg.TableColumnConstraints(
                        nullable=column.nullable and column.name not in self.primary_key,
                        unique=self.primary_key == (column.name,),
                    ),
                )
                for column in self.columns
            ],
            constraints=dg.TableConstraints(
                other=[f"primary key ({', '.join(self.primary_key)})"]
                + [f"{column} references {table}" for column, table in self.foreign_keys.items()]
            ),
        )


def check_foreign_keys(tables: Mapping[str, TableSpec]) -> None:
    """Raises ValueError for a foreign key that cannot hold: an unknown column or table, a parent
    whose primary key is not one column, or a column whose type differs from the one it references."""
    for spec in tables.values():
        for column, parent in spec.foreign_keys.items():
            where = f"{spec.name}.{column} -> {parent}"
            if column not in spec.column_names:
                raise ValueError(f"{where}: no column {column} in {spec.name}")
            if parent not in tables:
                raise ValueError(f"{where}: no table {parent}")
            parent_key = tables[parent].primary_key
            if len(parent_key) != 1:
                raise ValueError(f"{where}: {parent}'s primary key {parent_key} is not one column")
            if spec.column(column).type != tables[parent].column(parent_key[0]).type:
                raise ValueError(f"{where}: {column} is not of the type of {parent}.{parent_key[0]}")
