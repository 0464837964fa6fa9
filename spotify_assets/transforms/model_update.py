"""The incremental model: what a model run writes, given the lake as it is.

The star schema is a function of the landing files' `clean_plays` (plus the time zone and the
overrides file). `plan_update` computes the part of that function a change touches:

1. Which files changed: `file_reads.ingest_id` differs from the one `model_state` recorded (new,
   re-ingested or removed files). Nothing changed: nothing is written.
2. Which plays to re-decide (`identity.decide`): every play_key of a changed file (new and old
   copies), plays whose duplicate_plays row points into a changed file or at such a play, and basic
   plays elsewhere that a changed file's extended/Maven plays overlap. The verdicts of these plays
   are decided again from all their copies; files whose verdicts moved are rewritten too.
3. Members (per file) are recomputed for the rewritten files; the catalogue (dimensions, name
   resolution) from all members; the fact for the rewritten files, and for basic account-data files
   whose plays now resolve differently (recomputed, compared, written only when different).
4. Every other table is compared with what the lake holds and written only when different.

A rebuild (no state yet, an interrupted update, other settings) is the same computation with every
file changed, and the reference the incremental path must equal (the property test checks it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl
import xxhash

from ..io_managers.updates import PartitionedUpdate
from ..tables import (
    CLEAN_PLAYS,
    DIM_ALBUM,
    DIM_ARTIST,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    DIM_RECORDING,
    DIM_TRACK,
    DUPLICATE_PLAYS,
    FACT_STREAMS,
    FILE_ACCOUNTING,
    FILE_READS,
    MODEL_MEMBERS,
    MODEL_STATE,
    PARTITION_COLUMN,
    TABLES,
    TRACK_METADATA,
    TRACK_RESOLUTION,
    TableSpec,
)
from .model import ENRICHMENT_COLUMNS, catalogue, fact_rows, file_members
from .rules import BASIC_JSON
from .verdicts import LakeReader, Verdicts, collect

MODEL_VERSION = "3"  # bump when the model's rules change: the next run rebuilds
FACT_ORDER = ["play_key"]
# the asset's outputs, written in this order: the fact after the tables its keys point to
OUTPUT_ORDER = (
    FILE_ACCOUNTING,
    DUPLICATE_PLAYS,
    DIM_ARTIST,
    DIM_ALBUM,
    DIM_RECORDING,
    DIM_TRACK,
    TRACK_RESOLUTION,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    FACT_STREAMS,
)


class PlayTransforms(Protocol):
    """The per-play work of a model update, the part an engine runs (Polars here, Spark elsewhere);
    the rest works on the catalogue and on the few plays a change touches."""

    def file_members(self, winners: pl.LazyFrame) -> pl.DataFrame:
        """`model.file_members` of one file's counted plays."""
        ...

    def fact_rows(self, winners: pl.LazyFrame, track_keys: pl.DataFrame, timezone: str) -> pl.LazyFrame:
        """`model.fact_rows` of one file's counted plays (lazy: it streams into the lake)."""
        ...


class PolarsPlays:
    """PlayTransforms on this machine, lazily."""

    def file_members(self, winners: pl.LazyFrame) -> pl.DataFrame:
        return pl.concat(pl.collect_all(file_members(winners), engine="streaming"))

    def fact_rows(self, winners: pl.LazyFrame, track_keys: pl.DataFrame, timezone: str) -> pl.LazyFrame:
        return fact_rows(winners, track_keys, timezone)


@dataclass(frozen=True)
class ModelSettings:
    timezone: str
    overrides: pl.DataFrame  # overrides.SCHEMA
    overrides_digest: str
    warnings: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"v{MODEL_VERSION}|{self.timezone}|{self.overrides_digest}"


@dataclass
class ModelUpdate:
    """What one model run writes: a frame (whole table), a PartitionedUpdate, or None (unchanged)."""

    mode: str  # unchanged, incremental or rebuild
    changed_files: list[str] = field(default_factory=list)
    rewritten_files: list[str] = field(default_factory=list)
    tables: dict[str, pl.DataFrame | PartitionedUpdate | None] = field(default_factory=dict)
    members: PartitionedUpdate | None = None
    state: pl.DataFrame | None = None
    warnings: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return self.mode != "unchanged"

    def steps(self) -> Iterator[tuple[TableSpec, pl.DataFrame | PartitionedUpdate | None, bool]]:
        """(table, what to write or None for unchanged, is it an asset output) in the order to write:
        the state marked incomplete first (an interruption then forces a rebuild), the members,
        every output, and the state last. Unchanged: every output, as None, and nothing else."""
        if self.writes:
            assert self.state is not None
            yield MODEL_STATE, self.state.with_columns(complete=pl.lit(False)), False
            yield MODEL_MEMBERS, self.members, False
        for spec in OUTPUT_ORDER:
            frame = self.tables.get(spec.name)
            unchanged = frame is None or (isinstance(frame, PartitionedUpdate) and frame.is_empty())
            yield spec, None if unchanged else frame, True
        if self.writes:
            yield MODEL_STATE, self.state, False


@dataclass(frozen=True)
class Enrichment:
    """What the Web API answered about tracks (`track_metadata`, found rows): the dimensions carry it,
    so a new answer updates the catalogue (never the fact)."""

    NONE = "none"

    tracks: pl.DataFrame
    digest: str

    @classmethod
    def of(cls, lake: LakeReader) -> Enrichment:
        tracks = collect(
            lake.scan(TRACK_METADATA).filter(pl.col("status") == "found").select(ENRICHMENT_COLUMNS)
        )
        if tracks.is_empty():
            return cls(tracks, cls.NONE)
        rows = tracks.sort("track_id").select(
            pl.concat_str(pl.all().cast(pl.String), separator="|", ignore_nulls=False).fill_null("?")
        )
        return cls(tracks, xxhash.xxh3_64_hexdigest("\n".join(rows.to_series()).encode()))


def _same(a: pl.DataFrame, b: pl.DataFrame, key: list[str]) -> bool:
    return a.height == b.height and a.sort(key).equals(b.sort(key))


def _changed_files(reads: pl.DataFrame, state: pl.DataFrame) -> list[str]:
    previous = dict(zip(state[PARTITION_COLUMN], state["ingest_id"], strict=False))
    current = dict(zip(reads[PARTITION_COLUMN], reads["ingest_id"], strict=False))
    changed = {key for key, ingest in current.items() if previous.get(key) != ingest}
    return sorted(changed | (previous.keys() - current.keys()))


def _needs_rebuild(
    lake: LakeReader, state: pl.DataFrame, reads: pl.DataFrame, settings: ModelSettings
) -> bool:
    if not lake.exists(MODEL_STATE) or not lake.exists(FACT_STREAMS):
        return True
    if state.is_empty():
        return not reads.is_empty()
    return _built_otherwise(state, settings)


def _built_otherwise(state: pl.DataFrame, settings: ModelSettings) -> bool:
    """A stored model_state (not empty) whose tables were built under other settings, or whose last
    update was interrupted."""
    return not state["complete"].all() or (state["settings_key"] != settings.key).any()


def settings_outdated(lake: LakeReader, settings: ModelSettings) -> bool:
    """The stored model was built under other settings (model version, time zone, overrides) or
    its last update was interrupted: the next model update rebuilds it."""
    if not lake.exists(MODEL_STATE):
        return False
    state = collect(lake.scan(MODEL_STATE).select("settings_key", "complete"))
    return state.height > 0 and _built_otherwise(state, settings)


def catalogue_outdated(lake: LakeReader) -> bool:
    """The Web API answered something (track_metadata) the dimensions do not carry yet."""
    if not lake.exists(MODEL_STATE):
        return False
    state = collect(lake.scan(MODEL_STATE).select("catalogue_key").head(1))
    return state.height > 0 and state["catalogue_key"][0] != Enrichment.of(lake).digest


def plan_update(
    lake: LakeReader, settings: ModelSettings, plays: PlayTransforms | None = None
) -> ModelUpdate:
    """Everything a model run must write to make the lake reflect every ingested file; `plays`
    runs the per-play work (default: Polars)."""
    reads = collect(lake.scan(FILE_READS))
    state = collect(lake.scan(MODEL_STATE))
    rebuild = _needs_rebuild(lake, state, reads, settings)
    present = sorted(reads[PARTITION_COLUMN])
    enrichment = Enrichment.of(lake)
    if rebuild:
        changed = sorted({*present, *state[PARTITION_COLUMN]})
    else:
        changed = _changed_files(reads, state)
        stored_key = state["catalogue_key"][0] if state.height else Enrichment.NONE
        if not changed and stored_key == enrichment.digest:
            return ModelUpdate(mode="unchanged", warnings=settings.warnings)
    formats = dict(zip(reads[PARTITION_COLUMN], reads["source_format"], strict=False))
    with_basic = [key for key in present if formats[key] in (BASIC_JSON, "mixed")]
    with_ids = [key for key in present if formats[key] not in (BASIC_JSON, "empty")]
    verdicts = Verdicts(lake, present, with_basic, with_ids)
    losers, rewritten = verdicts.rebuild() if rebuild else verdicts.incremental(changed)
    writer = _Writer(lake, settings, plays or PolarsPlays(), reads, present, changed, with_basic, rebuild)
    return writer.write(losers, rewritten, enrichment)


class _Writer:
    """Turns the verdicts of the rewritten files into the tables to write."""

    def __init__(
        self,
        lake: LakeReader,
        settings: ModelSettings,
        plays: PlayTransforms,
        reads: pl.DataFrame,
        present: list[str],
        changed: list[str],
        with_basic: list[str],
        rebuild: bool,
    ):
        self.lake, self.settings, self.plays, self.reads, self.present = lake, settings, plays, reads, present
        self.changed, self.with_basic, self.rebuild = changed, with_basic, rebuild
        self.removed = tuple(key for key in changed if key not in present)

    def winners(self, key: str, losers: pl.DataFrame) -> pl.LazyFrame:
        own = losers.filter(pl.col(PARTITION_COLUMN) == key).select("play_key")
        return self.lake.scan(CLEAN_PLAYS, [key]).join(own.lazy(), on="play_key", how="anti")

    def write(self, losers: pl.DataFrame, rewritten: list[str], enrichment: Enrichment) -> ModelUpdate:
        members = {
            key: self.plays.file_members(self.winners(key, losers)).with_columns(
                pl.lit(key).alias(PARTITION_COLUMN)
            )
            for key in rewritten
        }
        kept = (
            []
            if self.rebuild
            else [
                collect(
                    self.lake.scan(MODEL_MEMBERS)
                    .filter(
                        pl.col(PARTITION_COLUMN).is_in(self.present)
                        & ~pl.col(PARTITION_COLUMN).is_in(rewritten)
                    )
                    .select(MODEL_MEMBERS.column_names)
                )
            ]
        )
        parts = [*kept, *(frame.select(MODEL_MEMBERS.column_names) for frame in members.values())]
        all_members = MODEL_MEMBERS.conform(pl.concat(parts)).collect() if parts else MODEL_MEMBERS.empty()
        built = catalogue(all_members, self.settings.overrides, self.settings.timezone, enrichment.tracks)
        facts: dict[str, pl.DataFrame | pl.LazyFrame] = {
            key: self.plays.fact_rows(self.winners(key, losers), built.track_keys, self.settings.timezone)
            for key in rewritten
        }
        facts |= self._resolved_differently(rewritten, losers, built.track_keys)
        tables: dict[str, pl.DataFrame | PartitionedUpdate | None] = {
            name: self._if_changed(name, frame) for name, frame in built.dimensions.items()
        }
        tables[FILE_ACCOUNTING.name] = self._if_changed(
            FILE_ACCOUNTING.name, self._accounting(losers, rewritten)
        )
        tables[DUPLICATE_PLAYS.name] = self._partitions(
            {key: losers.filter(pl.col(PARTITION_COLUMN) == key).drop(PARTITION_COLUMN) for key in rewritten}
        )
        tables[FACT_STREAMS.name] = self._partitions(facts)
        return ModelUpdate(
            mode="rebuild" if self.rebuild else ("incremental" if self.changed else "catalogue"),
            changed_files=self.changed,
            rewritten_files=sorted(facts),
            tables=tables,
            members=self._partitions({key: frame.drop(PARTITION_COLUMN) for key, frame in members.items()}),
            state=self._state(enrichment.digest),
            warnings=self.settings.warnings,
        )

    def _partitions(self, frames: dict[str, pl.DataFrame | pl.LazyFrame]) -> PartitionedUpdate:
        return PartitionedUpdate(frames=frames, removed=self.removed, replace_all=self.rebuild)

    def _if_changed(self, name: str, frame: pl.DataFrame) -> pl.DataFrame | None:
        spec = TABLES[name]
        if self.rebuild or not self.lake.exists(spec):
            return frame
        stored = collect(self.lake.scan(spec))
        return None if _same(stored, frame, list(spec.primary_key)) else frame

    def _resolved_differently(
        self, rewritten: list[str], losers: pl.DataFrame, track_keys: pl.DataFrame
    ) -> dict[str, pl.DataFrame]:
        """Fact partitions of basic account-data files whose plays now count under other keys."""
        frames = {}
        for key in (key for key in self.with_basic if key not in rewritten):
            old_losers = self.lake.scan(DUPLICATE_PLAYS, [key]).select("play_key")
            winners = self.lake.scan(CLEAN_PLAYS, [key]).join(old_losers, on="play_key", how="anti")
            fresh = collect(self.plays.fact_rows(winners, track_keys, self.settings.timezone))
            stored = collect(self.lake.scan(FACT_STREAMS, [key]))
            if not _same(stored.select(fresh.columns), fresh, FACT_ORDER):
                frames[key] = fresh
        return frames

    def _accounting(self, losers: pl.DataFrame, rewritten: list[str]) -> pl.DataFrame:
        stored = self.lake.scan(DUPLICATE_PLAYS).filter(~pl.col(PARTITION_COLUMN).is_in(rewritten))
        across = pl.concat(
            [
                collect(stored.group_by(PARTITION_COLUMN).agg(pl.len().alias("across"))),
                losers.group_by(PARTITION_COLUMN).agg(pl.len().alias("across")),
            ]
        ).cast({"across": pl.Int64})
        return (
            FILE_ACCOUNTING.conform(
                self.reads.join(across, on=PARTITION_COLUMN, how="left")
                .with_columns(
                    pl.col("across").fill_null(0).alias("duplicate_across_files"),
                )
                .with_columns(
                    (pl.col("valid") - pl.col("duplicate_across_files")).alias("clean"),
                    (pl.col("duplicate_in_file") + pl.col("duplicate_across_files")).alias("duplicate"),
                )
            )
            .collect()
            .sort(PARTITION_COLUMN)
        )

    def _state(self, catalogue_key: str) -> pl.DataFrame:
        return (
            MODEL_STATE.conform(
                self.reads.select(PARTITION_COLUMN, "ingest_id").with_columns(
                    pl.lit(self.settings.key).alias("settings_key"),
                    pl.lit(catalogue_key).alias("catalogue_key"),
                    pl.lit(True).alias("complete"),
                )
            )
            .collect()
            .sort(PARTITION_COLUMN)
        )
