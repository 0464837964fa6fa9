"""The listening report's figures on a small handwritten history (expected numbers computed by hand),
its HTML page, and the asset through `materialize()`."""

import html
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import dagster as dg
import polars as pl
import pytest

from spotify_assets.assets.report import REPORT_FILE_NAME, REPORT_INPUTS, ReportFolder, listening_report
from spotify_assets.io_managers.delta import DeltaLakeIOManager, write_table
from spotify_assets.resources.engine import PolarsEngine
from spotify_assets.tables import (
    ALBUM_ART, DIM_ALBUM, DIM_ARTIST, DIM_DATE, DIM_PLATFORM, DIM_TRACK, FACT_STREAMS,
)
from spotify_assets.transforms.model import dim_date
from spotify_assets.transforms.report import listening_figures
from spotify_assets.transforms.report_html import render_report, top_artists_markdown

ARTIST_A = 'Ωmega <b>&"Quotes"</b> | pipe'
ARTIST_B = "坂本龍一 🎹"
SHOW, BOOK = "Talk & Co", "Book <One>"
ARTISTS = {1: ARTIST_A, 2: ARTIST_B, 3: SHOW, 4: BOOK}
# album_key: (name, artist_key, content_type)
ALBUMS = {11: ("A1 <first>", 1, "track"), 12: ("A2", 1, "track"), 13: ("Merry Christmas 🎄", 2, "track"),
          14: (SHOW, 3, "episode"), 15: (BOOK, 4, "audiobook")}
# track_key: (name, artist_key, album_key, content_type)
TRACKS = {101: ('Song <1> & "quoted"', 1, 11, "track"), 102: ("Two", 1, 12, "track"),
          103: ("戦場のメリークリスマス 🎄", 2, 13, "track"), 104: ("Episode 1", 3, 14, "episode"),
          105: ("Chapter 1", 4, 15, "audiobook")}
ANDROID, WEB = 201, 202
# date_key, local hour, track_key, ms_played, shuffle, skipped, platform_key
PLAYS = [
    (20231231, 23, 101, 180_000, True, False, ANDROID),   # Sunday
    (20240101, 8, 101, 120_000, False, True, ANDROID),    # Monday
    (20240101, 8, 103, 240_000, True, False, WEB),
    (20240115, 20, 102, 60_000, False, True, WEB),        # Monday
    (20240301, 8, 103, 300_000, True, False, ANDROID),    # Friday
    (20240301, 9, 104, 1_800_000, False, False, ANDROID),  # podcast
    (20240102, 9, 104, 600_000, False, False, WEB),       # Tuesday, podcast
    (20231231, 22, 105, 915_000, False, False, ANDROID),  # audiobook: 15.25 min
]
B1_MEDIUM, A1_LARGE = "https://i.scdn.co/image/b1-medium", "https://i.scdn.co/image/a1-large"


def star_schema() -> dict[str, pl.LazyFrame]:
    """The star schema and album_art of the history above, as the lake would hold them."""
    date_key, hour, track_key, ms_played, shuffle, skipped, platform_key = map(list, zip(*PLAYS, strict=True))
    fact = pl.DataFrame({
        "play_key": range(len(PLAYS)),
        "ts_utc": [datetime(2024, 1, 1, tzinfo=UTC)] * len(PLAYS),
        "date_key": date_key, "hour": hour, "track_key": track_key,
        "artist_key": [TRACKS[key][1] for key in track_key],
        "album_key": [TRACKS[key][2] for key in track_key],
        "platform_key": platform_key, "reason_key": [0] * len(PLAYS),
        "ms_played": ms_played, "shuffle": shuffle, "skipped": skipped,
        "offline": [False] * len(PLAYS), "incognito_mode": [False] * len(PLAYS),
        "content_type": [TRACKS[key][3] for key in track_key],
        "source_file": ["history.json"] * len(PLAYS), "source_format": ["extended_json"] * len(PLAYS),
        "landing_file": ["history-0"] * len(PLAYS),
    })
    days = dim_date(pl.DataFrame({"first_ts": [datetime(2023, 12, 31, 12, tzinfo=UTC)],
                                  "last_ts": [datetime(2024, 3, 1, 12, tzinfo=UTC)]}), "UTC")
    frames = {
        "fact_streams": FACT_STREAMS.conform(fact),
        "dim_date": DIM_DATE.conform(days),
        "dim_artist": DIM_ARTIST.conform(pl.DataFrame({"artist_key": list(ARTISTS),
                                                       "artist_name": list(ARTISTS.values())})),
        "dim_album": DIM_ALBUM.conform(pl.DataFrame({
            "album_key": list(ALBUMS), "album_name": [name for name, _, _ in ALBUMS.values()],
            "artist_key": [artist for _, artist, _ in ALBUMS.values()],
            "content_type": [kind for _, _, kind in ALBUMS.values()],
            "sample_track_id": [f"id{key}" for key in ALBUMS],
            "first_landing_file": ["history-0"] * len(ALBUMS),
        })),
        "dim_track": DIM_TRACK.conform(pl.concat([DIM_TRACK.empty(), pl.DataFrame({
            "track_key": list(TRACKS), "track_id": [f"id{key}" for key in TRACKS],
            "track_uri": [f"spotify:{kind}:id{key}" for key, (_, _, _, kind) in TRACKS.items()],
            "track_name": [name for name, _, _, _ in TRACKS.values()],
            "content_type": [kind for _, _, _, kind in TRACKS.values()],
            "artist_key": [artist for _, artist, _, _ in TRACKS.values()],
            "album_key": [album for _, _, album, _ in TRACKS.values()],
            "recording_key": list(TRACKS),
        })], how="diagonal_relaxed")),
        "dim_platform": DIM_PLATFORM.conform(pl.DataFrame({
            "platform_key": [ANDROID, WEB], "platform": ["Android OS 14", "web_player"],
            "platform_family": ["android", "web"],
        })),
        "album_art": ALBUM_ART.conform(pl.DataFrame({
            "album_key": [11, 12, 13, 14], "landing_file": ["history-0"] * 4,
            "album_id": ["a1", None, "b1", None],
            "image_url_large": [A1_LARGE, None, "https://i.scdn.co/image/b1-large", None],
            "image_url_medium": [None, None, B1_MEDIUM, None],
            "image_url_small": [None, None, None, None],
            "status": ["found", "not_found", "found", "pending"],
            "fetched_at": [datetime(2024, 3, 2, tzinfo=UTC)] * 4,
        })),
    }
    return {name: frame.lazy() for name, frame in frames.items()}


@pytest.fixture(scope="module")
def figures():
    return listening_figures(*star_schema().values())


def rows(frame: pl.DataFrame, *columns: str) -> list[tuple]:
    return frame.select(columns).rows()


def test_totals_count_every_play_and_music_counts_tracks_only(figures):
    assert figures.totals == {
        "plays": 8, "hours": 1.2,  # 4,215,000 ms
        "music_plays": 5, "music_hours": 0.3,  # 900,000 ms = 0.25 h, half away from zero
        "podcast_plays": 2, "podcast_hours": 0.7,
        "audiobook_plays": 1, "audiobook_hours": 0.3,
        "tracks": 3, "artists": 2, "albums": 3,
        "first_day": date(2023, 12, 31), "last_day": date(2024, 3, 1),
        "music_skip_rate": 0.4, "shuffle_share": 0.6,
    }


def test_minutes_per_month_cover_the_whole_range_split_by_content_type(figures):
    assert rows(figures.months, "month_key", "plays", "ms_played", "minutes", "music_minutes",
                "podcast_minutes", "audiobook_minutes") == [
        (202312, 2, 1_095_000, 18.3, 3.0, 0.0, 15.3),  # 18.25 and 15.25 round half away from zero
        (202401, 4, 1_020_000, 17.0, 7.0, 10.0, 0.0),
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
        ("Tuesday", 9, 1, 600_000, 10.0),
        ("Friday", 8, 1, 300_000, 5.0),
        ("Friday", 9, 1, 1_800_000, 30.0),
        ("Sunday", 22, 1, 915_000, 15.3),
        ("Sunday", 23, 1, 180_000, 3.0),
    ]
    assert cells["plays"].sum() == 8


def test_top_artists_albums_and_tracks_are_music_ranked_by_minutes(figures):
    assert rows(figures.top_artists, "rank", "artist_name", "plays", "ms_played", "minutes") == [
        (1, ARTIST_B, 2, 540_000, 9.0),
        (2, ARTIST_A, 3, 360_000, 6.0),
    ]
    assert rows(figures.top_albums, "rank", "album_name", "artist_name", "plays", "minutes", "cover_url") == [
        (1, "Merry Christmas 🎄", ARTIST_B, 2, 9.0, B1_MEDIUM),  # medium preferred
        (2, "A1 <first>", ARTIST_A, 2, 5.0, A1_LARGE),  # large when there is no medium
        (3, "A2", ARTIST_A, 1, 1.0, None),  # not_found: no cover
    ]
    assert rows(figures.top_tracks, "rank", "track_name", "artist_name", "plays", "minutes") == [
        (1, "戦場のメリークリスマス 🎄", ARTIST_B, 2, 9.0),
        (2, 'Song <1> & "quoted"', ARTIST_A, 2, 5.0),
        (3, "Two", ARTIST_A, 1, 1.0),
    ]


def test_top_n_limits_every_ranking():
    figures = listening_figures(*star_schema().values(), top_n=1)
    assert figures.top_artists["artist_name"].to_list() == [ARTIST_B]
    assert figures.top_albums.height == figures.top_tracks.height == 1


def test_skip_rates_by_platform_family_and_hour_count_music_only(figures):
    assert rows(figures.skip_by_platform, "platform_family", "plays", "skips", "skip_rate") == [
        ("android", 3, 1, pytest.approx(1 / 3)),
        ("web", 2, 1, 0.5),
    ]
    by_hour = figures.skip_by_hour
    assert by_hour.height == 24
    assert rows(by_hour.filter(pl.col("plays") > 0), "hour", "plays", "skips", "skip_rate") == [
        (8, 3, 1, pytest.approx(1 / 3)),
        (20, 1, 1, 1.0),
        (23, 1, 0, 0.0),
    ]


def test_new_artists_are_counted_in_the_year_of_their_first_play(figures):
    assert rows(figures.new_artists_by_year, "year", "new_artists") == [(2023, 1), (2024, 1)]


def test_podcasts_and_audiobooks_have_their_own_figures(figures):
    podcasts, audiobooks = figures.podcasts, figures.audiobooks
    assert (podcasts.plays, podcasts.hours, podcasts.titles, podcasts.items) == (2, 0.7, 1, 1)
    assert rows(podcasts.top_titles, "rank", "title", "plays", "minutes") == [(1, SHOW, 2, 40.0)]
    assert (audiobooks.plays, audiobooks.hours, audiobooks.titles, audiobooks.items) == (1, 0.3, 1, 1)
    assert rows(audiobooks.top_titles, "rank", "title", "plays", "minutes") == [(1, BOOK, 1, 15.3)]


def test_an_empty_history_gives_zeros_and_renders():
    tables = {name: frame.clear() for name, frame in star_schema().items()}
    figures = listening_figures(*tables.values())
    assert figures.totals["plays"] == 0 and figures.totals["first_day"] is None
    assert figures.months.is_empty() and figures.top_artists.is_empty()
    assert figures.weekday_hour["plays"].sum() == 0
    page = render_report(figures, timezone="UTC", generated_at=datetime(2024, 3, 2, tzinfo=UTC))
    assert "No plays yet." in page and "No podcast" not in page and "No episodes in this history." in page


class TagBalance(HTMLParser):
    """Collects tags and the problems of their nesting (void elements need no end tag)."""

    VOID = {"meta", "img", "br", "link", "rect", "line", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID and (not self.open or self.open[-1] != tag):
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()


@pytest.fixture(scope="module")
def page(figures):
    return render_report(figures, timezone="Europe/Berlin", generated_at=datetime(2024, 3, 2, 10, tzinfo=UTC))


def test_page_is_well_formed_with_every_section_and_chart(page):
    parser = TagBalance()
    parser.feed(page)
    assert parser.problems == [] and parser.open == []
    ids = {attrs.get("id") for _, attrs in parser.tags}
    assert {"totals", "months", "heatmap", "top-artists", "top-albums", "top-tracks", "skips", "discovery",
            "podcasts", "audiobooks"} <= ids
    tags = [tag for tag, _ in parser.tags]
    # months, heatmap, artists, tracks, skips by platform and by hour, discovery, shows, books
    assert tags.count("svg") == 9
    assert tags.count("rect") >= 7 * 24
    assert "Europe/Berlin" in page


def test_page_is_self_contained_and_links_only_cover_urls(page):
    parser = TagBalance()
    parser.feed(page)
    assert not {"script", "link", "iframe", "object", "embed"} & {tag for tag, _ in parser.tags}
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    sources = [attrs["src"] for tag, attrs in parser.tags if tag == "img"]
    assert sources == [B1_MEDIUM, A1_LARGE]
    addresses = set(re.findall(r"https?://[^\"'\s<>]+", page))
    assert addresses == {B1_MEDIUM, A1_LARGE, "http://www.w3.org/2000/svg"}  # the namespace is not fetched


def test_every_name_is_escaped(page):
    for name in (ARTIST_A, ARTIST_B, "A1 <first>", 'Song <1> & "quoted"', SHOW, BOOK):
        assert html.escape(name, quote=True) in page, name
    assert "<b>" not in page and "<first>" not in page and "<One>" not in page
    assert '"quoted"' not in page


def test_albums_without_a_cover_get_a_drawn_placeholder_and_covers_have_alt_text(page):
    parser = TagBalance()
    parser.feed(page)
    images = [attrs for tag, attrs in parser.tags if tag == "img"]
    assert [image["alt"] for image in images] == [f"Cover of Merry Christmas 🎄 by {ARTIST_B}",
                                                  f"Cover of A1 <first> by {ARTIST_A}"]
    assert all(image["data-initial"] for image in images)
    fallbacks = [attrs for tag, attrs in parser.tags if attrs.get("class") == "cover-fallback"]
    assert [fallback["aria-label"] for fallback in fallbacks] == ["No cover for A2"]


def test_markdown_preview_lists_top_artists_with_markdown_escaped(figures):
    preview = top_artists_markdown(figures)
    lines = preview.splitlines()
    assert lines[2] == f"| 1 | {ARTIST_B} | 9.0 | 2 |"
    assert lines[3] == r'| 2 | Ωmega \<b\>&"Quotes"\</b\> \| pipe | 6.0 | 3 |'
    assert len(lines) == 4


def test_asset_writes_the_page_and_records_path_and_preview(tmp_path):
    lake, reports = str(tmp_path / "lake"), tmp_path / "reports"
    for name, frame in star_schema().items():
        spec = {spec.name: spec for spec in (FACT_STREAMS, DIM_DATE, DIM_ARTIST, DIM_ALBUM, DIM_TRACK,
                                             DIM_PLATFORM, ALBUM_ART)}[name]
        write_table(lake, spec, frame, "history-0" if spec.partitioned else None)
    result = dg.materialize(
        [listening_report, *(dg.AssetSpec(name) for name in REPORT_INPUTS)],
        resources={"lake_io_manager": DeltaLakeIOManager(lake_uri=lake),
                   "report_folder": ReportFolder(path=str(reports)),
                   "engine": PolarsEngine(timezone="Europe/Berlin")},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("listening_report")[0].metadata
    path = reports / REPORT_FILE_NAME
    assert metadata["path"].value == str(path.resolve())
    assert metadata["plays"].value == 8
    assert metadata["top_artists"].value.splitlines()[2] == f"| 1 | {ARTIST_B} | 9.0 | 2 |"
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and html.escape(ARTIST_A) in page
    assert metadata["size_bytes"].value == path.stat().st_size
    assert [file.name for file in reports.iterdir()] == [REPORT_FILE_NAME]  # no temporary file left


def test_the_asset_shows_the_ui_what_it_is():
    spec = next(iter(listening_report.specs))
    assert spec.description.startswith("One HTML file")
    assert spec.group_name == "report" and spec.kinds == {"html"} and spec.owners
    assert {dep.asset_key.to_user_string() for dep in spec.deps} == set(REPORT_INPUTS)
