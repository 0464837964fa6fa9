"""The listening report's figures on a small handwritten history (report_history.py); every expected
number is computed by hand from its rows."""

from datetime import date

import polars as pl
import pytest

from spotify_assets.transforms.listens import parse_listen_rule
from spotify_assets.transforms.report import RecordingCounts, listening_figures

from .report_history import (
    A1_LARGE,
    ARTIST_A,
    ARTIST_B,
    B1_MEDIUM,
    BOOK,
    MERRY,
    SHOW,
    SINGLE,
    SONG,
    SONG_ISRC,
    SONG_RECORDING,
    TWO,
    TWO_ISRC,
    TWO_RECORDING,
    star_schema,
)


@pytest.fixture(scope="module")
def figures():
    return listening_figures(*star_schema().values())


def rows(frame: pl.DataFrame, *columns: str) -> list[tuple]:
    return frame.select(columns).rows()


def test_totals_count_every_play_and_music_counts_tracks_only(figures):
    assert figures.totals == {
        "plays": 11,
        "listens": 9,  # the plays of 20,000 and 25,000 ms are under 30 s
        "hours": 1.2,  # 4,360,000 ms
        "music_plays": 8,
        "music_listens": 6,
        "music_hours": 0.3,  # 1,045,000 ms
        "podcast_plays": 2,
        "podcast_hours": 0.7,
        "audiobook_plays": 1,
        "audiobook_hours": 0.3,  # 915,000 ms = 0.254 h
        "tracks": 4,
        "artists": 2,
        "albums": 4,
        "first_day": date(2023, 12, 31),
        "last_day": date(2024, 3, 1),
        "music_skip_rate": 0.5,  # 4 of 8
        "shuffle_share": 0.375,  # 3 of 8
    }


def test_minutes_per_month_cover_the_whole_range_split_by_content_type(figures):
    columns = (
        "month_key",
        "plays",
        "ms_played",
        "minutes",
        "music_minutes",
        "podcast_minutes",
        "audiobook_minutes",
    )
    assert rows(figures.months, *columns) == [
        (202312, 2, 1_095_000, 18.3, 3.0, 0.0, 15.3),  # 18.25 and 15.25 round half away from zero
        (202401, 7, 1_165_000, 19.4, 9.4, 10.0, 0.0),
        (202402, 0, 0, 0.0, 0.0, 0.0, 0.0),
        (202403, 2, 2_100_000, 35.0, 5.0, 30.0, 0.0),
    ]


def test_weekday_hour_heatmap_has_every_cell_in_local_time(figures):
    cells = figures.weekday_hour
    assert cells.height == 7 * 24
    played = cells.filter(pl.col("plays") > 0)
    assert rows(played, "weekday_name", "hour", "plays", "ms_played", "minutes") == [
        ("Monday", 8, 2, 360_000, 6.0),
        ("Monday", 20, 1, 60_000, 1.0),
        ("Monday", 21, 2, 125_000, 2.1),
        ("Tuesday", 9, 1, 600_000, 10.0),
        ("Tuesday", 21, 1, 20_000, 0.3),
        ("Friday", 8, 1, 300_000, 5.0),
        ("Friday", 9, 1, 1_800_000, 30.0),
        ("Sunday", 22, 1, 915_000, 15.3),
        ("Sunday", 23, 1, 180_000, 3.0),
    ]
    assert cells["plays"].sum() == 11


def test_top_artists_albums_and_tracks_are_music_ranked_by_listens(figures):
    # by minutes the order would be B (9.0) before A (8.4); by listens A has 4, B 2
    assert rows(figures.top_artists, "rank", "artist_name", "plays", "listens", "ms_played", "minutes") == [
        (1, ARTIST_A, 6, 4, 505_000, 8.4),
        (2, ARTIST_B, 2, 2, 540_000, 9.0),
    ]
    assert rows(
        figures.top_albums, "rank", "album_name", "artist_name", "plays", "listens", "minutes", "cover_url"
    ) == [
        (1, "Merry Christmas 🎄", ARTIST_B, 2, 2, 9.0, B1_MEDIUM),  # medium preferred
        (2, "A1 <first>", ARTIST_A, 2, 2, 5.0, A1_LARGE),  # large when there is no medium
        (3, SINGLE, ARTIST_A, 2, 1, 2.0, None),  # no album_art row
        (4, "A2", ARTIST_A, 2, 1, 1.4, None),  # not_found: no cover
    ]
    assert rows(figures.top_tracks, "rank", "track_name", "artist_name", "plays", "listens", "minutes") == [
        (1, MERRY, ARTIST_B, 2, 2, 9.0),  # ties on listens go to the longer listening
        (2, SONG, ARTIST_A, 2, 2, 5.0),
        (3, "Song <1> (single edit)", ARTIST_A, 2, 1, 2.0),
        (4, TWO, ARTIST_A, 2, 1, 1.4),  # 85,000 ms
    ]


def test_top_recordings_merge_the_track_ids_of_one_isrc(figures):
    columns = (
        "rank",
        "recording_key",
        "recording_name",
        "artist_name",
        "isrc",
        "track_ids",
        "plays",
        "listens",
        "ms_played",
        "minutes",
    )
    assert rows(figures.top_recordings, *columns) == [
        (1, SONG_RECORDING, SONG, ARTIST_A, SONG_ISRC, 2, 4, 3, 420_000, 7.0),  # album track and single
        (2, 103, MERRY, ARTIST_B, None, 1, 2, 2, 540_000, 9.0),  # not looked up: its own recording
        (3, TWO_RECORDING, TWO, ARTIST_A, TWO_ISRC, 1, 2, 1, 85_000, 1.4),
    ]
    assert rows(figures.merged_recordings, *columns) == [
        (1, SONG_RECORDING, SONG, ARTIST_A, SONG_ISRC, 2, 4, 3, 420_000, 7.0),
    ]
    assert figures.recordings == RecordingCounts(
        tracks=4, recordings=3, merged_recordings=1, merged_tracks=2, enriched_tracks=3
    )


def test_listening_by_release_decade_with_the_tracks_not_looked_up_as_unknown(figures):
    music_ms = 1_045_000
    assert rows(figures.decades, "decade", "label", "plays", "listens", "ms_played", "minutes", "share") == [
        (1980, "1980s", 2, 2, 300_000, 5.0, pytest.approx(300_000 / music_ms)),  # 1983-05
        (1990, "1990s", 2, 1, 120_000, 2.0, pytest.approx(120_000 / music_ms)),  # the 1999 single
        (2000, "2000s", 0, 0, 0, 0.0, 0.0),  # decades between are shown, empty
        (2010, "2010s", 0, 0, 0, 0.0, 0.0),
        (2020, "2020s", 2, 1, 85_000, 1.4, pytest.approx(85_000 / music_ms)),
        (None, "unknown", 2, 2, 540_000, 9.0, pytest.approx(540_000 / music_ms)),
    ]
    assert figures.decades["share"].sum() == pytest.approx(1.0)


def test_half_or_4min_counts_a_listen_by_the_track_length():
    figures = listening_figures(*star_schema().values(), rule=parse_listen_rule("half_or_4min"))
    # 101 (200 s): 180 and 120 s count; 106 (250 s): 20 and 100 s do not (half is 125 s);
    # 102 (45 s): 60 and 25 s count (half is 22.5 s); 103, 104, 105 have no length: 30 s
    assert rows(figures.top_tracks, "track_name", "listens") == [
        (MERRY, 2),
        (SONG, 2),
        (TWO, 2),
        ("Song <1> (single edit)", 0),
    ]
    assert rows(figures.top_recordings, "recording_name", "listens", "ms_played") == [
        (MERRY, 2, 540_000),
        (SONG, 2, 420_000),
        (TWO, 2, 85_000),
    ]
    assert (figures.totals["listens"], figures.totals["music_listens"]) == (9, 6)
    assert figures.listen_rule.name == "half_or_4min"


def test_a_longer_threshold_counts_fewer_listens():
    figures = listening_figures(*star_schema().values(), rule=parse_listen_rule("150s"))
    # 180 s (101), 240 and 300 s (103), 1,800 and 600 s (104), 915 s (105)
    assert (figures.totals["listens"], figures.totals["music_listens"]) == (6, 3)
    assert rows(figures.top_artists, "artist_name", "listens") == [(ARTIST_B, 2), (ARTIST_A, 1)]


def test_without_any_lookup_every_track_is_its_own_recording_and_every_decade_unknown():
    figures = listening_figures(*star_schema(enriched=False).values())
    assert rows(figures.top_recordings, "recording_name", "isrc", "track_ids", "plays", "listens") == [
        (MERRY, None, 1, 2, 2),
        (SONG, None, 1, 2, 2),
        ("Song <1> (single edit)", None, 1, 2, 1),
        (TWO, None, 1, 2, 1),
    ]
    assert figures.merged_recordings.is_empty()
    assert figures.recordings == RecordingCounts(
        tracks=4, recordings=4, merged_recordings=0, merged_tracks=0, enriched_tracks=0
    )
    assert rows(figures.decades, "label", "plays", "ms_played", "share") == [("unknown", 8, 1_045_000, 1.0)]
    # half_or_4min without lengths is the 30 s rule
    by_length = listening_figures(
        *star_schema(enriched=False).values(), rule=parse_listen_rule("half_or_4min")
    )
    assert by_length.totals["listens"] == figures.totals["listens"] == 9


def test_a_recording_missing_from_dim_recording_is_named_after_its_track():
    tables = star_schema()
    tables["dim_recording"] = tables["dim_recording"].filter(pl.col("recording_key") != TWO_RECORDING)
    figures = listening_figures(*tables.values())
    assert rows(
        figures.top_recordings.filter(pl.col("recording_key") == TWO_RECORDING),
        "recording_name",
        "artist_name",
        "plays",
    ) == [(TWO, ARTIST_A, 2)]


def test_top_n_limits_every_ranking():
    figures = listening_figures(*star_schema().values(), top_n=1)
    assert figures.top_artists["artist_name"].to_list() == [ARTIST_A]
    assert figures.top_albums.height == figures.top_tracks.height == figures.top_recordings.height == 1
    assert figures.decades.height == 6  # not a ranking


def test_skip_rates_by_platform_family_and_hour_count_music_only(figures):
    assert rows(figures.skip_by_platform, "platform_family", "plays", "skips", "skip_rate") == [
        ("android", 5, 2, 0.4),
        ("web", 3, 2, pytest.approx(2 / 3)),
    ]
    by_hour = figures.skip_by_hour
    assert by_hour.height == 24
    assert rows(by_hour.filter(pl.col("plays") > 0), "hour", "plays", "skips", "skip_rate") == [
        (8, 3, 1, pytest.approx(1 / 3)),
        (20, 1, 1, 1.0),
        (21, 3, 2, pytest.approx(2 / 3)),
        (23, 1, 0, 0.0),
    ]


def test_new_artists_are_counted_in_the_year_of_their_first_play(figures):
    assert rows(figures.new_artists_by_year, "year", "new_artists") == [(2023, 1), (2024, 1)]


def test_podcasts_and_audiobooks_have_their_own_figures_ranked_by_minutes(figures):
    podcasts, audiobooks = figures.podcasts, figures.audiobooks
    assert (podcasts.plays, podcasts.hours, podcasts.titles, podcasts.items) == (2, 0.7, 1, 1)
    assert rows(podcasts.top_titles, "rank", "title", "plays", "listens", "minutes") == [
        (1, SHOW, 2, 2, 40.0)
    ]
    assert (audiobooks.plays, audiobooks.hours, audiobooks.titles, audiobooks.items) == (1, 0.3, 1, 1)
    assert rows(audiobooks.top_titles, "rank", "title", "plays", "minutes") == [(1, BOOK, 1, 15.3)]


def test_an_empty_history_gives_zeros_and_empty_frames():
    tables = {name: frame.clear() for name, frame in star_schema().items()}
    figures = listening_figures(*tables.values(), rule=parse_listen_rule("half_or_4min"))
    assert figures.totals["plays"] == figures.totals["listens"] == 0 and figures.totals["first_day"] is None
    assert figures.months.is_empty() and figures.top_artists.is_empty() and figures.top_recordings.is_empty()
    assert figures.merged_recordings.is_empty()
    assert figures.decades.is_empty()
    assert figures.recordings == RecordingCounts(0, 0, 0, 0, 0)
    assert figures.weekday_hour["plays"].sum() == 0
