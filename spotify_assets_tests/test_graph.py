"""The whole graph, in-process, on generated and hostile files: accounting, keys, integrity, idempotency."""

import shutil

import polars as pl
import pytest

from spotify_assets import sample
from spotify_assets.tables import FACT_STREAMS, STAR_SCHEMA

from .graph import Platform
from .hostile import EXPECTED_CSV, write_hostile_csv, write_hostile_json


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    root = tmp_path_factory.mktemp("platform")
    platform = Platform.on(root, timezone="Europe/Berlin")
    landing = platform.landing.root
    sample.write_maven_csv(landing / "Spotify_Streaming_History.csv", rows=6000, seed=3)
    write_hostile_csv(landing / "hostile.csv")
    write_hostile_json(landing / "Streaming_History_Audio_2022.json")
    sample.write_extended_zip(landing / "my_spotify_data.zip", rows=3000, seed=4)
    (landing / "holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64)
    platform.report = platform.run()
    return platform


def test_a_file_that_is_not_a_history_fails_only_its_partition(platform):
    failed = [run for run in platform.report.runs if not run["success"]]
    assert len(failed) == 1
    assert "holiday.jpg: not a text file" in failed[0]["failures"][0]
    keys = set(platform.table("file_accounting")["landing_file"])
    assert len(keys) == 4
    assert not any(key.startswith("holiday") for key in keys)
    assert platform.table("fact_streams").height > 8000


def test_every_row_is_accounted_for_per_file(platform):
    accounting = platform.table("file_accounting")
    raw = platform.table("raw_plays").group_by("landing_file").len()
    joined = accounting.join(raw, on="landing_file")
    assert joined.height == 4
    assert (joined["rows_read"] == joined["len"]).all()
    assert (
        joined["clean"] + joined["filtered"] + joined["duplicate"] + joined["rejected"] == joined["rows_read"]
    ).all()
    hostile = accounting.filter(pl.col("file_name") == "hostile.csv").row(0, named=True)
    for name in ("rows_read", "filtered", "rejected"):
        assert hostile[name] == EXPECTED_CSV[name], name
    # the Extended JSON holds one of its clean plays too, and its copy is the one counted (whatever the order)
    assert (hostile["clean"], hostile["duplicate"]) == (
        EXPECTED_CSV["clean"] - 1,
        EXPECTED_CSV["duplicate"] + 1,
    )
    assert (hostile["duplicate_in_file"], hostile["duplicate_across_files"]) == (EXPECTED_CSV["duplicate"], 1)
    clean = platform.table("clean_plays").group_by("landing_file").len()
    valid = pl.col("clean") + pl.col("duplicate_across_files")
    assert accounting.join(clean, on="landing_file").select((valid == pl.col("len")).all()).item()
    kept = platform.table("duplicate_plays").row(0, named=True)
    assert (kept["source_file"], kept["source_line"], kept["rule"]) == ("hostile.csv", 2, "same_play")
    assert kept["kept_landing_file"].startswith("Streaming_History_Audio_2022-")
    rejected = platform.table("rejected_plays")
    assert rejected.height == accounting["rejected"].sum()
    assert rejected["detail"].str.contains(" line ").all()


def test_generated_sample_has_realistic_filtered_and_duplicate_rows(platform):
    row = (
        platform.table("file_accounting")
        .filter(pl.col("file_name") == "Spotify_Streaming_History.csv")
        .row(0, named=True)
    )
    assert row["rows_read"] == 6000
    assert row["filtered"] > 0 and row["duplicate"] > 0 and row["rejected"] == 0


def test_star_schema_keys_are_unique_and_references_resolve(platform):
    tables = {spec.name: platform.table(spec.name) for spec in STAR_SCHEMA}
    for spec in STAR_SCHEMA:
        assert tables[spec.name].height > 0, spec.name
        keys = tables[spec.name].select(spec.primary_key)
        assert keys.is_unique().all() and keys.null_count().sum_horizontal().item() == 0, spec.name
    fact = tables["fact_streams"]
    for column, dimension in FACT_STREAMS.foreign_keys.items():
        assert fact.join(tables[dimension], on=column, how="anti").is_empty(), f"{column} -> {dimension}"
    assert fact.height == platform.table("clean_plays").height - platform.table("duplicate_plays").height
    assert fact.height == platform.table("file_accounting")["clean"].sum()
    per_file = fact.group_by("landing_file").len().join(platform.table("file_accounting"), on="landing_file")
    assert per_file.height == 4 and (per_file["len"] == per_file["clean"]).all()


def test_podcasts_and_audiobooks_from_json_and_zip_are_typed(platform):
    fact = platform.table("fact_streams")
    by_file_type = fact.group_by("content_type").len()
    counts = dict(by_file_type.rows())
    assert counts["track"] > 0 and counts["episode"] > 0 and counts["audiobook"] > 0
    zip_rows = fact.filter(pl.col("source_file").str.starts_with("my_spotify_data.zip/"))
    assert zip_rows.height > 0
    assert zip_rows["source_file"].str.contains("Streaming_History_").all()


def test_cross_file_duplicate_is_counted_once(platform):
    # the JSON's last record is CSV line 2 again: counted once
    accounting = platform.table("file_accounting")
    pair = accounting.filter(pl.col("file_name").is_in(["hostile.csv", "Streaming_History_Audio_2022.json"]))
    assert pair["duplicate"].sum() == EXPECTED_CSV["duplicate"] + 1


def test_materializing_again_or_dropping_the_same_bytes_changes_nothing(platform):
    before = platform.snapshot()
    again = platform.run()
    ingested = set(platform.table("file_accounting")["landing_file"])
    retried = {run["partition"] for run in again.runs} - {None}
    assert retried and not retried & ingested  # only the broken file is tried again
    copy = shutil.copy(platform.landing.root / "hostile.csv", platform.landing.root / "hostile (1).csv")
    report = platform.run(copy)
    registration = report.registrations[0]
    assert registration.status == "same_bytes" and registration.same_as.startswith("hostile-")
    partition = next(
        key for key in platform.table("file_accounting")["landing_file"] if key.startswith("Spotify_")
    )
    rerun = platform.defs.resolve_job_def("everything").execute_in_process(
        instance=platform.instance, partition_key=partition
    )
    assert rerun.success
    after = platform.snapshot()
    for name, frame in before.items():
        assert frame.equals(after[name]), name


def test_album_art_without_credentials_keeps_every_music_album_pending(platform):
    art = platform.table("album_art")
    music_albums = platform.table("dim_album").filter(pl.col("content_type") == "track")
    assert art["album_key"].is_unique().all()
    assert set(art["album_key"]) == set(music_albums["album_key"])
    assert set(art["status"]) == {"pending"}
    owners = art.join(music_albums, on="album_key").select(
        (pl.col("landing_file") == pl.col("first_landing_file")).all()
    )
    assert owners.item()


def test_every_table_is_published_to_the_sqlite_warehouse(platform):
    import sqlite3

    from spotify_assets.tables import WAREHOUSE_TABLES

    path = platform.settings.warehouse_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        for spec in WAREHOUSE_TABLES:
            rows = connection.execute(f"SELECT COUNT(*) FROM {spec.name}").fetchone()[0]
            assert rows == platform.table(spec.name).height, spec.name
        by_month = connection.execute("SELECT SUM(plays) FROM v_minutes_by_month").fetchone()[0]
    assert by_month == platform.table("fact_streams").height


def test_report_figures_agree_with_the_warehouse_views(platform):
    import sqlite3

    from spotify_assets.assets.report import REPORT_INPUTS
    from spotify_assets.transforms.listens import parse_listen_rule
    from spotify_assets.transforms.report import listening_figures

    tables = {name: platform.table(name).lazy() for name in REPORT_INPUTS}
    figures = listening_figures(*tables.values(), rule=parse_listen_rule(platform.settings.listen_rule))
    path = platform.settings.warehouse_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        months = connection.execute(
            "SELECT month_key, plays, minutes_played FROM v_minutes_by_month ORDER BY month_key"
        ).fetchall()
        cells = connection.execute(
            "SELECT weekday, local_hour, plays, minutes_played FROM v_listening_by_weekday_hour "
            "ORDER BY weekday, local_hour"
        ).fetchall()
        # music only, as the report's top lists: recordings of tracks, artists without podcast or book plays
        recordings = connection.execute(
            "SELECT v.recording_key, v.track_ids, v.plays, v.listens, v.minutes_played "
            "FROM v_top_recordings v JOIN dim_recording r ON r.recording_key = v.recording_key "
            "WHERE r.content_type = 'track'"
        ).fetchall()
        artists = connection.execute(
            "SELECT artist_key, plays, listens, minutes_played FROM v_top_artists WHERE artist_key NOT IN "
            "(SELECT artist_key FROM fact_streams WHERE content_type <> 'track')"
        ).fetchall()
        # the view's own music filter and order give the report's list
        music_order = connection.execute(
            "SELECT listens, minutes_played FROM v_top_artists WHERE content_type = 'track' "
            "ORDER BY listen_rank LIMIT 20"
        ).fetchall()
        recording_types = dict(
            connection.execute("SELECT recording_key, content_type FROM v_top_recordings").fetchall()
        )
    assert music_order == figures.top_artists.select("listens", "minutes").rows()
    assert {recording_types[row[0]] for row in recordings} == {"track"}
    assert len(recording_types) > len(recordings)  # episodes and chapters are recordings too, typed
    report_months = figures.months.filter(pl.col("plays") > 0).sort("month_key")
    assert months == report_months.select("month_key", "plays", "minutes").rows()
    report_cells = figures.weekday_hour.filter(pl.col("plays") > 0).sort("weekday", "hour")
    assert cells == report_cells.select("weekday", "hour", "plays", "minutes").rows()
    assert sum(plays for _, plays, _ in months) == figures.totals["plays"]
    for view, top, columns in (
        (recordings, figures.top_recordings, ("recording_key", "track_ids", "plays", "listens", "minutes")),
        (artists, figures.top_artists, ("artist_key", "plays", "listens", "minutes")),
    ):
        by_key = {row[0]: row for row in view}
        assert [by_key[row[0]] for row in top.select(columns).rows()] == top.select(columns).rows()
        # ranked by listens: the report's top N are the view's N most listened
        listens = sorted((row[-2] for row in view), reverse=True)[: top.height]
        assert top["listens"].to_list() == listens
        assert top.height == 20 and top["listens"].sum() < top["plays"].sum()  # some plays are no listens
