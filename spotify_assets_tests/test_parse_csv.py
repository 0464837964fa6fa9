"""The Maven CSV as spreadsheets save it: separators, headers, timestamp forms, the file's date order."""

from __future__ import annotations

from datetime import UTC

import polars as pl
import pytest

from spotify_assets.transforms.parse import MAX_MEMBER_BYTES, DateOrderUnknown, NotAHistoryFile, read_history
from spotify_assets.transforms.timestamps import parse_timestamp

from . import exports
from .hostile import TRACK_A

NAME_COLUMNS = ("track_name", "artist_name", "album_name")


@pytest.mark.parametrize("style", list(exports.SPREADSHEET_STYLES))
def test_every_spreadsheet_style_reads_with_its_date_order(tmp_path, style):
    shape = exports.SPREADSHEET_STYLES[style]
    raw = read_history(exports.write_spreadsheet_csv(tmp_path / f"{style}.csv", style)).collect()
    plays = exports.SPREADSHEET_PLAYS
    assert raw.height == len(plays)
    assert raw["parse_error"].null_count() == raw.height
    assert raw["ts"].to_list() == [exports.TS_FORMS[shape.ts_form](play.ended) for play in plays]
    assert set(raw["date_order"].to_list()) == {shape.date_order}
    assert set(raw["source_format"]) == {"maven_csv"}
    assert raw["spotify_track_uri"].to_list() == [play.uri for play in plays]
    assert raw["ms_played"].to_list() == [play.ms_played for play in plays]
    read_back = raw.select(parse_timestamp(pl.col("ts"), pl.col("date_order")))
    assert read_back.to_series().to_list() == [
        exports.expected_ts(play, style).replace(tzinfo=UTC) for play in plays
    ]


@pytest.mark.parametrize("style", ["us_comma", "eu_semicolon", "tab_capitalised"])
def test_names_are_byte_exact_whatever_the_separator(tmp_path, style):
    raw = read_history(exports.write_spreadsheet_csv(tmp_path / "h.csv", style)).collect()
    for column in NAME_COLUMNS:
        assert raw[column].to_list() == [getattr(play, column) for play in exports.SPREADSHEET_PLAYS]
    assert raw["album_name"][1] == 'Zonne\r\nstraal "live"'  # CRLF inside quotes kept
    assert raw["artist_name"][1] == " De Hofnar"
    assert raw["track_name"][1] == "Mythical Monsters "
    assert raw["album_name"][2] == "B'Day\u00a0"


def test_records_keep_their_physical_lines_across_quoted_line_breaks(tmp_path):
    raw = read_history(exports.write_spreadsheet_csv(tmp_path / "h.csv", "eu_semicolon")).collect()
    assert raw["source_line"].to_list() == [2, 3, 5, 6]


def test_headers_match_trimmed_quoted_and_in_any_case(tmp_path):
    path = tmp_path / "odd_header.csv"
    header = (
        '\ufeff "Spotify Track URI" ;TS; Platform ;MS_Played;Track Name;Artist_Name;album_name;'
        "Reason_Start;REASON_END;Shuffle;Skipped;;"
    )
    path.write_text(
        header + f"\n{TRACK_A};2013-07-08 02:44:31;android;1;T;A;B;;;FALSE;FALSE;;\n", encoding="utf-8"
    )
    row = read_history(path).collect().row(0, named=True)
    assert (row["spotify_track_uri"], row["ts"], row["track_name"], row["parse_error"]) == (
        TRACK_A,
        "2013-07-08 02:44:31",
        "T",
        None,
    )
    assert row["date_order"] is None


def test_undecidable_dates_are_refused_naming_both_readings_and_the_setting(tmp_path):
    path = exports.write_spreadsheet_csv(tmp_path / "ambiguous.csv", "us_comma", exports.AMBIGUOUS_PLAYS)
    with pytest.raises(DateOrderUnknown) as error:
        read_history(path)
    message = str(error.value)
    assert message.startswith("ambiguous.csv: cannot tell whether dates are day-first or month-first")
    assert "line 2 '7/8/2013 9:30' reads as 7 August 2013 09:30 (dmy) or 8 July 2013 09:30 (mdy)" in message
    assert "SPOTIFY_CSV_DATE_ORDER=dmy" in message and "SPOTIFY_CSV_DATE_ORDER=mdy" in message
    assert "\n" not in message


@pytest.mark.parametrize("order", ["dmy", "mdy"])
def test_the_setting_settles_an_undecidable_file(tmp_path, order):
    path = exports.write_spreadsheet_csv(tmp_path / "ambiguous.csv", "us_comma", exports.AMBIGUOUS_PLAYS)
    raw = read_history(path, date_order=order).collect()
    assert set(raw["date_order"]) == {order}
    first = raw.select(parse_timestamp(pl.col("ts"), pl.col("date_order"))).to_series()[0]
    assert (first.month, first.day) == ((8, 7) if order == "dmy" else (7, 8))


def test_a_file_whose_values_decide_ignores_the_setting(tmp_path):
    path = exports.write_spreadsheet_csv(tmp_path / "eu.csv", "eu_semicolon")
    assert set(read_history(path, date_order="mdy").collect()["date_order"]) == {"dmy"}


def test_a_file_written_both_ways_is_refused_unless_the_setting_says(tmp_path):
    path = exports.write_spreadsheet_csv(
        tmp_path / "both.csv", "us_comma", [exports.SPREADSHEET_PLAYS[1]] * 2
    )
    text = path.read_bytes().decode("utf-8-sig").replace("7/25/2013 14:05", "25/7/2013 14:05", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NotAHistoryFile) as error:
        read_history(path)
    assert not isinstance(error.value, DateOrderUnknown)
    assert "dates are written both ways: line 2 has '25/7/2013 14:05' (day first only)" in str(error.value)
    assert "line 4 has '7/25/2013 14:05' (month first only)" in str(error.value)
    raw = read_history(path, date_order="mdy").collect()
    read_back = raw.select(parse_timestamp(pl.col("ts"), pl.col("date_order"))).to_series()
    assert read_back.is_null().to_list() == [True, False]  # the day-first value becomes a bad_timestamp


def test_a_file_without_year_last_dates_has_no_order(tmp_path):
    raw = read_history(exports.write_spreadsheet_csv(tmp_path / "iso.csv", "tab_capitalised")).collect()
    assert raw["date_order"].null_count() == raw.height


def test_a_header_that_fits_no_separator_names_what_is_missing(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("spotify_track_uri;ts;platform;ms_played\nx;y;z;1\n")
    with pytest.raises(
        NotAHistoryFile, match=r"separated by commas, semicolons or tabs \(missing: track_name"
    ):
        read_history(path)


def test_a_header_only_csv_is_an_empty_history(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(
        "spotify_track_uri;ts;platform;ms_played;track_name;artist_name;album_name;reason_start;"
        "reason_end;shuffle;skipped\r\n"
    )
    raw = read_history(path).collect()
    assert raw.height == 0


def test_the_setting_is_read_once_from_the_environment_and_checked():
    from spotify_assets.settings import CSV_DATE_ORDERS, Settings
    from spotify_assets.tables import DATE_ORDERS

    assert CSV_DATE_ORDERS == DATE_ORDERS
    assert Settings.from_env({"SPOTIFY_CSV_DATE_ORDER": " DMY "}).csv_date_order == "dmy"
    assert Settings.from_env({}).csv_date_order is None
    with pytest.raises(ValueError, match="SPOTIFY_CSV_DATE_ORDER='ymd': expected dmy"):
        Settings.from_env({"SPOTIFY_CSV_DATE_ORDER": "ymd"})


@pytest.mark.parametrize("style", ["windows_ansi", "unicode_text"])
def test_windows_and_utf16_files_read_names_as_the_spreadsheet_meant_them(tmp_path, style):
    path = exports.write_spreadsheet_csv(tmp_path / f"{style}.csv", style)
    assert not path.read_bytes().decode("utf-8", errors="replace").isascii()  # truly not UTF-8 text
    raw = read_history(path).collect()
    for column in NAME_COLUMNS:
        assert raw[column].to_list() == [
            exports.saved_text(getattr(play, column), style) for play in exports.SPREADSHEET_PLAYS
        ]
    assert raw["source_line"].to_list() == [2, 3, 5, 6]
    assert set(raw["date_order"]) == {exports.SPREADSHEET_STYLES[style].date_order}


def test_windows_1252_keeps_accents_and_the_question_marks_it_saved():
    assert exports.saved_text("Beyoncé 夜に駆ける", "windows_ansi") == "Beyoncé ?????"


def test_a_big_file_that_is_not_utf8_is_refused_asking_for_a_utf8_copy(tmp_path):
    path = tmp_path / "huge_ansi.csv"
    row = b"x,1/2/2013 1:00,a,1,Beyonc\xe9,A,B,,,TRUE,TRUE\r\n"
    with path.open("wb") as handle:
        handle.write(",".join(exports.HEADER).encode() + b"\r\n" + row * 30_000)  # text past the sample
        handle.truncate(MAX_MEMBER_BYTES + 1)
    with pytest.raises(NotAHistoryFile, match=r"of Windows-1252 text, more than the .* as CSV UTF-8"):
        read_history(path)
