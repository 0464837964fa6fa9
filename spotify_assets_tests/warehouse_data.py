"""A small lake for the warehouse tests: a star schema whose text exercises every escaping and
collation trap, written with the project's own Delta writer (`io_managers.delta.write_table`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl

from spotify_assets.assets.publish import warehouse_assets, warehouse_checks
from spotify_assets.io_managers.delta import DeltaLakeIOManager, scan_table, write_table
from spotify_assets.io_managers.warehouse import WarehouseIOManager
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.warehouse import Warehouse
from spotify_assets.tables import (
    DIM_ALBUM,
    DIM_ARTIST,
    DIM_TRACK,
    FACT_STREAMS,
    TABLES,
    WAREHOUSE_TABLES,
    TableSpec,
)
from spotify_assets.transforms.keys import stable_key_of

NASTY_NAMES = [
    "Beyoncé",
    "Beyonce",
    "坂本龍一",
    "🎸 Emoji Band 😀",
    'Quote "Q" O\'Brien',
    "Back\\slash \\N \\t",
    "Tab\there",
    "New\nline\r\nCRLF",
    " padded ",
    "NULL",
    "Zoë Ångström",
    "👩🏽‍🎤 ZWJ",
]
LANDING_FILES = ("endsong_0-1a2b3c", "Streaming_History_Audio_2024-9f8e7d")
NEW_FILE = "Streaming_History_Audio_2025-77aa11"
FACT_ROWS = 240


def date_rows(first: date, last: date) -> pl.DataFrame:
    """dim_date rows for the days from `first` to `last`."""
    days = pl.date_range(first, last, eager=True)
    return pl.DataFrame({"date": days}).with_columns(
        date_key=pl.col("date").dt.strftime("%Y%m%d").cast(pl.Int32),
        year=pl.col("date").dt.year(),
        quarter=pl.col("date").dt.quarter(),
        month=pl.col("date").dt.month(),
        month_name=pl.col("date").dt.strftime("%B"),
        day=pl.col("date").dt.day(),
        weekday=pl.col("date").dt.weekday(),
        weekday_name=pl.col("date").dt.strftime("%A"),
        iso_week=pl.col("date").dt.week(),
        is_weekend=pl.col("date").dt.weekday() >= 6,
    )


def sample_lake() -> dict[str, pl.DataFrame]:
    """A small star schema whose text exercises every escaping and collation trap."""
    artists = pl.DataFrame(
        {
            "artist_key": [stable_key_of(name.strip().lower()) for name in NASTY_NAMES],
            "artist_name": NASTY_NAMES,
        }
    )
    albums = pl.DataFrame(
        {
            "album_key": [stable_key_of(f"album {name}") for name in NASTY_NAMES],
            "album_name": [f"Album «{name}»" for name in NASTY_NAMES],
            "artist_key": artists["artist_key"],
            "content_type": "track",
            "sample_track_id": [f"{index:022d}" for index in range(len(NASTY_NAMES))],
            "first_landing_file": LANDING_FILES[0],
        }
    )
    tracks = (
        pl.DataFrame(
            {
                "track_key": [stable_key_of(f"track {index}") for index in range(36)],
                "track_id": [f"T{index:021d}" for index in range(36)],
                "track_name": [f"Song {index} — {NASTY_NAMES[index % 12]}" for index in range(36)],
                "artist_key": [artists["artist_key"][index % 12] for index in range(36)],
                "album_key": [albums["album_key"][index % 12] for index in range(36)],
            }
        )
        .with_columns(
            track_uri=pl.lit("spotify:track:") + pl.col("track_id"),
            content_type=pl.lit("track"),
            # tracks 0 and 1 are two releases of one recording (one ISRC); the others are their own
            isrc=pl.when(pl.int_range(pl.len()) < 2)
            .then(pl.lit("USUM71900001"))
            .when(pl.int_range(pl.len()) % 3 == 0)
            .then(pl.format("GBAYE{}", pl.int_range(pl.len()))),
            duration_ms=pl.when(pl.int_range(pl.len()) % 4 != 1).then(
                pl.int_range(pl.len()) * 1000 + 180_000
            ),
            explicit=pl.when(pl.int_range(pl.len()) % 4 != 1).then(pl.int_range(pl.len()) % 2 == 0),
            release_date=pl.when(pl.int_range(pl.len()) % 4 != 1).then(pl.lit(date(1999, 1, 1))),
            release_date_precision=pl.when(pl.int_range(pl.len()) % 4 != 1).then(pl.lit("year")),
            artist_ids=pl.lit("1Xyo4u8uXC1ZmMpatF05PJ,2YZyLoL8N0Wb9xBt1NhZWg"),
        )
        .with_columns(
            recording_key=pl.when(pl.col("isrc").is_not_null())
            .then(
                pl.col("isrc").map_elements(lambda isrc: stable_key_of("isrc", isrc), return_dtype=pl.Int64)
            )
            .otherwise(pl.col("track_key")),
        )
    )
    recordings = tracks.group_by("recording_key").agg(
        pl.col("isrc").first(),
        pl.col("track_name").first().alias("recording_name"),
        pl.col("artist_key").first(),
        pl.col("track_key").first().alias("sample_track_key"),
        pl.len().cast(pl.Int64).alias("track_ids"),
        pl.col("content_type").first(),
    )
    dates = date_rows(date(2023, 12, 25), date(2024, 2, 5))
    platforms = pl.DataFrame(
        {
            "platform": ["Android OS 14 API 34", "iOS 17.1 (iPhone15,2)", "web_player"],
            "platform_family": ["android", "ios", "web"],
        }
    )
    platforms = platforms.with_columns(
        platform_key=pl.Series([stable_key_of(p.lower()) for p in platforms["platform"]])
    )
    reasons = pl.DataFrame(
        {
            "reason_start": ["trackdone", "clickrow", "fwdbtn"],
            "reason_end": ["trackdone", "endplay", "fwdbtn"],
        }
    )
    reasons = reasons.with_columns(reason_key=pl.Series([stable_key_of(*pair) for pair in reasons.rows()]))
    index = pl.int_range(FACT_ROWS, eager=True)
    track_rows = tracks[[i % 36 for i in range(FACT_ROWS)]]
    facts = pl.DataFrame(
        {
            "play_key": [stable_key_of(f"play {i}") for i in range(FACT_ROWS)],
            "ts_utc": [
                datetime(2023, 12, 25, tzinfo=UTC) + timedelta(hours=3 * i, microseconds=7 * i)
                for i in range(FACT_ROWS)
            ],
            "track_key": track_rows["track_key"],
            "artist_key": track_rows["artist_key"],
            "album_key": track_rows["album_key"],
            "platform_key": platforms["platform_key"][[i % 3 for i in range(FACT_ROWS)]],
            "reason_key": reasons["reason_key"][[i % 3 for i in range(FACT_ROWS)]],
            "ms_played": index * 1_000 + 501,
            "shuffle": index % 2 == 0,
            "skipped": index % 5 == 0,
            "offline": index % 7 == 0,
            "incognito_mode": index % 11 == 0,
            "content_type": "track",
            "source_format": "extended_json",
            "source_file": "Spotify Extended Streaming History/Streaming_History_Audio_2024.json",
            "landing_file": LANDING_FILES[1],
        }
    ).with_columns(
        date_key=pl.col("ts_utc").dt.strftime("%Y%m%d").cast(pl.Int32),
        hour=pl.col("ts_utc").dt.hour(),
    )
    album_art = albums.select(
        "album_key",
        landing_file=pl.lit(LANDING_FILES[0]),
        album_id=pl.col("sample_track_id").str.replace("^0", "A"),
        image_url_large=pl.lit("https://i.scdn.co/image/ab67616d0000b273"),
        image_url_medium=pl.lit(None, pl.String),
        image_url_small=pl.lit("https://i.scdn.co/image/ab67616d00004851?x=1&y='2'"),
        status=pl.lit("found"),
        fetched_at=pl.lit(datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)),
    ).with_columns(
        status=pl.when(pl.int_range(pl.len()) % 4 == 0).then(pl.lit("pending")).otherwise("status")
    )
    rejected = pl.DataFrame(
        {
            # Keys differing only by an accent, case or a trailing space must stay distinct.
            "source_file": ["café.json", "cafe.json", "Cafe.json", "cafe.json ", "plays\t2.csv", "😀.csv"],
            "source_line": [2, 2, 2, 2, 3, 4],
            "reason": [
                "bad_timestamp",
                "ms_played_negative",
                "bad_boolean",
                "bad_timestamp",
                "wrong_column_count",
                "missing_content_id",
            ],
            "detail": [
                'ts "2024-13-01" is not a timestamp',
                "ms_played -5 < 0",
                "shuffle='yes'",
                "ts ''",
                "3 fields, header has 5",
                "no URI \\ at all",
            ],
            "raw_text": [
                '{"ts": "2024-13-01", "name": "x\\ny"}',
                'a,b,"c\nd"',
                "tab\there\r\n",
                "",
                "\\N",
                "😀,中文,é\\",
            ],
        }
    )
    file_accounting = pl.DataFrame(
        {
            "landing_file": list(LANDING_FILES),
            "file_name": ["endsong_0.json", "Streaming_History_Audio_2024.json"],
            "content_hash": ["1a2b3c", "9f8e7d"],
            "source_format": ["extended_json", "maven_csv"],
            "rows_read": [130, 130],
            "clean": [120, 120],
            "filtered": [4, 5],
            "duplicate": [3, 2],
            "rejected": [3, 3],
            "duplicate_in_file": [1, 2],
            "duplicate_across_files": [2, 0],
        }
    )
    track_resolution = pl.DataFrame(
        {
            "name_key": [stable_key_of("resolution", name) for name in NASTY_NAMES[:4]],
            "artist_name": NASTY_NAMES[:4],
            "track_name": [f"Song {index} — {NASTY_NAMES[index]}" for index in range(4)],
            "content_type": "track",
            "status": ["resolved", "resolved", "ambiguous", "unknown"],
            "track_id": [f"T{0:021d}", f"T{1:021d}", None, None],
            "track_key": tracks["track_key"][:4],
            "candidate_ids": [1, 1, 3, 0],
            "plays": [5, 1, 2, 7],
        }
    )
    return {
        "file_accounting": file_accounting,
        "track_resolution": track_resolution,
        "dim_artist": artists,
        "dim_album": albums,
        "dim_recording": recordings,
        "dim_track": tracks,
        "dim_date": dates,
        "dim_platform": platforms,
        "dim_reason": reasons,
        "fact_streams": facts,
        "album_art": album_art,
        "rejected_plays": rejected,
    }


# fact_streams as the model writes it: Delta-partitioned by landing_file (tables.py).
PARTITIONED_FACT = FACT_STREAMS
PARTITIONED_TABLES = WAREHOUSE_TABLES
assert PARTITIONED_FACT.partitioned


def write_lake(
    lake_uri: str,
    specs: tuple[TableSpec, ...] = WAREHOUSE_TABLES,
    data: dict[str, pl.DataFrame] | None = None,
) -> None:
    """Every table of `specs`; partitioned ones split row by row over the landing files."""
    data = data or sample_lake()
    for spec in specs:
        frame = data[spec.name]
        if spec.partitioned:
            for number, landing_file in enumerate(LANDING_FILES):
                write_table(
                    lake_uri,
                    spec,
                    frame.filter(pl.int_range(pl.len()) % len(LANDING_FILES) == number),
                    landing_file,
                )
        else:
            write_table(lake_uri, spec, frame)


def lake_frame(lake_uri: str, spec: TableSpec) -> pl.DataFrame:
    return scan_table(lake_uri, spec).select(spec.column_names).sort(spec.primary_key).collect()


def add_new_file(lake_uri: str, data: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """A new landing file: 10 plays of a new track by a new artist on a new day; the dimensions
    are rewritten whole with those rows added, as the model does. Returns the new fact rows."""
    artist_key, album_key, track_key = stable_key_of("nouvel artiste"), stable_key_of("album nouveau"), 42
    data["dim_artist"] = pl.concat(
        [data["dim_artist"], pl.DataFrame({"artist_key": [artist_key], "artist_name": ["Nouvel Artiste ✨"]})]
    )
    data["dim_album"] = pl.concat(
        [
            data["dim_album"],
            pl.DataFrame(
                {
                    "album_key": [album_key],
                    "album_name": ["Album nouveau"],
                    "artist_key": [artist_key],
                    "content_type": ["track"],
                    "sample_track_id": ["N" * 22],
                    "first_landing_file": [NEW_FILE],
                }
            ),
        ]
    )
    data["dim_track"] = pl.concat(
        [
            data["dim_track"],
            pl.DataFrame(
                {
                    "track_key": [track_key],
                    "track_id": ["N" * 22],
                    "track_name": ["Nouvelle chanson"],
                    "artist_key": [artist_key],
                    "album_key": [album_key],
                    "track_uri": ["spotify:track:" + "N" * 22],
                    "content_type": ["track"],
                    "recording_key": [track_key],  # its own recording
                }
            ),
        ],
        how="diagonal",
    )
    data["dim_recording"] = pl.concat(
        [
            data["dim_recording"],
            pl.DataFrame(
                {
                    "recording_key": [track_key],
                    "recording_name": ["Nouvelle chanson"],
                    "artist_key": [artist_key],
                    "sample_track_key": [track_key],
                    "track_ids": [1],
                    "content_type": ["track"],
                }
            ),
        ],
        how="diagonal",
    )
    data["dim_date"] = pl.concat(
        [data["dim_date"], date_rows(date(2024, 2, 6), date(2024, 2, 6))], how="diagonal"
    )
    facts = (
        data["fact_streams"]
        .head(10)
        .with_columns(
            play_key=pl.int_range(10) + 7_000_000,
            track_key=pl.lit(track_key),
            artist_key=pl.lit(artist_key),
            album_key=pl.lit(album_key),
            ts_utc=pl.lit(datetime(2024, 2, 6, 12, tzinfo=UTC)),
            date_key=pl.lit(20240206, pl.Int32),
        )
    )
    for spec in (
        DIM_ARTIST,
        DIM_ALBUM,
        TABLES["dim_recording"],
        DIM_TRACK,
        TABLES["dim_date"],
    ):
        write_table(lake_uri, spec, data[spec.name])
    write_table(lake_uri, PARTITIONED_FACT, facts, NEW_FILE)
    return facts


def publish_graph(  # every warehouse table from the lake at `lake_uri`, with the reconcile check
    lake_uri: str, url: str, selection=None, run_config=None, **warehouse_options
) -> dg.ExecuteInProcessResult:
    warehouse = Warehouse(url=url, **warehouse_options)
    return dg.materialize(
        [*(dg.AssetSpec(spec.name) for spec in WAREHOUSE_TABLES), *warehouse_assets, *warehouse_checks],
        resources={
            "io_manager": DeltaLakeIOManager(lake_uri=lake_uri),
            "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
            "warehouse": warehouse,
            "lake": LakeResource(lake_uri=lake_uri),
        },
        selection=selection,
        run_config=run_config,
    )
