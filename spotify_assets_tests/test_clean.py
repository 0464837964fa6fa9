"""Cleaning: every row is clean, filtered, duplicate or rejected with a reason that names it."""

import polars as pl

from spotify_assets.tables import CLEAN_PLAYS, REJECT_REASONS
from spotify_assets.transforms.clean import clean_plays
from spotify_assets.transforms.parse import read_history

from .hostile import CSV_ROWS, EXPECTED_CSV, JSON_CONTENT_TYPES, JSON_VERDICTS, write_hostile_csv, write_hostile_json

NOTHING_KEPT = pl.DataFrame(schema={"play_key": pl.Int64}).lazy()


def test_hostile_csv_accounting_adds_up(tmp_path):
    result = clean_plays(read_history(write_hostile_csv(tmp_path / "h.csv")), NOTHING_KEPT, tmp_path)
    assert result.counts == EXPECTED_CSV
    assert sum(result.counts[s] for s in ("clean", "filtered", "duplicate", "rejected")) == result.counts["rows_read"]


def test_every_reject_reason_with_file_and_line(tmp_path):
    result = clean_plays(read_history(write_hostile_csv(tmp_path / "h.csv")), NOTHING_KEPT, tmp_path)
    expected = [(line, reason) for line, _, verdict, reason in CSV_ROWS if verdict == "rejected"]
    assert list(zip(result.rejected["source_line"], result.rejected["reason"])) == expected
    assert set(result.rejected["reason"]) <= set(REJECT_REASONS)
    assert {reason for _, reason in expected} == set(REJECT_REASONS)
    details = dict(zip(result.rejected["source_line"], result.rejected["detail"]))
    assert details[8] == "h.csv line 8: ts 'yesterday' is not a timestamp"
    assert details[9] == "h.csv line 9: ms_played '12.5' is not a whole number"
    assert details[10] == "h.csv line 10: ms_played -5 is negative"
    assert details[12] == "h.csv line 12: 'spotify:track:short' is not a 22-character Spotify id or URI"
    assert details[13] == "h.csv line 13: shuffle 'maybe' is not true or false"
    raw_texts = dict(zip(result.rejected["source_line"], result.rejected["raw_text"]))
    assert raw_texts[8] == dict((line, text) for line, text, *_ in CSV_ROWS)[8]
    assert raw_texts[14].endswith("android,1000")


def test_clean_rows_are_typed_and_nulls_handled(tmp_path):
    result = clean_plays(read_history(write_hostile_csv(tmp_path / "h.csv")), NOTHING_KEPT, tmp_path)
    clean = result.clean.collect()
    assert clean.schema == {name: dtype for name, dtype in CLEAN_PLAYS.polars_schema().items() if name != "landing_file"}
    assert sorted(clean["source_line"]) == [line for line, _, verdict, _ in CSV_ROWS if verdict == "clean"]
    row16 = clean.filter(pl.col("source_line") == 16).row(0, named=True)
    assert (row16["reason_start"], row16["reason_end"], row16["shuffle"], row16["skipped"]) == ("unknown", "unknown", True, False)
    assert row16["content_id"] == "49x8Zp5wDjoquBE1THLLCV"
    assert clean.filter(pl.col("source_line") == 3)["album_name"][0] == "Zonne\nstraal"
    assert clean["play_key"].is_unique().all()
    assert clean.filter(pl.col("source_line") == 2)["ts_utc"][0].isoformat() == "2019-09-20T14:40:30+00:00"


def test_json_content_types_and_cross_file_duplicates(tmp_path):
    csv = clean_plays(read_history(write_hostile_csv(tmp_path / "h.csv")), NOTHING_KEPT, tmp_path)
    raw_json = read_history(write_hostile_json(tmp_path / "Streaming_History_Audio_2022.json"))
    alone = clean_plays(raw_json, NOTHING_KEPT, tmp_path)
    assert alone.counts["clean"] == JSON_VERDICTS.count("clean")
    assert alone.clean.collect()["content_type"].value_counts().sort("content_type").rows() == sorted(JSON_CONTENT_TYPES.items())
    episode = alone.clean.collect().filter(pl.col("content_type") == "episode").row(0, named=True)
    assert (episode["track_name"], episode["artist_name"]) == ("Episode 1: «Naïve» beginnings", "The Show")
    after_csv = clean_plays(raw_json, csv.clean, tmp_path)
    assert after_csv.counts["duplicate"] == 1
    assert after_csv.counts["clean"] == alone.counts["clean"] - 1
    assert alone.rejected["reason"].to_list() == ["ms_played_not_integer"]
    assert alone.rejected["detail"][0].startswith("Streaming_History_Audio_2022.json line 4: ")
    assert '"ms_played":"lots"' in alone.rejected["raw_text"][0]
    assert "203.0.113.7" not in alone.rejected["raw_text"][0]
