"""The star schema: documented stable keys, order independence, calendar and local time."""

import datetime as dt

import polars as pl

from spotify_assets.tables import STAR_SCHEMA
from spotify_assets.transforms.keys import stable_key, stable_key_of

from .hostile import TRACK_A, TRACK_C, write_hostile_csv, write_hostile_json
from .lake_harness import Lake


def star_schema(tmp_path, timezone: str, *, reverse: bool = False) -> dict[str, pl.DataFrame]:
    """Every star-schema table of a lake holding the hostile CSV and JSON, sorted by its key."""
    lake = Lake(tmp_path / f"lake-{timezone.replace('/', '_')}-{reverse}", timezone=timezone)
    files = [write_hostile_csv(tmp_path / "h.csv"), write_hostile_json(tmp_path / "e.json")]
    for path in reversed(files) if reverse else files:
        lake.ingest(path)
    lake.model()
    return {spec.name: lake.table(spec.name) for spec in STAR_SCHEMA}


def test_keys_follow_the_documented_formula(tmp_path):
    tables = star_schema(tmp_path, "UTC")
    artists = dict(zip(tables["dim_artist"]["artist_name"], tables["dim_artist"]["artist_key"], strict=False))
    assert artists["Post Malone"] == stable_key_of("post malone")
    tracks = dict(zip(tables["dim_track"]["track_id"], tables["dim_track"]["track_key"], strict=False))
    assert tracks[TRACK_A] == stable_key_of("track", TRACK_A)
    albums = tables["dim_album"].filter(pl.col("album_name") == "THE BOOK")
    assert albums["album_key"][0] == stable_key_of("the book", "yoasobi")
    assert albums["sample_track_id"][0] == TRACK_C


def test_tables_do_not_depend_on_file_order(tmp_path):
    forward = star_schema(tmp_path, "Europe/Berlin")
    backward = star_schema(tmp_path, "Europe/Berlin", reverse=True)
    for spec in STAR_SCHEMA:
        assert forward[spec.name].equals(backward[spec.name]), spec.name


def test_fact_references_every_dimension_and_keys_are_unique(tmp_path):
    tables = star_schema(tmp_path, "UTC")
    fact = tables["fact_streams"]
    assert fact.height == 5 + 4 - 1  # the CSV's and the JSON's clean plays, one of them in both
    for spec in STAR_SCHEMA:
        assert tables[spec.name].select(spec.primary_key).is_unique().all(), spec.name
    for column, dimension in next(s for s in STAR_SCHEMA if s.name == "fact_streams").foreign_keys.items():
        missing = fact.join(tables[dimension], on=column, how="anti")
        assert missing.is_empty(), f"{column} -> {dimension}"


def test_dim_date_covers_the_local_listening_range(tmp_path):
    tables = star_schema(tmp_path, "Asia/Tokyo")
    dates = tables["dim_date"]
    assert dates["date"].min() == dt.date(2016, 1, 8)
    assert dates["date"].max() == dt.date(2022, 5, 1)
    assert dates.height == (dt.date(2022, 5, 1) - dt.date(2016, 1, 8)).days + 1
    leap = dates.filter(pl.col("date_key") == 20200229).row(0, named=True)
    assert (
        leap["weekday_name"],
        leap["month_name"],
        leap["quarter"],
        leap["iso_week"],
        leap["is_weekend"],
    ) == ("Saturday", "February", 1, 9, True)


def test_local_date_and_hour_follow_the_time_zone(tmp_path):
    utc = star_schema(tmp_path, "UTC")["fact_streams"]
    tokyo = star_schema(tmp_path, "Asia/Tokyo")["fact_streams"]
    late = pl.col("ts_utc") == dt.datetime(2020, 2, 29, 23, 59, 59, tzinfo=dt.UTC)
    assert utc.filter(late).select("date_key", "hour").row(0) == (20200229, 23)
    assert tokyo.filter(late).select("date_key", "hour").row(0) == (20200301, 8)


def test_platform_families(tmp_path):
    platforms = star_schema(tmp_path, "UTC")["dim_platform"]
    families = dict(zip(platforms["platform"], platforms["platform_family"], strict=False))
    assert families["iOS"] == "ios"
    assert families["cast to device"] == "cast"
    assert families["Web Player (Chrome)"] == "web"
    assert families["Android OS 12 API 31 (Google, Pixel 6)"] == "android"


def test_stable_key_is_sparks_xxhash64():
    # values PySpark 4.3 gave for xxhash64('abc'), xxhash64('é🎵') and
    # xxhash64(concat_ws('\u001f', 'Taylor Swift', 'x')) on this machine
    assert stable_key_of("abc") == 1423657621850124518
    assert stable_key_of("é🎵") == -209912366649503596
    assert stable_key_of("Taylor Swift", "x") == 8842136273424773889
    frame = pl.DataFrame({"a": ["Taylor Swift", None], "b": ["x", "x"]})

    keys = frame.select(stable_key(pl.col("a"), pl.col("b"))).to_series().to_list()
    assert keys == [stable_key_of("Taylor Swift", "x"), stable_key_of(None, "x")]
