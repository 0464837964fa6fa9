"""Basic account data and ZIP members: detected by content, mapped field by field, names byte-exact."""

from __future__ import annotations

import io
import json
import zipfile

import polars as pl
import pytest

from spotify_assets.tables import RAW_PLAYS
from spotify_assets.transforms.parse import BASIC_FIELDS, NotAHistoryFile, read_history, read_history_file

from . import exports
from .hostile import JSON_RECORDS, write_hostile_csv

RAW_COLUMNS = [name for name in RAW_PLAYS.column_names if name != "landing_file"]


def expected_rows(records: list[dict]) -> list[dict]:
    """raw_plays values a basic record must give: its fields by the documented map, as text."""
    return [
        {
            column: None if record.get(field) is None else str(record[field])
            for column, field in BASIC_FIELDS.items()
        }
        for record in records
    ]


@pytest.mark.parametrize(
    ("name", "records"),
    [
        ("StreamingHistory_music_0.json", exports.BASIC_MUSIC),
        ("StreamingHistory_podcast_0.json", exports.BASIC_PODCAST),
        ("StreamingHistory_audiobook_0.json", exports.BASIC_AUDIOBOOK),
        ("StreamingHistory0.json", exports.BASIC_MUSIC),
        ("export.txt", exports.BASIC_PODCAST),  # the name says nothing
    ],
)
def test_a_loose_basic_file_maps_every_field_and_keeps_names_as_written(tmp_path, name, records):
    raw = read_history(exports.write_basic_json(tmp_path / name, records)).collect()
    assert raw.columns == RAW_COLUMNS
    assert raw.select(list(BASIC_FIELDS)).to_dicts() == expected_rows(records)
    assert raw["source_line"].to_list() == list(range(1, len(records) + 1))
    assert set(raw["source_format"]) == {"basic_json"}
    assert set(raw["source_file"]) == {name}
    untouched = [
        column
        for column in RAW_COLUMNS
        if column not in (*BASIC_FIELDS, "source_file", "source_line", "source_format")
    ]
    assert raw.select(untouched).null_count().row(0) == (len(records),) * len(untouched)


def test_names_are_byte_exact_in_raw_plays(tmp_path):
    raw = read_history(
        exports.write_basic_json(tmp_path / "StreamingHistory_music_0.json", exports.BASIC_MUSIC)
    ).collect()
    assert raw["track_name"][1] == "Mythical Monsters "
    assert raw["artist_name"][3] == "Sigur Rós\u00a0"
    assert raw["artist_name"][5] == " Beyonc?"
    assert raw["track_name"][5] == 'BeyoncÃ© "Halo"; live'
    assert raw["ms_played"][2] == "0"


def test_the_account_data_zip_reads_history_members_and_lists_the_others(tmp_path):
    read = read_history_file(exports.write_account_data_zip(tmp_path / "my_spotify_data.zip"))
    raw = read.plays.collect()
    folder = f"my_spotify_data.zip/{exports.ACCOUNT_DATA_FOLDER}"
    members = list(exports.ACCOUNT_DATA_HISTORY)
    assert raw["source_file"].unique(maintain_order=True).to_list() == [
        f"{folder}/{name}" for name in members
    ]
    for member, records in exports.ACCOUNT_DATA_HISTORY.items():
        rows = raw.filter(pl.col("source_file") == f"{folder}/{member}")
        assert rows["source_line"].to_list() == list(range(1, len(records) + 1))
        assert rows.select(list(BASIC_FIELDS)).to_dicts() == expected_rows(records)
    assert set(raw["source_format"]) == {"basic_json"}
    assert read.members_read == tuple(f"{exports.ACCOUNT_DATA_FOLDER}/{name}" for name in members)
    skipped = dict(read.members_skipped)
    assert set(skipped) == {f"{exports.ACCOUNT_DATA_FOLDER}/{name}" for name in exports.ACCOUNT_DATA_OTHERS}
    assert skipped[f"{exports.ACCOUNT_DATA_FOLDER}/Read_Me_First.pdf"] == "not a text file"
    assert skipped[f"{exports.ACCOUNT_DATA_FOLDER}/Userdata.json"] == "JSON is not an array of plays"
    assert skipped[f"{exports.ACCOUNT_DATA_FOLDER}/Marquee.json"].startswith("no record has `ts`")
    metadata = read.metadata()
    assert (metadata["members_read"], metadata["members_skipped"]) == (4, len(exports.ACCOUNT_DATA_OTHERS))
    assert (
        f"{exports.ACCOUNT_DATA_FOLDER}/Playlist1.json: JSON is not an array of plays"
        in metadata["skipped_members"]
    )


def test_the_older_account_data_zip_reads_too(tmp_path):
    read = read_history_file(exports.write_old_account_data_zip(tmp_path / "my_spotify_data.zip"))
    raw = read.plays.collect()
    assert raw.select(list(BASIC_FIELDS)).to_dicts() == expected_rows(exports.BASIC_MUSIC)
    assert read.members_read == ("MyData/StreamingHistory0.json", "MyData/StreamingHistory1.json")
    assert [member for member, _ in read.members_skipped] == ["MyData/Userdata.json"]


def test_the_extended_zip_reads_endsong_and_video_members_by_content(tmp_path):
    read = read_history_file(exports.write_extended_export_zip(tmp_path / "my_spotify_data.zip"))
    raw = read.plays.collect()
    assert read.members_read == tuple(exports.EXTENDED_HISTORY)
    assert read.members_skipped == (
        (f"{exports.EXTENDED_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf", "not a text file"),
    )
    assert raw.height == sum(len(records) for records in exports.EXTENDED_HISTORY.values())
    assert set(raw["source_format"]) == {"extended_json"}
    endsong = raw.filter(pl.col("source_file").str.ends_with("/endsong.json"))
    assert endsong["ts"].to_list() == [record["ts"] for record in JSON_RECORDS[3:]]
    assert "Episode 2 (video)" in raw["episode_name"].to_list()


def test_zip_members_are_judged_by_content_not_by_name(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", exports.basic_json(exports.BASIC_PODCAST))  # a history under any name
        archive.writestr("StreamingHistory_music_9.json", exports.ACCOUNT_DATA_OTHERS["Userdata.json"])
        archive.writestr("data/history.csv", write_hostile_csv(tmp_path / "h.csv").read_bytes())
        archive.writestr("data/spotify_data_dictionary.csv", "field,description\nts,when the play ended\n")
        archive.writestr("nested.zip", _zip_bytes())
        archive.writestr("empty_folder/", b"")
    read = read_history_file(path)
    raw = read.plays.collect()
    assert read.members_read == ("data/history.csv", "notes.txt")
    assert dict(read.members_skipped) == {
        "StreamingHistory_music_9.json": "JSON is not an array of plays",
        "data/spotify_data_dictionary.csv": "line 1 is not the header of a Spotify history",
        "nested.zip": "a ZIP inside the ZIP, not read",
    }
    csv_rows = raw.filter(pl.col("source_file") == "export.zip/data/history.csv")
    assert (
        csv_rows["source_line"].to_list()
        == read_history(tmp_path / "h.csv").collect()["source_line"].to_list()
    )
    assert set(csv_rows["source_format"]) == {"maven_csv"}
    assert raw.filter(pl.col("source_file") == "export.zip/notes.txt")["episode_name"].to_list() == [
        record["episodeName"] for record in exports.BASIC_PODCAST
    ]


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("StreamingHistory0.json", exports.basic_json(exports.BASIC_MUSIC))
    return buffer.getvalue()


def test_a_zip_without_history_names_what_it_holds(tmp_path):
    path = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in exports.ACCOUNT_DATA_OTHERS.items():
            archive.writestr(f"{exports.ACCOUNT_DATA_FOLDER}/{name}", content)
    with pytest.raises(NotAHistoryFile) as error:
        read_history(path)
    message = str(error.value)
    assert message.startswith("my_spotify_data.zip: ZIP holds no history: ")
    assert f"{exports.ACCOUNT_DATA_FOLDER}/Read_Me_First.pdf (not a text file)" in message
    assert "expected Spotify's export" in message and "\n" not in message


def test_an_empty_zip_says_so(tmp_path):
    path = tmp_path / "empty.zip"
    zipfile.ZipFile(path, "w").close()
    with pytest.raises(NotAHistoryFile, match=r"empty\.zip: ZIP holds no history: it is empty"):
        read_history(path)


def test_an_empty_array_is_a_history_with_no_plays(tmp_path):
    path = tmp_path / "StreamingHistory_podcast_0.json"
    path.write_text("[]")
    raw = read_history(path).collect()
    assert raw.height == 0 and raw.columns == RAW_COLUMNS
    archive = tmp_path / "podcasts.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("StreamingHistory_podcast_0.json", "[]")
    read = read_history_file(archive)
    assert read.plays.collect().height == 0
    assert read.members_read == ("StreamingHistory_podcast_0.json",)


def test_a_loose_file_has_no_members_and_records_only_counts(tmp_path):
    read = read_history_file(
        exports.write_basic_json(tmp_path / "StreamingHistory0.json", exports.BASIC_MUSIC)
    )
    assert read.metadata() == {"members_read": 0, "members_skipped": 0}


def test_extended_records_keep_their_fields_and_no_author(tmp_path):
    path = tmp_path / "Streaming_History_Audio_2022.json"
    path.write_text(json.dumps(JSON_RECORDS, ensure_ascii=False), encoding="utf-8")
    raw = read_history(path).collect()
    assert raw["author_name"].null_count() == raw.height
    assert raw["date_order"].null_count() == raw.height


def test_a_history_member_cut_short_refuses_the_whole_zip(tmp_path):
    """Skipping it like Userdata.json would lose its plays without a word."""
    path = tmp_path / "my_spotify_data.zip"
    whole = exports.basic_json(exports.BASIC_MUSIC)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{exports.ACCOUNT_DATA_FOLDER}/StreamingHistory_music_0.json", whole)
        archive.writestr(
            f"{exports.ACCOUNT_DATA_FOLDER}/StreamingHistory_music_1.json", whole[: len(whole) // 2]
        )
        archive.writestr(
            f"{exports.ACCOUNT_DATA_FOLDER}/Userdata.json", exports.ACCOUNT_DATA_OTHERS["Userdata.json"]
        )
    with pytest.raises(NotAHistoryFile) as error:
        read_history(path)
    message = str(error.value)
    assert message.startswith(
        f"my_spotify_data.zip/{exports.ACCOUNT_DATA_FOLDER}/StreamingHistory_music_1.json: "
    )
    assert "not valid JSON" in message and "the ZIP is not read" in message and "\n" not in message
