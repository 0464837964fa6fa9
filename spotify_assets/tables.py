"""Every table of the platform, specified once.

A `TableSpec` names a table's columns, logical types, primary key, foreign keys and indexes.
The Delta IO manager casts to `polars_schema()` before it writes, the warehouse derives its DDL
from the same spec, the asset checks test its keys, and the UI shows its column schema.
Table names are asset names: the same in the lake, the warehouse and the UI.
"""

from __future__ import annotations

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
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: dict[str, str] = field(default_factory=dict)  # column -> referenced table
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


def _col(name: str, type_: str, description: str, **options) -> Column:
    return Column(name, type_, description, **options)


LANDING_FILE = _col(
    PARTITION_COLUMN, "string", "Partition key: landing file stem plus a short content hash.",
    nullable=False, max_length=200,
)
SOURCE_FILE = _col(
    "source_file", "string", "File the row came from (for a ZIP: archive/member).",
    nullable=False, max_length=400,
)
SOURCE_LINE = _col(
    "source_line", "int64",
    "CSV: physical line where the record starts (header is line 1). JSON: record number, from 1.",
    nullable=False,
)

RAW_TEXT_FIELDS = (
    "ts", "platform", "ms_played", "spotify_track_uri", "track_name", "artist_name", "album_name",
    "reason_start", "reason_end", "shuffle", "skipped", "offline", "incognito_mode", "conn_country",
    "episode_name", "episode_show_name", "spotify_episode_uri", "audiobook_title", "audiobook_uri",
    "audiobook_chapter_uri", "audiobook_chapter_title", "author_name",
)

RAW_PLAYS = TableSpec(
    name="raw_plays",
    description="One row per record read from a landing file, values as text exactly as they came.",
    columns=(
        LANDING_FILE,
        SOURCE_FILE,
        SOURCE_LINE,
        _col("source_format", "string", "maven_csv, extended_json or basic_json.", nullable=False),
        _col("date_order", "string",
             "How the file writes year-last dates: dmy or mdy (decided per CSV file from its values), "
             "else null."),
        _col("parse_error", "string", "Structural problem found while reading (e.g. wrong column count)."),
        _col("raw_text", "string", "The record as read, kept for rows with a parse error."),
        *(_col(name, "string", f"`{name}` as read from the file.") for name in RAW_TEXT_FIELDS),
    ),
    primary_key=(PARTITION_COLUMN, "source_file", "source_line"),
    partitioned=True,
)

CONTENT_TYPES = ("track", "episode", "audiobook")

CLEAN_PLAYS = TableSpec(
    name="clean_plays",
    description="One row per distinct valid play of at least 500 ms, typed; duplicates kept once.",
    columns=(
        _col("play_key", "int64", "Stable key of the play (see keys.play_key).", nullable=False),
        LANDING_FILE,
        SOURCE_FILE,
        SOURCE_LINE,
        _col("ts_utc", "datetime", "When the play ended, UTC.", nullable=False),
        _col("content_type", "string", "track, episode or audiobook.", nullable=False),
        _col("content_id", "string", "Spotify id (22 base62 characters) of the track/episode/chapter.",
             nullable=False),
        _col("track_name", "string", "Track, episode or chapter title.", nullable=False),
        _col("artist_name", "string", "Artist; for podcasts the show; for audiobooks the book.",
             nullable=False),
        _col("album_name", "string", "Album; for podcasts the show; for audiobooks the book.",
             nullable=False),
        _col("platform", "string", "Device/platform as reported.", nullable=False),
        _col("reason_start", "string", "Why the play started (unknown when missing).", nullable=False),
        _col("reason_end", "string", "Why the play ended (unknown when missing).", nullable=False),
        _col("ms_played", "int64", "Milliseconds played.", nullable=False),
        _col("shuffle", "bool", "Shuffle was on.", nullable=False),
        _col("skipped", "bool", "The listener skipped to the next item.", nullable=False),
        _col("offline", "bool", "Played offline (Extended history only).", nullable=False),
        _col("incognito_mode", "bool", "Private session (Extended history only).", nullable=False),
        _col("conn_country", "string", "Country code of the connection (Extended history only)."),
    ),
    primary_key=("play_key",),
    partitioned=True,
)

REJECT_REASONS = {
    "wrong_column_count": "the record does not have as many fields as the header",
    "bad_timestamp": "ts is missing or not a timestamp",
    "ms_played_not_integer": "ms_played is missing or not a whole number",
    "ms_played_negative": "ms_played is negative",
    "missing_content_id": "no track, episode or audiobook URI",
    "malformed_content_id": "the URI is not a 22-character base62 id or spotify:<type>:<id>",
    "bad_boolean": "shuffle/skipped/offline/incognito_mode is not true or false",
}

REJECTED_PLAYS = TableSpec(
    name="rejected_plays",
    description="One row per record that could not be used, with where it was and why.",
    columns=(
        LANDING_FILE,
        SOURCE_FILE,
        SOURCE_LINE,
        _col("reason", "string", f"Reason code, one of: {', '.join(REJECT_REASONS)}.", nullable=False,
             max_length=64),
        _col("detail", "string", "Human-readable explanation naming the bad value.", nullable=False),
        _col("raw_text", "string", "The record as read (CSV line or JSON object).", nullable=False),
    ),
    primary_key=(PARTITION_COLUMN, "source_file", "source_line"),
    indexes=(("reason",),),
    partitioned=True,
)

FILE_ACCOUNTING = TableSpec(
    name="file_accounting",
    description="One row per landing file: every row read is counted as clean, filtered, duplicate or rejected.",
    columns=(
        LANDING_FILE,
        _col("file_name", "string", "Name of the landing file.", nullable=False),
        _col("content_hash", "string", "xxh3-64 of the file's bytes.", nullable=False),
        _col("source_format", "string", "maven_csv or extended_json.", nullable=False),
        _col("rows_read", "int64", "Records read (blank lines excluded).", nullable=False),
        _col("clean", "int64", "Rows kept in clean_plays.", nullable=False),
        _col("filtered", "int64", "Valid rows under 500 ms.", nullable=False),
        _col("duplicate", "int64", "Exact repeats of a play already kept (this file or another).",
             nullable=False),
        _col("rejected", "int64", "Rows sent to rejected_plays.", nullable=False),
    ),
    primary_key=(PARTITION_COLUMN,),
    partitioned=True,
)

KEY = dict(nullable=False)

DIM_ARTIST = TableSpec(
    name="dim_artist",
    description="One row per artist (podcast show, audiobook) heard.",
    columns=(
        _col("artist_key", "int64", "Stable key: stable_key(lower(trim(artist_name))).", **KEY),
        _col("artist_name", "string", "Artist name as shown.", nullable=False, max_length=512),
    ),
    primary_key=("artist_key",),
    indexes=(("artist_name",),),
)

DIM_ALBUM = TableSpec(
    name="dim_album",
    description="One row per album, an album being its name plus its artist.",
    columns=(
        _col("album_key", "int64", "Stable key: stable_key(album name, artist name).", **KEY),
        _col("album_name", "string", "Album name as shown.", nullable=False),
        _col("artist_key", "int64", "The album's artist.", **KEY),
        _col("content_type", "string", "track (music album), episode (show) or audiobook.", nullable=False),
        _col("sample_track_id", "string", "One track of the album (smallest id), used to look up its cover.",
             nullable=False, max_length=64),
        _col("first_landing_file", "string",
             "Landing file of the album's earliest play: the album_art partition that looks it up.",
             nullable=False, max_length=200),
    ),
    primary_key=("album_key",),
    foreign_keys={"artist_key": "dim_artist"},
)

DIM_TRACK = TableSpec(
    name="dim_track",
    description="One row per track, podcast episode or audiobook chapter played.",
    columns=(
        _col("track_key", "int64", "Stable key: stable_key(content_type, content_id).", **KEY),
        _col("track_id", "string", "Spotify id.", nullable=False, max_length=64),
        _col("track_uri", "string", "spotify:<type>:<id>.", nullable=False, max_length=96),
        _col("track_name", "string", "Title as last seen.", nullable=False),
        _col("content_type", "string", "track, episode or audiobook.", nullable=False, max_length=16),
        _col("artist_key", "int64", "Artist (show, book) as last seen.", **KEY),
        _col("album_key", "int64", "Album (show, book) as last seen.", **KEY),
    ),
    primary_key=("track_key",),
    foreign_keys={"artist_key": "dim_artist", "album_key": "dim_album"},
)

DIM_DATE = TableSpec(
    name="dim_date",
    description="One row per calendar day from the first to the last local listening day.",
    columns=(
        _col("date_key", "int32", "yyyymmdd.", **KEY),
        _col("date", "date", "The day.", nullable=False),
        _col("year", "int16", "Year.", nullable=False),
        _col("quarter", "int16", "Quarter 1-4.", nullable=False),
        _col("month", "int16", "Month 1-12.", nullable=False),
        _col("month_name", "string", "January ... December.", nullable=False),
        _col("day", "int16", "Day of month.", nullable=False),
        _col("weekday", "int16", "ISO weekday, Monday = 1.", nullable=False),
        _col("weekday_name", "string", "Monday ... Sunday.", nullable=False),
        _col("iso_week", "int16", "ISO week number.", nullable=False),
        _col("is_weekend", "bool", "Saturday or Sunday.", nullable=False),
    ),
    primary_key=("date_key",),
)

DIM_PLATFORM = TableSpec(
    name="dim_platform",
    description="One row per platform string reported by Spotify.",
    columns=(
        _col("platform_key", "int64", "Stable key: stable_key(lower(trim(platform))).", **KEY),
        _col("platform", "string", "Platform as reported.", nullable=False),
        _col("platform_family", "string", "android, ios, windows, macos, linux, web, cast, other.",
             nullable=False, max_length=32),
    ),
    primary_key=("platform_key",),
)

DIM_REASON = TableSpec(
    name="dim_reason",
    description="One row per (reason_start, reason_end) pair seen.",
    columns=(
        _col("reason_key", "int64", "Stable key: stable_key(reason_start, reason_end).", **KEY),
        _col("reason_start", "string", "Why plays started.", nullable=False, max_length=64),
        _col("reason_end", "string", "Why plays ended.", nullable=False, max_length=64),
    ),
    primary_key=("reason_key",),
)

FACT_STREAMS = TableSpec(
    name="fact_streams",
    description="One row per clean play, with foreign keys to every dimension.",
    columns=(
        _col("play_key", "int64", "Stable key of the play.", **KEY),
        _col("ts_utc", "datetime", "When the play ended, UTC.", nullable=False),
        _col("date_key", "int32", "Local date (SPOTIFY_TIMEZONE), yyyymmdd.", **KEY),
        _col("hour", "int16", "Local hour 0-23.", nullable=False),
        _col("track_key", "int64", "Track, episode or chapter.", **KEY),
        _col("artist_key", "int64", "Artist, show or book.", **KEY),
        _col("album_key", "int64", "Album, show or book.", **KEY),
        _col("platform_key", "int64", "Platform.", **KEY),
        _col("reason_key", "int64", "Start/end reason pair.", **KEY),
        _col("ms_played", "int64", "Milliseconds played.", nullable=False),
        _col("shuffle", "bool", "Shuffle was on.", nullable=False),
        _col("skipped", "bool", "Skipped.", nullable=False),
        _col("offline", "bool", "Played offline.", nullable=False),
        _col("incognito_mode", "bool", "Private session.", nullable=False),
        _col("content_type", "string", "track, episode or audiobook.", nullable=False, max_length=16),
        _col("source_file", "string", "File the play came from.", nullable=False),
        LANDING_FILE,
    ),
    primary_key=("play_key",),
    foreign_keys={
        "date_key": "dim_date",
        "track_key": "dim_track",
        "artist_key": "dim_artist",
        "album_key": "dim_album",
        "platform_key": "dim_platform",
        "reason_key": "dim_reason",
    },
    indexes=(("date_key",), ("track_key",), ("artist_key",)),
)

ALBUM_ART_STATUSES = ("found", "not_found", "pending")

ALBUM_ART = TableSpec(
    name="album_art",
    description="One row per album introduced by a landing file: its cover art from the Spotify Web API.",
    columns=(
        _col("album_key", "int64", "The album.", **KEY),
        LANDING_FILE,
        _col("album_id", "string", "Spotify album id.", max_length=64),
        _col("image_url_large", "string", "Largest cover image URL."),
        _col("image_url_medium", "string", "Middle-sized cover image URL."),
        _col("image_url_small", "string", "Smallest cover image URL."),
        _col("status", "string", "found, not_found or pending.", nullable=False, max_length=16),
        _col("fetched_at", "datetime", "When the API last answered for this album."),
    ),
    primary_key=("album_key",),
    foreign_keys={"album_key": "dim_album"},
    partitioned=True,
)

LAKE_TABLES = (
    RAW_PLAYS, CLEAN_PLAYS, REJECTED_PLAYS, FILE_ACCOUNTING,
    DIM_ARTIST, DIM_ALBUM, DIM_TRACK, DIM_DATE, DIM_PLATFORM, DIM_REASON, FACT_STREAMS, ALBUM_ART,
)
# Published to the warehouse, dimensions before the fact so foreign keys resolve.
WAREHOUSE_TABLES = (
    DIM_ARTIST, DIM_ALBUM, DIM_TRACK, DIM_DATE, DIM_PLATFORM, DIM_REASON, FACT_STREAMS, ALBUM_ART,
    REJECTED_PLAYS,
)
STAR_SCHEMA = (DIM_ARTIST, DIM_ALBUM, DIM_TRACK, DIM_DATE, DIM_PLATFORM, DIM_REASON, FACT_STREAMS)
TABLES = {spec.name: spec for spec in LAKE_TABLES}
