"""Reading history files: formats from content, positions, hostile CSV quirks, bad files."""

import io
import json
import zipfile

import polars as pl
import pytest

from spotify_assets.transforms.parse import NotAHistoryFile, read_history

from .hostile import CSV_ROWS, JSON_RECORDS, NEVER_STORED, TRACK_A, write_hostile_csv, write_hostile_json


def test_hostile_csv_rows_keep_their_physical_lines_and_values(tmp_path):
    raw = read_history(write_hostile_csv(tmp_path / "export.txt")).collect()  # extension says nothing
    assert raw["source_line"].to_list() == [line for line, *_ in CSV_ROWS]
    assert set(raw["source_format"]) == {"maven_csv"}
    first, second, cjk = raw.row(0, named=True), raw.row(1, named=True), raw.row(2, named=True)
    assert first["track_name"] == 'Classy, "Girls"'
    assert first["album_name"] == "Goodbyes, Vol. 1"
    assert first["spotify_track_uri"] == TRACK_A  # no BOM glued to the first column
    assert second["album_name"] == "Zonne\r\nstraal"
    assert cjk["track_name"] == "夜に駆ける 🎵"


def test_wrong_column_counts_are_marked_with_the_raw_record(tmp_path):
    raw = read_history(write_hostile_csv(tmp_path / "h.csv")).collect()
    marked = raw.filter(pl.col("parse_error").is_not_null())
    assert marked["source_line"].to_list() == [14, 15]
    assert marked["parse_error"].to_list() == [
        "wrong column count: expected 11 fields, found 4",
        "wrong column count: expected 11 fields, found 12",
    ]
    assert marked["raw_text"][1].endswith(",FALSE,FALSE,extra")


def test_columns_are_matched_by_header_name_not_position(tmp_path):
    path = tmp_path / "reordered.csv"
    path.write_text(
        "ts,spotify_track_uri,platform,ms_played,track_name,artist_name,album_name,reason_start,reason_end,skipped,shuffle\n"
        f"2020-01-01 10:00:00,{TRACK_A},ios,1000,T,A,B,clickrow,trackdone,TRUE,FALSE\n"
    )
    row = read_history(path).collect().row(0, named=True)
    assert (row["spotify_track_uri"], row["skipped"], row["shuffle"]) == (TRACK_A, "TRUE", "FALSE")


def test_extended_json_is_read_by_record_without_personal_fields(tmp_path):
    raw = read_history(write_hostile_json(tmp_path / "Streaming_History_Audio_2022.json")).collect()
    assert raw.height == len(JSON_RECORDS)
    assert raw["source_line"].to_list() == list(range(1, len(JSON_RECORDS) + 1))
    assert raw["episode_show_name"][1] == "The Show"
    assert raw["audiobook_chapter_uri"][2] == "spotify:chapter:1v5ZcJcWbc6cyzm1xSvO2b"
    assert raw["ms_played"][3] == "lots"
    text = raw.write_csv()
    assert not any(value in text for value in NEVER_STORED)


def test_zip_reads_history_members_only_and_names_them(tmp_path):
    path = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "Spotify Extended Streaming History/Streaming_History_Audio_2022_0.json",
            json.dumps(JSON_RECORDS[:2]),
        )
        archive.writestr(
            "Spotify Extended Streaming History/Streaming_History_Audio_2022_1.json",
            json.dumps(JSON_RECORDS[2:]),
        )
        archive.writestr(
            "Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf", b"%PDF-1.4"
        )
    raw = read_history(path).collect()
    assert raw.height == len(JSON_RECORDS)
    assert raw["source_file"].unique(maintain_order=True).to_list() == [
        "my_spotify_data.zip/Spotify Extended Streaming History/Streaming_History_Audio_2022_0.json",
        "my_spotify_data.zip/Spotify Extended Streaming History/Streaming_History_Audio_2022_1.json",
    ]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("cover.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a text file"),
        ("budget.csv", b"date,amount,category\n2020-01-01,12.50,food\n", "missing: spotify_track_uri"),
        (
            "Streaming_History_Audio_2020.json",
            b'[{"ts": "2020-01-01T00:00:00Z", "ms_played": 1',
            "not valid JSON",
        ),
        (
            "SearchQueries.json",
            b'[{"searchTime": "2024-03-01", "searchQuery": "x", "platform": "IOS"}]',
            "no record has `ts`, or `endTime` and `msPlayed`",
        ),
        ("Marquee.json", b'[{"artistName": "A", "segment": "Light listeners"}]', "no record has `ts`"),
        ("numbers.json", b"[1, 2, 3]", "not an array of play records"),
        ("settings.json", b'{"theme": "dark"}', "not an array of plays"),
        ("empty.csv", b"", "the file is empty"),
        ("blank.json", b"\xef\xbb\xbf  \r\n ", "the file is empty"),
        ("broken.zip", b"PK\x03\x04 this is not really a zip", "damaged ZIP"),
    ],
)
def test_files_that_are_not_histories_fail_naming_the_file_and_what_was_expected(
    tmp_path, name, content, expected
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(NotAHistoryFile) as error:
        read_history(path)
    assert str(error.value).startswith(f"{name}: ")
    assert expected in str(error.value)


def test_zip_without_history_members_is_refused(tmp_path):
    path = tmp_path / "photos.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Userdata.json", "{}")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(NotAHistoryFile, match=r"photos\.zip: ZIP holds no history: Userdata\.json \(JSON is"):
        read_history(path)
