"""Cross-file verdicts for a model update: which copies of the plays a change touches lose (count
as duplicates), decided again from all their copies (`identity.decide`), and which files' verdicts
that moves. `model_update` turns the verdicts into tables."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast

import polars as pl

from ..tables import CLEAN_PLAYS, DUPLICATE_PLAYS, FACT_STREAMS, PARTITION_COLUMN, TableSpec
from .identity import COPY_COLUMNS, LOSER_COLUMNS, MATCH_COLUMNS, WINDOW, decide, no_losers, overlap_matches
from .rules import BASIC_JSON


class LakeReader(Protocol):
    def scan(self, spec: TableSpec, partitions: list[str] | None = None) -> pl.LazyFrame: ...

    def exists(self, spec: TableSpec) -> bool: ...


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect(engine="streaming")


class Verdicts:
    """Cross-file verdicts: the losers of the plays to re-decide, and the files they move."""

    def __init__(self, lake: LakeReader, present: list[str], with_basic: list[str], with_ids: list[str]):
        self.lake, self.present, self.with_basic, self.with_ids = lake, present, with_basic, with_ids

    def copies(self, partitions: list[str]) -> pl.LazyFrame:
        return self.lake.scan(CLEAN_PLAYS, partitions).select(*COPY_COLUMNS, *MATCH_COLUMNS)

    def id_copies(self) -> pl.LazyFrame:
        return self.copies(self.with_ids).filter(pl.col("source_format") != BASIC_JSON)

    def decide(self, keys: pl.Series) -> pl.DataFrame:
        """The losers among every copy of the plays `keys`. The files holding them are found on the
        narrow key column first, so only those files' other columns are read."""
        wanted = pl.col("play_key").is_in(keys.implode())
        holders = collect(
            self.lake.scan(CLEAN_PLAYS, self.present)
            .select(PARTITION_COLUMN, "play_key")
            .filter(wanted)
            .select(PARTITION_COLUMN)
            .unique()
        )[PARTITION_COLUMN]
        if holders.is_empty():
            return no_losers()
        copies = collect(self.copies(sorted(holders)).filter(wanted))
        return decide(copies, self.id_copies())

    def rebuild(self) -> tuple[pl.DataFrame, list[str]]:
        """Every play with more than one copy, and every basic play, decided from scratch."""
        keys = collect(self.copies(self.present).select("play_key"))["play_key"]
        repeated = keys.filter(keys.is_duplicated())
        basic = collect(
            self.copies(self.with_basic).filter(pl.col("source_format") == BASIC_JSON).select("play_key")
        )["play_key"]
        return self.decide(pl.concat([repeated, basic]).unique()), self.present

    def incremental(self, changed: list[str]) -> tuple[pl.DataFrame, list[str]]:
        new = collect(self.copies([key for key in changed if key in self.present]))
        old_losers = collect(self.lake.scan(DUPLICATE_PLAYS).select(LOSER_COLUMNS))
        old_winners = collect(self.lake.scan(FACT_STREAMS, changed).select("play_key"))["play_key"]
        touching = old_losers.filter(
            pl.col(PARTITION_COLUMN).is_in(changed) | pl.col("kept_landing_file").is_in(changed)
        )["play_key"]
        keys = pl.concat([new["play_key"], old_winners, touching, self._overlapped_elsewhere(new, changed)])
        pointing = old_losers.filter(pl.col("kept_play_key").is_in(keys.implode()))["play_key"]
        keys = pl.concat([keys, pointing]).unique()
        losers = self.decide(keys)
        before = old_losers.filter(pl.col("play_key").is_in(keys.implode()))
        moved = pl.concat(
            [
                losers.join(before, on=LOSER_COLUMNS, how="anti"),
                before.join(losers, on=LOSER_COLUMNS, how="anti"),
            ]
        )[PARTITION_COLUMN]
        rewritten = sorted({*changed, *moved} & set(self.present))
        kept = old_losers.filter(
            pl.col(PARTITION_COLUMN).is_in(rewritten) & ~pl.col("play_key").is_in(keys.implode())
        )
        return pl.concat([kept, losers]).filter(pl.col(PARTITION_COLUMN).is_in(rewritten)), rewritten

    def _overlapped_elsewhere(self, new: pl.DataFrame, changed: list[str]) -> pl.Series:
        """Basic plays of unchanged files that the changed files' extended/Maven plays overlap."""
        new_ids = new.filter(pl.col("source_format") != BASIC_JSON)
        others = [key for key in self.with_basic if key not in changed]
        if new_ids.is_empty() or not others:
            return pl.Series("play_key", [], pl.Int64)
        first, last = cast(datetime, new_ids["ts_utc"].min()), cast(datetime, new_ids["ts_utc"].max())
        basic = collect(
            self.copies(others).filter(
                (pl.col("source_format") == BASIC_JSON)
                & pl.col("ms_played").is_in(new_ids["ms_played"].unique().implode())
                & pl.col("ts_utc").is_between(first - WINDOW, last + WINDOW)
            )
        )
        return overlap_matches(basic, new_ids.lazy())["play_key"]
