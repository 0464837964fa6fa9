"""Cleaning: every row is clean, filtered, duplicate or rejected with a reason that names it."""

import json

import polars as pl

from spotify_assets.tables import CLEAN_PLAYS, REJECT_REASONS
from spotify_assets.transforms.clean import clean_plays
from spotify_assets.transforms.parse import read_history

from .hostile import (
    CSV_ROWS,
    EXPECTED_CSV,
    JSON_CONTENT_TYPES,
    JSON_VERDICTS,
    write_hostile_csv,
    write_hostile_json,
)

EXPECTED_COUNTS = {
    "rows_read": EXPECTED_CSV["rows_read"],
    "valid": EXPECTED_CSV["clean"],
    "filtered": EXPECTED_CSV["filtered"],
    "duplicate_in_file": EXPECTED_CSV["duplicate"],
    "rejected": EXPECTED_CSV["rejected"],
}


def test_hostile_csv_accounting_adds_up(tmp_path):
    result = clean_plays(read_history(write_hostile_csv(tmp_path / "h.csv")), tmp_path)
    assert result.counts == EXPECTED_COUNTS
    assert (
        sum(result.counts[s] for s in ("valid", "filtered", "duplicate_in_file", "rejected"))
        == result.counts["rows_read"]
    )


def test_every_reject_reason_with_file_and_line(tmp_path):
    result = clean_plays(read_history(write_hostile_csv(tmp_path / "h.csv")), tmp_path)
    expected = [(line, reason) for line, _, verdict, reason in CSV_ROWS if verdict == "rejected"]
    assert list(zip(result.rejected["source_line"], result.rejected["reason"], strict=False)) == expected
    assert set(result.rejected["reason"]) <= set(REJECT_REASONS)
    assert {reason for _, reason in expected} == set(REJECT_REASONS) - {"missing_title"}  # basic data only
    details = dict(zip(result.rejected["source_line"], result.rejected["detail"], strict=False))
    assert details[8] == "h.csv line 8: ts 'yesterday' is not a timestamp"
    assert details[9] == "h.csv line 9: ms_played '12.5' is not a whole number"
    assert details[10] == "h.csv line 10: ms_played -5 is negative"
    assert details[12] == "h.csv line 12: 'spotify:track:short' is not a 22-character Spotify id or URI"
    assert details[13] == "h.csv line 13: shuffle 'maybe' is not true or false"
    raw_texts = dict(zip(result.rejected["source_line"], result.rejected["raw_text"], strict=False))
    assert raw_texts[8] == {line: text for line, text, *_ in CSV_ROWS}[8]
    assert raw_texts[14].endswith("android,1000")


def test_clean_rows_are_typed_and_nulls_handled(tmp_path):
    result = clean_plays(read_history(write_hostile_csv(tmp_path / "h.csv")), tmp_path)
    clean = result.clean.collect()
    assert clean.schema == {
        name: dtype for name, dtype in CLEAN_PLAYS.polars_schema().items() if name != "landing_file"
    }
    assert sorted(clean["source_line"]) == [line for line, _, verdict, _ in CSV_ROWS if verdict == "clean"]
    row16 = clean.filter(pl.col("source_line") == 16).row(0, named=True)
    assert (row16["reason_start"], row16["reason_end"], row16["shuffle"], row16["skipped"]) == (
        "unknown",
        "unknown",
        True,
        False,
    )
    assert row16["content_id"] == "49x8Zp5wDjoquBE1THLLCV"
    assert clean.filter(pl.col("source_line") == 3)["album_name"][0] == "Zonne\nstraal"
    assert clean["play_key"].is_unique().all()
    assert clean.filter(pl.col("source_line") == 2)["ts_utc"][0].isoformat() == "2019-09-20T14:40:30+00:00"


def test_json_content_types_and_reject_details(tmp_path):
    raw_json = read_history(write_hostile_json(tmp_path / "Streaming_History_Audio_2022.json"))
    alone = clean_plays(raw_json, tmp_path)
    assert alone.counts["valid"] == JSON_VERDICTS.count("clean")
    assert alone.clean.collect()["content_type"].value_counts().sort("content_type").rows() == sorted(
        JSON_CONTENT_TYPES.items()
    )
    episode = alone.clean.collect().filter(pl.col("content_type") == "episode").row(0, named=True)
    assert (episode["track_name"], episode["artist_name"]) == ("Episode 1: «Naïve» beginnings", "The Show")
    assert alone.rejected["reason"].to_list() == ["ms_played_not_integer"]
    assert alone.rejected["detail"][0].startswith("Streaming_History_Audio_2022.json line 4: ")
    assert '"ms_played":"lots"' in alone.rejected["raw_text"][0]
    assert "203.0.113.7" not in alone.rejected["raw_text"][0]


def test_the_same_play_in_two_files_has_one_key(tmp_path):
    csv = clean_plays(read_history(write_hostile_csv(tmp_path / "h.csv")), tmp_path).clean.collect()
    json_ = clean_plays(read_history(write_hostile_json(tmp_path / "e.json")), tmp_path).clean.collect()
    shared = csv.join(json_, on="play_key")
    assert shared.select("source_line", "source_line_right").rows() == [(2, 5)]


def test_a_null_skipped_in_the_json_matches_the_csv_copy_of_the_play(tmp_path):
    """Extended exports leave `skipped` null on some plays; their CSV copy says TRUE or FALSE."""
    record = {
        "ts": "2019-09-20T14:40:30Z",
        "platform": "android",
        "ms_played": 4465,
        "master_metadata_track_name": "Mythical Monsters",
        "master_metadata_album_artist_name": "Tales",
        "master_metadata_album_album_name": "Vol 1",
        "spotify_track_uri": "spotify:track:3ZzlzIJ5iH3WXCP6bX8Vp5",
        "reason_start": "trackdone",
        "reason_end": "fwdbtn",
        "shuffle": False,
        "skipped": None,
    }
    json_path = tmp_path / "Streaming_History_Audio_2019_0.json"
    json_path.write_text(json.dumps([record]), encoding="utf-8")
    csv_path = tmp_path / "spotify_history.csv"
    csv_path.write_text(
        "spotify_track_uri,ts,platform,ms_played,track_name,artist_name,album_name,reason_start,reason_end,"
        "shuffle,skipped\n"
        "3ZzlzIJ5iH3WXCP6bX8Vp5,2019-09-20 14:40:30,android,4465,Mythical Monsters,Tales,Vol 1,trackdone,"
        "fwdbtn,FALSE,TRUE\n",
        encoding="utf-8",
    )
    keys = [
        clean_plays(read_history(path), tmp_path).clean.collect()["play_key"]
        for path in (json_path, csv_path)
    ]
    assert keys[0].len() == keys[1].len() == 1
    assert keys[0][0] == keys[1][0]


def test_a_local_file_play_is_a_track_without_an_id_counted_once_across_exports(tmp_path):
    """`spotify:local:...`: the listener's own file, named by its metadata (it was rejected)."""
    record = {
        "ts": "2020-05-01T10:00:00Z",
        "platform": "windows",
        "ms_played": 200000,
        "master_metadata_track_name": "My Demo",
        "master_metadata_album_artist_name": "Me",
        "master_metadata_album_album_name": "Tapes",
        "spotify_track_uri": "spotify:local:Me:Tapes:My+Demo:201",
    }
    results = []
    for name in ("Streaming_History_Audio_2020_0.json", "endsong_3.json"):
        path = tmp_path / name
        path.write_text(json.dumps([record | {"platform": name}]), encoding="utf-8")  # the platform differs
        results.append(clean_plays(read_history(path), tmp_path))
    assert [result.counts["rejected"] for result in results] == [0, 0]
    plays = [result.clean.collect().row(0, named=True) for result in results]
    assert [(play["content_type"], play["content_id"], play["track_name"]) for play in plays] == [
        ("track", None, "My Demo")
    ] * 2
    assert plays[0]["play_key"] == plays[1]["play_key"]  # by names, as a basic play: one play


def test_names_keep_their_white_space_and_only_keys_normalize(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "spotify_track_uri,ts,platform,ms_played,track_name,artist_name,album_name,reason_start,reason_end,"
        "shuffle,skipped\n"
        "3ZzlzIJ5iH3WXCP6bX8Vp5,2019-09-20 14:40:30,android,74465,Mythical Monsters ,\u00a0Tales,Vol 1,,,"
        "false,false\n"
        "3ZzlzIJ5iH3WXCP6bX8Vp5,2019-09-21 14:40:30,android,74465,   ,Tales,Vol 1,,,false,false\n",
        encoding="utf-8",
    )
    clean = clean_plays(read_history(path), tmp_path).clean.collect().sort("source_line")
    assert clean["track_name"].to_list() == ["Mythical Monsters ", "(unknown title)"]
    assert clean["artist_name"].to_list() == ["\u00a0Tales", "Tales"]


def test_basic_account_data_is_typed_without_ids(tmp_path):
    path = tmp_path / "StreamingHistory_podcast_0.json"
    path.write_text(
        '[{"endTime": "2023-10-02 23:43", "podcastName": "The Show", "episodeName": "Ep 1",'
        ' "msPlayed": 51223},'
        ' {"endTime": "2023-10-02 23:44", "podcastName": "The Show", "episodeName": null, "msPlayed": 1000},'
        ' {"endTime": "2023-10-02 23:45", "podcastName": "The Show", "episodeName": "Ep 1", "msPlayed": 0}]',
        encoding="utf-8",
    )
    result = clean_plays(read_history(path), tmp_path)
    assert result.counts == {"rows_read": 3, "valid": 1, "filtered": 1, "duplicate_in_file": 0, "rejected": 1}
    play = result.clean.collect().row(0, named=True)
    assert (play["content_type"], play["content_id"], play["track_name"], play["artist_name"]) == (
        "episode",
        None,
        "Ep 1",
        "The Show",
    )
    assert play["ts_utc"].isoformat() == "2023-10-02T23:43:00+00:00"
    assert result.rejected.select("reason", "detail").row(0) == (
        "missing_title",
        f"{path.name} line 2: no trackName, episodeName or chapterName",
    )
    assert '"episodeName":null' in result.rejected["raw_text"][0]
