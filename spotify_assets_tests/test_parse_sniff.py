"""Judging big files cheaply (the landing sensor): every format passes, non-histories and bombs do not."""

from __future__ import annotations

import zipfile

import pytest

from spotify_assets import sample
from spotify_assets.transforms.parse import (
    MAX_MEMBER_BYTES,
    NotAHistoryFile,
    check_large_history,
    read_history,
)

from . import exports

SAMPLE = 4000  # head bytes the sniff may read; every file below is bigger


def check(path, date_order=None):
    assert path.stat().st_size > SAMPLE
    check_large_history(path, path.name, date_order, SAMPLE)


@pytest.mark.parametrize("kind", sample.BASIC_KINDS)
def test_basic_history_files_pass(tmp_path, kind):
    check(sample.write_basic_json(tmp_path / f"StreamingHistory_{kind}_0.json", 20_000, seed=3, kind=kind))


def test_zips_of_every_export_pass(tmp_path):
    check(sample.write_account_data_zip(tmp_path / "account.zip", 3_000, seed=3))
    check(sample.write_extended_zip(tmp_path / "extended.zip", 3_000, seed=3))
    padded = exports.write_account_data_zip(tmp_path / "small.zip")
    with zipfile.ZipFile(padded, "a") as archive:
        archive.writestr("padding.bin", bytes(range(256)) * 64)
    check(padded)


def test_a_spreadsheet_csv_passes_although_its_head_cannot_decide_the_date_order(tmp_path):
    plays = exports.AMBIGUOUS_PLAYS * 60 + exports.SPREADSHEET_PLAYS  # days above 12 only at the end
    path = exports.write_spreadsheet_csv(tmp_path / "export.csv", "eu_semicolon", plays)
    check(path)
    assert set(read_history(path).collect()["date_order"]) == {"dmy"}  # the whole file decides


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("settings.json", b'{"theme": "dark", "x": "' + b"y" * 5000 + b'"}', "JSON is not an array of plays"),
        (
            "SearchQueries.json",
            b'[{"searchQuery": "' + b"q" * 5000 + b'"}]',
            "does not start like an array of play",
        ),
        ("photo.csv", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64, "not a text file"),
        ("budget.csv", b"date;amount\n" + b"2020-01-01;12\n" * 500, "line 1 is not the header"),
    ],
)
def test_big_files_that_are_not_histories_are_refused(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(NotAHistoryFile, match=expected):
        check(path)


def test_a_zip_without_history_is_refused_naming_its_members(tmp_path):
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in exports.ACCOUNT_DATA_OTHERS.items():
            archive.writestr(name, content + b" " * 1000)
    with pytest.raises(
        NotAHistoryFile, match=r"photos.zip: ZIP holds no history \(it holds Follow.json, Marquee"
    ):
        check(path)


def test_bombs_and_oversized_json_are_refused_without_reading_them(tmp_path):
    bomb = exports.write_zip_bomb(
        tmp_path / "bomb.zip",
        "Streaming_History_Audio_2024_0.json",
        MAX_MEMBER_BYTES + 1,
        declared_bytes=MAX_MEMBER_BYTES + 1,
    )
    with pytest.raises(NotAHistoryFile, match=r"declares .* uncompressed, more than the"):
        check(bomb)
    big = tmp_path / "Streaming_History_Audio_2024_1.json"
    with big.open("wb") as handle:
        handle.write(b'[{"ts": "2024-01-01T00:00:00Z"}')
        handle.truncate(MAX_MEMBER_BYTES + 1)
    with pytest.raises(NotAHistoryFile, match="of JSON, more than the"):
        check(big)


@pytest.mark.parametrize("style", ["windows_ansi", "unicode_text"])
def test_spreadsheet_csvs_in_other_encodings_pass(tmp_path, style):
    check(exports.write_spreadsheet_csv(tmp_path / "export.csv", style, exports.SPREADSHEET_PLAYS * 40))
