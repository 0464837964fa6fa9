"""Spotify track objects (raw JSON) into columns, and album covers from tracks. Pure Polars.

The API's track object, as far as we read it:

    {"id": ..., "duration_ms": 201000, "explicit": false,
     "external_ids": {"isrc": "USUM71703861"},            # may be missing
     "artists": [{"id": ...}, ...],
     "album": {"id": ..., "album_type": "album" | "single" | "compilation",
               "release_date": "1981" | "1981-12" | "1981-12-02",
               "release_date_precision": "year" | "month" | "day",
               "images": [{"url": ..., "width": 640, "height": 640}, ...]}}

Fields the model does not read stay in `raw_json`, so a later version can parse them without asking again.
"""

from __future__ import annotations

import polars as pl

TRACK_OBJECT = pl.Struct(
    {
        "duration_ms": pl.Int64(),
        "explicit": pl.Boolean(),
        "external_ids": pl.Struct({"isrc": pl.String()}),
        "artists": pl.List(pl.Struct({"id": pl.String()})),
        "album": pl.Struct(
            {
                "id": pl.String(),
                "album_type": pl.String(),
                "release_date": pl.String(),
                "release_date_precision": pl.String(),
                "images": pl.List(pl.Struct({"url": pl.String(), "width": pl.Int64()})),
            }
        ),
    }
)
IMAGE_COLUMNS = ["image_url_large", "image_url_medium", "image_url_small"]
PARSED_COLUMNS = [
    "isrc",
    "duration_ms",
    "explicit",
    "release_date",
    "release_date_precision",
    "album_type",
    "album_id",
    "artist_ids",
    *IMAGE_COLUMNS,
]


def parse_tracks(answers: pl.LazyFrame) -> pl.LazyFrame:
    """`answers` (with a `raw_json` column) plus PARSED_COLUMNS; rows without JSON get nulls."""
    track = pl.col("_track")
    album = track.struct.field("album")
    images = album.struct.field("images").list.eval(
        pl.element()
        .sort_by(pl.element().struct.field("width").fill_null(0), descending=True)
        .struct.field("url")
    )
    return (
        answers.with_columns(pl.col("raw_json").str.json_decode(dtype=TRACK_OBJECT).alias("_track"))
        .with_columns(
            track.struct.field("external_ids").struct.field("isrc").str.to_uppercase().alias("isrc"),
            track.struct.field("duration_ms").alias("duration_ms"),
            track.struct.field("explicit").alias("explicit"),
            release_date(album.struct.field("release_date")).alias("release_date"),
            album.struct.field("release_date_precision").alias("release_date_precision"),
            album.struct.field("album_type").alias("album_type"),
            album.struct.field("id").alias("album_id"),
            track.struct.field("artists")
            .list.eval(pl.element().struct.field("id"))
            .list.join(",", ignore_nulls=True)
            .alias("artist_ids"),
            images.list.first().alias("image_url_large"),
            images.list.get(images.list.len() // 2, null_on_oob=True).alias("image_url_medium"),
            images.list.last().alias("image_url_small"),
        )
        .drop("_track")
    )


def release_date(text: pl.Expr) -> pl.Expr:
    """ "1981" / "1981-12" / "1981-12-02" as the first day they cover; null for "0000" or garbage."""
    padded = (
        pl.when(text.str.len_chars() == 4)
        .then(text + "-01-01")
        .when(text.str.len_chars() == 7)
        .then(text + "-01")
        .otherwise(text)
    )
    return (
        pl.when(text.str.starts_with("0000"))
        .then(None)
        .otherwise(padded.str.to_date("%Y-%m-%d", strict=False))
    )


def album_covers(tracks: pl.LazyFrame) -> pl.LazyFrame:
    """One cover per album_key from its found tracks that carry an album: the most played one's.

    `tracks` has one row per (album_key, track_id) with plays, status, fetched_at, album_id and the
    image columns.
    """
    return (
        tracks.filter((pl.col("status") == "found") & pl.col("album_id").is_not_null())
        .sort(["album_key", "plays", "track_id"], descending=[False, True, False])
        .group_by("album_key", maintain_order=True)
        .agg(pl.col("album_id", *IMAGE_COLUMNS, "fetched_at").first())
    )
