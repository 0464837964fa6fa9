"""The incremental model equals a rebuild, whatever files are dropped in whatever order.

A hypothesis-driven sequence of drops (extended, Maven and basic exports of overlapping periods,
out-of-order dates, a file re-ingested, a refused file in between) goes through the incremental
model step and an incremental warehouse publish after each drop; the lake then must equal a
rebuild from the same files, table by table and row by row, and the warehouse a publish from scratch
of that rebuild.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotify_assets.tables import TABLES

from . import histories
from .lake_harness import Lake, differences, warehouse_tables

FORMATS = list(histories.WRITERS)


TIMELINE = histories.plays(120, seed=1)  # one listener's plays; every file exports a window of them


@st.composite
def drops(draw) -> list[tuple[str, object]]:
    """A sequence of actions: ("file", (format, first, count)), ("reingest", index) or ("refused", None).
    Files are windows of one timeline, so they overlap often and arrive out of date order."""
    actions = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["file", "file", "file", "reingest", "refused"]))
        if kind == "file":
            actions.append(
                (
                    "file",
                    (
                        draw(st.sampled_from(FORMATS)),
                        draw(st.sampled_from(range(0, 100, 10))),
                        draw(st.integers(0, 40)),
                    ),
                )
            )
        else:
            actions.append((kind, draw(st.integers(0, 4)) if kind == "reingest" else None))
    return actions


def _play(landing: Path, actions, lake: Lake, warehouse: Path) -> list[Path]:
    files: list[Path] = []
    for number, (kind, argument) in enumerate(actions):
        if kind == "file":
            source_format, first, count = argument
            files.append(
                histories.write_export(landing, source_format, number, TIMELINE[first : first + count])
            )
            lake.ingest(files[-1])
        elif kind == "reingest" and files:
            lake.ingest(files[argument % len(files)])
        elif kind == "refused":
            refused = landing / f"holiday_{number}.jpg"
            refused.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
            assert lake.ingest(refused) is None
        lake.model()
        lake.publish(warehouse)  # incremental publishes, one per drop, as the sensor's runs do
    return files


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=drops(), timezone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]))
def test_incremental_updates_equal_a_rebuild(actions, timezone):
    root = Path(tempfile.mkdtemp(prefix="incremental_"))
    try:
        landing = root / "landing"
        landing.mkdir()
        incremental = Lake(root / "incremental", timezone=timezone)
        files = _play(landing, actions, incremental, root / "incremental.sqlite")
        rebuilt = Lake(root / "rebuilt", timezone=timezone)
        for path in reversed(files):  # another order, on purpose
            rebuilt.ingest(path)
        assert rebuilt.model().mode == "rebuild"
        assert differences(incremental.model_tables(), rebuilt.model_tables()) == []
        assert incremental.model().mode == "unchanged"
        rebuilt.publish(root / "rebuilt.sqlite")  # one publish from scratch
        published = warehouse_tables(root / "incremental.sqlite")
        assert (
            set(published) == set(warehouse_tables(root / "rebuilt.sqlite")) and "fact_streams" in published
        )
        assert differences(published, warehouse_tables(root / "rebuilt.sqlite")) == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(tmp_path / "lake", timezone="Europe/Berlin")


def test_basic_then_extended_and_extended_then_basic_give_the_same_fact(tmp_path):
    listening = histories.plays(40, seed=1)
    extended_period, basic_period = listening[:30], listening[10:]  # the basic export runs on, 10 plays later
    results = []
    for order in (("basic_json", "extended_json"), ("extended_json", "basic_json")):
        lake = Lake(tmp_path / "-".join(order), timezone="Europe/Berlin")
        landing = tmp_path / f"landing-{'-'.join(order)}"
        landing.mkdir()
        for source_format in order:
            period = basic_period if source_format == "basic_json" else extended_period
            lake.ingest(histories.write_export(landing, source_format, 1, period))
            lake.model()
        results.append(lake.model_tables())
    assert differences(results[0], results[1]) == []
    fact = results[0]["fact_streams"]
    # the extended plays, plus the basic plays after the extended period
    assert fact.height == 40
    assert fact.filter(pl.col("source_format") == "basic_json").height == 10
    accounting = results[0]["file_accounting"].sort("source_format")
    assert accounting.select("source_format", "clean", "duplicate_across_files").rows() == [
        ("basic_json", 10, 20),
        ("extended_json", 30, 0),
    ]
    duplicates = results[0]["duplicate_plays"]
    assert set(duplicates["rule"]) == {"export_overlap"} and duplicates.height == 20


def test_a_basic_play_resolves_to_the_one_id_its_names_have(lake, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    extended = histories.plays(16, seed=0)
    later = histories.plays(16, offset_minutes=10_000, seed=0)  # the same tracks, a week later, basic only
    lake.ingest(histories.write_export(landing, "basic_json", 1, later))
    lake.model()
    before = lake.table("track_resolution")
    assert set(before["status"]) == {"unmatched"}
    lake.ingest(histories.write_export(landing, "extended_json", 2, extended))
    lake.model()
    resolution = lake.table("track_resolution")
    status = dict(zip(resolution["track_name"], resolution["status"], strict=False))
    assert status["Blinding Lights"] == "ambiguous"  # album and single: two ids for one name pair
    assert status["Classy Girls"] == "matched"
    assert status["DREAMS\u00a0"] == "matched"  # spelled differently, normalized the same
    fact = lake.table("fact_streams")
    tracks = lake.table("dim_track")
    basic_tracks = fact.filter(pl.col("source_format") == "basic_json").join(tracks, on="track_key")
    matched = basic_tracks.filter(pl.col("track_id").is_not_null())
    assert matched.height > 0 and set(matched["track_id"]) <= {
        track.track_id for track in histories.CATALOGUE
    }
    assert basic_tracks.filter(pl.col("track_id").is_null())["track_name"].unique().to_list() == [
        "Blinding Lights"
    ]
    # the display name is a spelling an export used, the most recent play's
    dreams = tracks.filter(pl.col("track_id") == "7iHfbu1YPACw6oZPAFJtqe")["track_name"].to_list()
    assert dreams == ["DREAMS\u00a0"]
    episode = fact.filter(pl.col("source_format") == "basic_json", pl.col("content_type") == "episode")
    assert episode.height > 0


def test_an_override_pins_an_ambiguous_pair_and_the_next_run_applies_it(lake, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    lake.ingest(histories.write_export(landing, "extended_json", 1, histories.plays(16, seed=0)))
    lake.ingest(histories.write_export(landing, "basic_json", 2, histories.plays(16, offset_minutes=10_000)))
    lake.model()
    overrides = tmp_path / "track_overrides.csv"
    overrides.write_text(
        "artist_name,track_name,track_id\nthe weeknd,BLINDING LIGHTS ,"
        "https://open.spotify.com/track/0VjIjW4GlUZAMYd2vXMi3b?si=abc\n"
        "Nobody,Nothing,not-an-id\n",
        encoding="utf-8",
    )
    lake.overrides = str(overrides)
    update = lake.model()
    assert update.mode == "rebuild"  # other settings: a rebuild
    assert any("track_overrides.csv line 3" in warning for warning in update.warnings)
    row = lake.table("track_resolution").filter(pl.col("track_name") == "Blinding Lights").row(0, named=True)
    assert (row["status"], row["track_id"]) == ("pinned", "0VjIjW4GlUZAMYd2vXMi3b")
    assert lake.model().mode == "unchanged"


def test_no_clean_play_at_all_gives_empty_tables_with_their_schema(lake, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    only_rejected = landing / "history.csv"
    only_rejected.write_text(
        "spotify_track_uri,ts,platform,ms_played,track_name,artist_name,album_name,"
        "reason_start,reason_end,shuffle,skipped\nx,yesterday,a,1,t,a,b,c,d,e,f\n"
    )
    lake.ingest(only_rejected)
    update = lake.model()
    assert update.mode == "rebuild"
    for name, frame in lake.model_tables().items():
        if name not in ("file_accounting", "model_members"):
            assert frame.is_empty(), name
    assert lake.table("file_accounting").select("rows_read", "rejected", "clean").row(0) == (1, 1, 0)
    assert lake.model().mode == "unchanged"


def test_nothing_new_writes_nothing(lake, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    lake.ingest(histories.write_export(landing, "maven_csv", 1, histories.plays(30)))
    lake.model()

    def versions() -> dict[str, list[str]]:
        return {
            log.parent.name: sorted(entry.name for entry in log.iterdir())
            for log in Path(lake.uri).glob("*/_delta_log")
        }

    before = versions()
    assert len(before) >= 10
    assert lake.model().mode == "unchanged"
    assert versions() == before


def test_an_interrupted_update_is_repaired_by_a_rebuild_on_the_next_run(lake, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    lake.ingest(histories.write_export(landing, "extended_json", 1, TIMELINE[:60]))
    lake.model()
    reference = lake.model_tables()
    lake.ingest(histories.write_export(landing, "basic_json", 2, TIMELINE[30:90]))
    # an update killed half-way: the state says so, one table is written, the others are not
    state = lake.table("model_state").with_columns(complete=pl.lit(False))
    lake.resource.write(TABLES["model_state"], state)
    fact = lake.table("fact_streams")
    lake.resource.write(TABLES["fact_streams"], fact.head(10))
    update = lake.model()
    assert update.mode == "rebuild"
    repaired = lake.model_tables()
    clean = Lake(tmp_path / "clean", timezone=lake.timezone)
    for path in sorted(landing.iterdir()):
        clean.ingest(path)
    clean.model()
    assert differences(repaired, clean.model_tables()) == []
    assert repaired["fact_streams"].height > reference["fact_streams"].height


def test_a_lake_without_any_ingested_file_models_to_empty_tables(lake, tmp_path):
    assert lake.model().mode == "rebuild"
    assert all(frame.is_empty() for frame in lake.model_tables().values())
    assert lake.model().mode == "unchanged"


def test_web_api_answers_update_the_catalogue_and_never_the_fact(lake, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    lake.ingest(histories.write_export(landing, "extended_json", 1, TIMELINE[:60]))
    lake.model()
    fact_log = sorted(path.name for path in (Path(lake.uri) / "fact_streams/_delta_log").iterdir())
    tracks = lake.table("dim_track")
    album, single = "0VjIjW4GlUZAMYd2vXMi3b", "0sf12qNH5qcw8qpgymFOqD"  # Blinding Lights, two releases
    owner = lake.table("file_reads")["landing_file"][0]
    answers = tracks.filter(pl.col("track_id").is_in([album, single])).select(
        "track_id",
        "track_key",
        pl.lit(owner).alias("landing_file"),
        pl.lit("found").alias("status"),
        pl.lit("USUG11904206").alias("isrc"),
        pl.lit(200_040).alias("duration_ms"),
        pl.lit(False).alias("explicit"),
    )
    metadata = TABLES["track_metadata"]
    lake.resource.write(metadata, pl.concat([metadata.empty(), answers], how="diagonal_relaxed"))
    update = lake.model()
    assert update.mode == "catalogue"
    assert sorted(path.name for path in (Path(lake.uri) / "fact_streams/_delta_log").iterdir()) == fact_log
    recordings = lake.table("dim_recording")
    merged = recordings.filter(pl.col("isrc") == "USUG11904206").row(0, named=True)
    assert (merged["track_ids"], merged["recording_name"]) == (2, "Blinding Lights")
    assert recordings.height == tracks.height - 1
    enriched = lake.table("dim_track").filter(pl.col("track_id").is_in([album, single]))
    assert enriched["recording_key"].n_unique() == 1 and set(enriched["duration_ms"]) == {200_040}
    assert lake.model().mode == "unchanged"
