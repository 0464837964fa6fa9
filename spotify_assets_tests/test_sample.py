"""The sample-history generator: shape, determinism, realism and the exact file formats."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest

from spotify_assets import sample

BASE62_ID = r"^[0-9A-Za-z]{22}$"
SKIP_REASONS = ("fwdbtn", "backbtn", "nextbtn")
MAVEN_HEADER = (
    "spotify_track_uri,ts,platform,ms_played,track_name,artist_name,album_name,"
    "reason_start,reason_end,shuffle,skipped"
)


@pytest.fixture(scope="module")
def plays() -> pl.DataFrame:
    return sample.generate_plays(60_000, seed=3)


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    path = sample.write_extended_json(
        tmp_path_factory.mktemp("json") / "Streaming_History_Audio_2017-2024_0.json",
        4_000,
        seed=5,
        episodes=300,
        audiobooks=120,
    )
    return json.loads(path.read_text(encoding="utf-8"))


def test_same_seed_same_plays_other_seed_other_plays() -> None:
    first = sample.generate_plays(5_000, seed=11)
    assert first.equals(sample.generate_plays(5_000, seed=11))
    assert not first.equals(sample.generate_plays(5_000, seed=12))


@pytest.mark.parametrize("rows", [0, 1, 19, 20, 999, 12_345])
def test_exact_row_count(rows: int) -> None:
    frame = sample.generate_plays(rows, seed=1)
    assert frame.height == rows
    assert frame.columns == list(sample.MAVEN_COLUMNS)


def test_plays_are_ordered_by_time_over_several_years(plays: pl.DataFrame) -> None:
    assert plays["ts"].is_sorted()
    years = plays["ts"].dt.year()
    assert years.max() - years.min() >= 5
    assert plays.null_count().drop("reason_start", "reason_end").sum_horizontal().item() == 0


def test_short_plays_and_duplicates_in_realistic_ranges(plays: pl.DataFrame) -> None:
    under_500 = (plays["ms_played"] < 500).mean()
    duplicates = (plays.height - plays.unique().height) / plays.height
    assert 0.02 <= under_500 <= 0.04
    assert 0.003 <= duplicates <= 0.008


def test_skipped_exactly_when_reason_end_is_a_skip(plays: pl.DataFrame) -> None:
    known = plays.filter(pl.col("reason_end").is_not_null())
    assert known["skipped"].equals(known["reason_end"].is_in(SKIP_REASONS).alias("skipped"))
    finished = plays.filter(pl.col("reason_end") == "trackdone")["ms_played"]
    skips = plays.filter("skipped")["ms_played"]
    assert finished.median() > 4 * skips.median()
    empty = plays.select(pl.col("reason_start", "reason_end").is_null().mean()).row(0)
    assert all(0 < share < 0.01 for share in empty)


def test_daily_weekly_rhythm_and_changing_favourites(plays: pl.DataFrame) -> None:
    hours = plays["ts"].dt.hour()
    assert (hours.is_between(19, 21)).mean() > 3 * (hours.is_between(3, 5)).mean()
    weekend = plays["ts"].dt.weekday() >= 6
    weekend_mornings = hours.filter(weekend).is_between(7, 8).mean()
    weekday_mornings = hours.filter(~weekend).is_between(7, 8).mean()
    assert weekday_mornings > 2 * weekend_mornings

    top_share = plays["artist_name"].value_counts(sort=True)["count"][0] / plays.height
    assert 0.03 < top_share < 0.3
    by_year = (
        plays.group_by(pl.col("ts").dt.year().alias("year"))
        .agg(pl.col("artist_name").value_counts(sort=True).struct.field("artist_name").head(10))
        .sort("year")
    )
    first, last = set(by_year["artist_name"][0]), set(by_year["artist_name"][-1])
    assert len(first ^ last) >= 6


def test_platform_mix_moves_over_time(plays: pl.DataFrame) -> None:
    android = (
        plays.group_by(pl.col("ts").dt.year().alias("year"))
        .agg((pl.col("platform") == "android").mean().alias("share"))
        .sort("year")["share"]
    )
    assert android[-1] - android[0] > 0.1
    assert set(plays["platform"].unique()) == set(sample.load_catalog("platforms")["platform"])


def test_maven_csv_reads_back_exactly(tmp_path: Path) -> None:
    path = sample.write_maven_csv(tmp_path / "history.csv", 3_000, seed=9)
    raw = path.read_bytes()
    assert raw.startswith(MAVEN_HEADER.encode() + b"\n")
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw

    text = pl.read_csv(path, infer_schema=False)
    assert text.height == 3_000
    assert text["spotify_track_uri"].str.contains(BASE62_ID).all()
    assert text["ts"].str.contains(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$").all()
    assert set(text["shuffle"].unique()) | set(text["skipped"].unique()) <= {"TRUE", "FALSE"}

    typed = text.with_columns(
        pl.col("ts").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S", strict=True),
        pl.col("ms_played").cast(pl.Int64, strict=True),
        pl.col("shuffle", "skipped") == "TRUE",
    )
    assert typed.equals(sample.generate_plays(3_000, seed=9))


def test_catalog_is_consistent_and_keeps_hostile_names() -> None:
    tracks = sample.load_catalog("tracks")
    assert 2_000 <= tracks.height <= 4_000
    assert tracks["track_id"].is_unique().all()
    assert tracks["track_id"].str.contains(BASE62_ID).all()
    albums = tracks.group_by("album_name").agg(pl.col("artist_name").n_unique())
    assert albums["artist_name"].max() == 1
    names = pl.concat([tracks["track_name"], tracks["artist_name"], tracks["album_name"]])
    cjk, emoji = r"[\p{Han}\p{Hiragana}\p{Katakana}]", r"[\x{2600}-\x{27BF}\x{1F300}-\x{1FAFF}]"
    for pattern in (",", '"', r"[À-ÿ]", cjk, emoji):
        assert names.str.contains(pattern).any(), pattern
    for table in ("episodes", "audiobooks"):
        ids = sample.load_catalog(table).select(pl.col("^.*_id$")).unpivot()["value"]
        assert ids.str.contains(BASE62_ID).all()


def test_extended_json_has_every_field_and_spoken_plays(extended: list[dict]) -> None:
    assert len(extended) == 4_000 + 300 + 120
    assert all(list(record) == list(sample.EXTENDED_COLUMNS) for record in extended)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", r["ts"]) for r in extended)
    assert [r["ts"] for r in extended] == sorted(r["ts"] for r in extended)

    music = [r for r in extended if r["spotify_track_uri"] is not None]
    episodes = [r for r in extended if r["spotify_episode_uri"] is not None]
    books = [r for r in extended if r["audiobook_uri"] is not None]
    assert (len(music), len(episodes), len(books)) == (4_000, 300, 120)
    assert all(re.fullmatch(r"spotify:track:[0-9A-Za-z]{22}", r["spotify_track_uri"]) for r in music)
    assert all(re.fullmatch(r"spotify:episode:[0-9A-Za-z]{22}", r["spotify_episode_uri"]) for r in episodes)
    assert all(re.fullmatch(r"spotify:chapter:[0-9A-Za-z]{22}", r["audiobook_chapter_uri"]) for r in books)
    track_fields = [c for c in sample.EXTENDED_COLUMNS if c.startswith("master_metadata")]
    for record in episodes + books:
        assert all(record[field] is None for field in track_fields)
    assert all(r["episode_name"] and r["episode_show_name"] for r in episodes)
    assert all(r["audiobook_title"] is None for r in episodes)
    assert all(r["audiobook_title"] and r["audiobook_chapter_title"] for r in books)
    assert all(r["episode_name"] is None for r in books)

    assert any(r["skipped"] is None for r in extended)
    assert all(re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", r["ip_addr"]) for r in extended)
    offline_ts = {type(r["offline_timestamp"]) for r in extended}
    assert offline_ts == {int, type(None)}


def test_extended_music_is_the_maven_history(extended: list[dict]) -> None:
    music = [r for r in extended if r["spotify_track_uri"] is not None]
    plays = sample.generate_plays(4_000, seed=5)
    ids = [r["spotify_track_uri"].removeprefix("spotify:track:") for r in music]
    assert ids == plays["spotify_track_uri"].to_list()
    assert [r["ms_played"] for r in music] == plays["ms_played"].to_list()


def test_zip_is_laid_out_like_spotify_mails_it(tmp_path: Path) -> None:
    path = sample.write_extended_zip(tmp_path / "my_spotify_data.zip", 3_000, seed=2, files=3)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        audio = sorted(n for n in names if "Streaming_History_Audio_" in n)
        assert all(n.startswith(f"{sample.ZIP_FOLDER}/") for n in names)
        assert [re.sub(r"_\d{4}(-\d{4})?_", "_Y_", Path(n).name) for n in audio] == [
            f"Streaming_History_Audio_Y_{i}.json" for i in range(3)
        ]
        assert sum(1 for n in names if re.search(r"/Streaming_History_Video_\d{4}(-\d{4})?\.json$", n)) == 1
        others = [n for n in names if not n.endswith(".json")]
        assert others and all(not archive.read(n).lstrip().startswith(b"[") for n in others)
        records = [r for n in audio for r in json.loads(archive.read(n))]
    assert len(records) == 3_000 + 120 + 30  # music, episodes (4 %), audiobook chapters (1 %)
    assert sum(r["spotify_episode_uri"] is not None for r in records) == 120
    assert sum(r["audiobook_uri"] is not None for r in records) == 30
    assert [r["ts"] for r in records] == sorted(r["ts"] for r in records)


def test_the_same_zip_twice_is_the_same_bytes(tmp_path: Path) -> None:
    """Members carry a fixed time stamp, not the clock (the same `(rows, seed)`, the same file)."""
    for write in (sample.write_extended_zip, sample.write_account_data_zip):
        first = write(tmp_path / "first.zip", 500, seed=3)
        assert write(tmp_path / "second.zip", 500, seed=3).read_bytes() == first.read_bytes()
        with zipfile.ZipFile(first) as archive:
            stamps = {(info.date_time, info.compress_type) for info in archive.infolist()}
        assert stamps == {(sample.MEMBER_TIME, zipfile.ZIP_DEFLATED)}


def test_rejects_nonsense_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        sample.generate_plays(-1)
    with pytest.raises(ValueError):
        sample.write_extended_zip(tmp_path / "x.zip", 10, files=0)


def test_basic_records_are_the_last_year_of_the_extended_history() -> None:
    rows, seed = 6_000, 4
    basic = sample.generate_basic(rows, seed)
    extended = sample.generate_extended(rows, seed).with_columns(
        ended=pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="ms")
    )
    last = extended["ended"].max()
    recent = extended.filter(pl.col("ended") > last - pl.duration(days=sample.BASIC_DAYS))
    assert 0 < recent.height < extended.height
    minute = pl.col("ended").dt.strftime("%Y-%m-%d %H:%M")
    music = recent.filter(pl.col("spotify_track_uri").is_not_null()).select(
        minute.alias("endTime"),
        pl.col("master_metadata_album_artist_name").alias("artistName"),
        pl.col("master_metadata_track_name").alias("trackName"),
        pl.col("ms_played").alias("msPlayed"),
    )
    assert basic["music"].equals(music)
    assert basic["music"].columns == ["endTime", "artistName", "trackName", "msPlayed"]
    assert basic["podcast"].columns == ["endTime", "podcastName", "episodeName", "msPlayed"]
    assert basic["audiobook"].columns == ["endTime", "audiobookName", "chapterName", "authorName", "msPlayed"]
    assert basic["podcast"].height == recent["spotify_episode_uri"].is_not_null().sum() > 0
    assert basic["audiobook"].height == recent["audiobook_uri"].is_not_null().sum() > 0
    assert basic["audiobook"]["authorName"].null_count() == 0
    assert (basic["music"]["msPlayed"] < 500).any()  # short and 0 ms plays stay, as Spotify keeps them


def test_basic_json_and_account_zip_read_back_through_the_parser(tmp_path: Path, monkeypatch) -> None:
    from spotify_assets.transforms.parse import read_history, read_history_file

    music = json.loads(
        sample.write_basic_json(tmp_path / "StreamingHistory_music_0.json", 3_000, seed=6).read_text(
            encoding="utf-8"
        )
    )
    assert music == sample.generate_basic(3_000, seed=6)["music"].to_dicts()
    raw = read_history(tmp_path / "StreamingHistory_music_0.json").collect()
    assert raw["track_name"].to_list() == [record["trackName"] for record in music]

    monkeypatch.setattr(sample.basic, "BASIC_FILE_RECORDS", 400)  # music takes two files
    basic = sample.generate_basic(4_000, seed=6)
    assert 400 < basic["music"].height <= 800 and basic["podcast"].height <= 400
    read = read_history_file(sample.write_account_data_zip(tmp_path / "my_spotify_data.zip", 4_000, seed=6))
    assert read.plays.collect().height == sum(frame.height for frame in basic.values())
    names = [Path(member).name for member in read.members_read]
    assert names == [
        "StreamingHistory_audiobook_0.json",
        "StreamingHistory_music_0.json",
        "StreamingHistory_music_1.json",
        "StreamingHistory_podcast_0.json",
    ]
    assert all(member.startswith(f"{sample.ACCOUNT_DATA_FOLDER}/") for member in read.members_read)
    assert sorted(Path(member).name for member, _ in read.members_skipped) == [
        "Marquee.json",
        "Playlist1.json",
        "Read_Me_First.pdf",
        "SearchQueries.json",
        "Userdata.json",
    ]


@pytest.mark.parametrize(
    ("format_", "file_name"),
    [
        ("csv", "history.csv"),
        ("json", "history.json"),
        ("zip", "history.zip"),
        ("basic", "StreamingHistory_music_0.json"),
        ("account-zip", "my_spotify_data.zip"),
    ],
)
def test_write_sample_writes_each_format_into_a_folder(tmp_path: Path, format_: str, file_name: str) -> None:
    from spotify_assets.transforms.parse import read_history

    path = sample.write_sample(format_, tmp_path, rows=800, seed=1)
    assert path == tmp_path / file_name
    assert read_history(path).collect().height > 0
    with pytest.raises(ValueError):
        sample.write_basic_json(tmp_path / "x.json", 10, kind="video")
