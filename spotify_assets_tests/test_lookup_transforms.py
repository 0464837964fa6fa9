"""The pure side of the Spotify lookup on handwritten rows: parsing track objects, what a partition
asks for and in which order, and how an album's row follows from its tracks."""

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl

from spotify_assets.transforms.lookup_plan import (
    album_members,
    fact_plays,
    ids_to_ask,
    music_tracks,
    partition_albums,
    pending_summary,
)
from spotify_assets.transforms.track_responses import parse_tracks
from spotify_assets_tests.fake_spotify import track_json

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
TRACK_STATE = {
    "track_id": pl.String,
    "album_key": pl.Int64,
    "plays": pl.Int64,
    "owner": pl.String,
    "status": pl.String,
    "fetched_at": pl.Datetime("us", "UTC"),
    "album_id": pl.String,
    "image_url_large": pl.String,
    "image_url_medium": pl.String,
    "image_url_small": pl.String,
}
ALBUM_STATE = {
    "album_key": pl.Int64,
    "owner": pl.String,
    "status": pl.String,
    "fetched_at": pl.Datetime("us", "UTC"),
    "album_id": pl.String,
    "image_url_large": pl.String,
    "image_url_medium": pl.String,
    "image_url_small": pl.String,
}


def parsed(*objects: dict | None) -> list[dict]:
    raw = [None if obj is None else json.dumps(obj) for obj in objects]
    return parse_tracks(pl.LazyFrame({"raw_json": raw}, schema={"raw_json": pl.String})).collect().to_dicts()


def with_album(obj: dict, **album) -> dict:
    return {**obj, "album": {**obj["album"], **album}}


def test_release_dates_at_every_precision_and_spotify_s_unknown_year():
    base = track_json("t" * 22, "a" * 22, isrc="QZABC2600001")
    rows = parsed(
        with_album(base, release_date="1981", release_date_precision="year"),
        with_album(base, release_date="1981-12", release_date_precision="month"),
        with_album(base, release_date="1981-12-02", release_date_precision="day"),
        with_album(base, release_date="0000", release_date_precision="year"),
        with_album(base, release_date="not a date", release_date_precision="day"),
    )

    assert [row["release_date"] for row in rows] == [
        date(1981, 1, 1),
        date(1981, 12, 1),
        date(1981, 12, 2),
        None,
        None,
    ]
    assert [row["release_date_precision"] for row in rows] == ["year", "month", "day", "year", "day"]


def test_fields_are_read_from_the_track_object_and_missing_ones_are_null():
    full = track_json("t" * 22, "a" * 22, isrc="qzabc2600001")
    full["artists"].append({"id": None, "name": "a local artist"})
    full["album"]["images"] = [
        {"url": "small", "width": 64},
        {"url": "unknown", "width": None},
        {"url": "large", "width": 640},
        {"url": "medium", "width": 300},
    ]
    bare = {"id": "b" * 22}

    row, empty, none = parsed(full, bare, None)

    assert row["isrc"] == "QZABC2600001", "ISRCs are compared upper-case"
    assert (row["duration_ms"], row["explicit"]) == (full["duration_ms"], full["explicit"])
    assert row["album_type"] == full["album"]["album_type"] and row["album_id"] == "a" * 22
    assert row["artist_ids"] == full["artists"][0]["id"], "credit order, ids only"
    # widest first, an image without a width counts as the smallest; medium is the middle one
    assert (row["image_url_large"], row["image_url_medium"], row["image_url_small"]) == (
        "large",
        "small",
        "unknown",
    )
    assert all(
        empty[column] is None for column in ("isrc", "duration_ms", "release_date", "album_id", "artist_ids")
    )
    assert none["image_url_large"] is None


def tracks(*rows: tuple) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(track_id, album_key, plays, owner, status) rows as track states and album members; found
    rows get a cover of their album."""
    frame = pl.DataFrame(
        [(*row, None, None, None, None, None) for row in rows], schema=TRACK_STATE, orient="row"
    )
    found = pl.col("status") == "found"
    states = frame.with_columns(
        pl.when(found).then(pl.lit(NOW - timedelta(days=1))).alias("fetched_at"),
        pl.when(found).then(pl.format("album-{}", "album_key")).alias("album_id"),
        pl.when(found).then(pl.format("cover-of-{}", "track_id")).alias("image_url_large"),
    )
    return states.drop("album_key"), frame.select("album_key", "track_id")


def albums(*rows: tuple) -> pl.DataFrame:
    """(album_key, owner, status) rows."""
    return pl.DataFrame(
        [(*row, None, None, None, None, None) for row in rows], schema=ALBUM_STATE, orient="row"
    )


def test_one_track_per_uncovered_album_first_then_most_played_first():
    state, members = tracks(
        ("a1", 1, 5, "P", None),
        ("a2", 1, 9, "P", None),  # album 1: its most-played goes first
        ("b1", 2, 1, "P", None),  # album 2
        ("c1", 3, 50, "P", None),
        ("c2", 3, 2, "Q", "found"),  # album 3 is covered by Q's found track
        ("d1", 4, 7, "P", "found"),  # never asked again
        ("e1", 5, 3, "P", "pending"),
        ("e2", 5, 4, "P", None),  # album 5 already has its cover
        ("x1", 6, 99, "Q", None),  # another partition's
    )
    album_state = albums(
        (1, "P", None),
        (2, "P", "pending"),
        (3, "P", None),
        (4, "P", "found"),
        (5, "P", "found"),
        (6, "Q", None),
    )

    asked = ids_to_ask(state, members, album_state, partition="P", now=NOW, not_found_retry_days=30)

    assert asked == ["a2", "b1", "c1", "a1", "e2", "e1"]


def test_a_track_played_under_two_album_names_can_cover_both_and_is_asked_once():
    state, members = tracks(("t1", 1, 5, "P", None), ("t1", 2, 5, "P", None), ("t2", 2, 1, "P", None))
    state = state.unique("track_id")

    asked = ids_to_ask(
        state,
        members,
        albums((1, "P", None), (2, "P", None)),
        partition="P",
        now=NOW,
        not_found_retry_days=30,
    )

    assert asked == ["t1", "t2"]


def test_not_found_is_asked_again_only_after_the_retry_days():
    state, members = tracks(("old", 1, 1, "P", "not_found"), ("new", 2, 1, "P", "not_found"))
    state = state.with_columns(
        fetched_at=pl.Series(
            [NOW - timedelta(days=31), NOW - timedelta(days=1)], dtype=pl.Datetime("us", "UTC")
        )
    )

    asked = ids_to_ask(
        state,
        members,
        albums((1, "P", "not_found"), (2, "P", "not_found")),
        partition="P",
        now=NOW,
        not_found_retry_days=30,
    )

    assert asked == ["old"]


def test_an_album_row_follows_from_its_tracks():
    state, members = tracks(
        ("a1", 1, 1, "P", "not_found"),
        ("a2", 1, 5, "P", "found"),
        ("a3", 1, 9, "Q", "found"),  # most-played
        ("b1", 2, 1, "P", "not_found"),
        ("b2", 2, 1, "Q", None),  # b2 not asked yet (another partition)
        ("c1", 3, 1, "P", "not_found"),
        ("c2", 3, 1, "P", "not_found"),
        ("d1", 4, 1, "P", "pending"),
    )
    state = state.with_columns(
        fetched_at=pl.when(pl.col("status") == "not_found").then(pl.lit(NOW)).otherwise("fetched_at")
    )
    album_state = albums(
        (1, "P", "pending"), (2, "P", None), (3, "P", None), (4, "P", "found"), (5, "P", None), (6, "Q", None)
    )
    album_state = album_state.with_columns(
        image_url_large=pl.when(pl.col("album_key") == 4).then(pl.lit("kept")).otherwise("image_url_large")
    )

    rows = {
        row["album_key"]: row
        for row in partition_albums(album_state, state, members, partition="P").to_dicts()
    }

    assert sorted(rows) == [1, 2, 3, 4, 5], "only the partition's albums"
    assert rows[1]["status"] == "found" and rows[1]["image_url_large"] == "cover-of-a3"
    assert rows[2]["status"] == "pending", "a track of the album is still unanswered"
    assert rows[3]["status"] == "not_found" and rows[3]["fetched_at"] == NOW
    assert rows[4]["status"] == "found" and rows[4]["image_url_large"] == "kept", (
        "a found row is kept as it is"
    )
    assert rows[5]["status"] == "not_found" and rows[5]["fetched_at"] is None, "no track id to ask"


def test_pending_summary_counts_what_is_unanswered_and_names_the_partitions_with_work():
    state, members = tracks(("a1", 1, 1, "P", "found"), ("b1", 2, 1, "Q", None), ("c1", 3, 1, "R", "pending"))
    album_state = albums((1, "P", "found"), (2, "Q", None), (3, "S", "pending"), (4, "T", "not_found"))

    summary = pending_summary(state, members, album_state, now=NOW, not_found_retry_days=30)

    assert summary == {"albums_pending": 2, "tracks_pending": 2, "partitions": ["Q", "R", "S"]}
    empty = pending_summary(
        state.clear(), members.clear(), album_state.clear(), now=NOW, not_found_retry_days=30
    )
    assert empty == {"albums_pending": 0, "tracks_pending": 0, "partitions": []}


def test_music_tracks_and_album_members_from_one_pass_over_the_fact():
    """The earliest play's file owns a track id (ties: the smallest file name), plays add up over
    files, albums and the track keys of one id; a track never played falls back to its album's file;
    episodes and tracks without an id are not asked for."""
    at = [datetime(2024, 1, day, tzinfo=UTC) for day in range(1, 5)]
    dim_track = pl.LazyFrame(
        {
            "track_key": [1, 2, 3, 4, 5, 6, 7],
            "track_id": ["a", "b", "c", "c", None, "d", "e"],
            "album_key": [10, 10, 20, 20, 20, 30, 20],
            "content_type": ["track", "track", "track", "track", "track", "episode", "track"],
        }
    )
    dim_album = pl.LazyFrame({"album_key": [10, 20, 30], "first_landing_file": ["f0", "f9", "f9"]})
    fact = pl.LazyFrame(
        {
            "track_key": [1, 1, 1, 2, 3, 4, 4, 5, 6],
            "album_key": [10, 11, 10, 10, 20, 20, 20, 20, 30],
            "landing_file": ["f3", "f2", "f1", "f3", "f2", "f1", "f4", "f1", "f1"],
            "ts_utc": [at[1], at[1], at[2], at[3], at[0], at[0], at[3], at[0], at[0]],
        }
    )
    played = fact_plays(fact)
    tracks = music_tracks(dim_track, played, dim_album).collect().sort("track_id")
    assert tracks.to_dicts() == [
        # two files hold the earliest play of "a": the smaller name wins
        {"track_id": "a", "track_key": 1, "first_landing_file": "f2", "plays": 3},
        {"track_id": "b", "track_key": 2, "first_landing_file": "f3", "plays": 1},
        # one id, two track keys: the plays add up; the earliest play (a tie: the smaller file) picks both
        {"track_id": "c", "track_key": 4, "first_landing_file": "f1", "plays": 3},
        # never played: its album's file
        {"track_id": "e", "track_key": 7, "first_landing_file": "f9", "plays": 0},
    ]
    members = album_members(dim_track, played).collect().sort("album_key", "track_id")
    assert members.rows() == [(10, "a"), (10, "b"), (11, "a"), (20, "c"), (20, "e")]
