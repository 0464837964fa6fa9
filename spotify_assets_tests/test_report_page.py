"""The listening report's HTML page on the handwritten history (report_history.py), and the asset
through `materialize()`."""

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import ClassVar

import dagster as dg
import pytest

from spotify_assets.assets.report import REPORT_FILE_NAME, REPORT_INPUTS, listening_report
from spotify_assets.io_managers.delta import DeltaLakeIOManager, write_table
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.report import ReportFolder
from spotify_assets.tables import TABLES
from spotify_assets.transforms.listens import parse_listen_rule
from spotify_assets.transforms.report import listening_figures
from spotify_assets.transforms.report_charts import UNKNOWN_COLOR
from spotify_assets.transforms.report_html import render_report, rule_text, top_artists_markdown
from spotify_assets.transforms.report_partials import PARTIALS_FOLDER

from .report_history import (
    A1_LARGE,
    ARTIST_A,
    ARTIST_B,
    B1_MEDIUM,
    BOOK,
    SECTIONS,
    SHOW,
    SINGLE,
    SONG,
    star_schema,
)

GENERATED = datetime(2024, 3, 2, 10, tzinfo=UTC)


class TagBalance(HTMLParser):
    """Collects tags and the problems of their nesting (void elements need no end tag)."""

    VOID: ClassVar = {"meta", "img", "br", "link", "rect", "line", "input", "hr"}

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


def parsed(page: str) -> TagBalance:
    parser = TagBalance()
    parser.feed(page)
    return parser


def section(page: str, section_id: str) -> str:
    """The HTML of one section of the page."""
    return re.search(f'<section id="{section_id}">(.*?)</section>', page, re.DOTALL).group(1)


def bar_labels(fragment: str) -> list[str]:
    """The full names in the tooltips of a fragment's horizontal bars, unescaped."""
    return [html.unescape(name) for name in re.findall(r"<g><title>(.*?): ", fragment)]


@pytest.fixture(scope="module")
def page():
    figures = listening_figures(*star_schema().values())
    return render_report(figures, timezone="Europe/Berlin", generated_at=GENERATED)


def test_page_is_well_formed_with_every_section_and_chart(page):
    parser = parsed(page)
    assert parser.problems == [] and parser.open == []
    assert {attrs.get("id") for _, attrs in parser.tags} >= set(SECTIONS)
    tags = [tag for tag, _ in parser.tags]
    # months, heatmap, artists, tracks, recordings and those merged, decades, skips by platform and by
    # hour, discovery, shows, books
    assert tags.count("svg") == 12
    assert tags.count("rect") >= 7 * 24
    assert "Europe/Berlin" in page


def test_page_is_self_contained_and_links_only_cover_urls(page):
    parser = parsed(page)
    assert not {"script", "link", "iframe", "object", "embed"} & {tag for tag, _ in parser.tags}
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    sources = [attrs["src"] for tag, attrs in parser.tags if tag == "img"]
    assert sources == [B1_MEDIUM, A1_LARGE]
    addresses = set(re.findall(r"https?://[^\"'\s<>]+", page))
    assert addresses == {B1_MEDIUM, A1_LARGE, "http://www.w3.org/2000/svg"}  # the namespace is not fetched


def test_every_name_is_escaped(page):
    for name in (ARTIST_A, ARTIST_B, "A1 <first>", SONG, SHOW, BOOK, SINGLE, "Song <1> (single edit)"):
        assert html.escape(name, quote=True) in page, name
    assert "<b>" not in page and "<first>" not in page and "<One>" not in page and "<1>" not in page
    assert '"quoted"' not in page


def test_totals_show_listens_beside_plays_and_say_what_a_listen_is(page):
    totals = section(page, "totals")
    assert "<dt>plays</dt><dd>11</dd>" in totals and "<dt>listens</dt><dd>9</dd>" in totals
    assert "<dt>recordings</dt><dd>3</dd>" in totals
    assert "Listens: plays of at least 30 s (SPOTIFY_LISTEN_RULE=30s)." in totals
    assert "music 8 plays (6 listens)" in totals
    for ranked in ("top-artists", "top-albums", "top-tracks", "top-recordings"):
        assert "Ranked by listens (plays of at least 30 s), then minutes." in section(page, ranked)


def test_the_rule_is_described_in_its_own_words():
    assert rule_text(parse_listen_rule("45s")) == "plays of at least 45 s (SPOTIFY_LISTEN_RULE=45s)"
    assert rule_text(parse_listen_rule("half_or_4min")) == (
        "plays of at least half the track or 4 minutes of tracks longer than 30 s, and of at least 30 s "
        "while a track's length is not known yet (SPOTIFY_LISTEN_RULE=half_or_4min)"
    )


def test_top_lists_are_bars_of_listens_with_minutes_and_plays(page):
    artists = section(page, "top-artists")
    assert bar_labels(artists) == [f"1. {ARTIST_A}", f"2. {ARTIST_B}"]
    assert "4 listens · 8.4 min · 6 plays" in artists
    albums = section(page, "top-albums")
    assert "2 listens · 9.0 min · 2 plays" in albums and "1 listen · 1.4 min · 2 plays" in albums


def test_top_recordings_name_the_releases_merged_and_count_them(page):
    recordings = section(page, "top-recordings")
    top, merged = recordings.split("<h3>Released under several track ids</h3>")
    assert bar_labels(top) == [
        f"1. {SONG} \u2014 {ARTIST_A}",
        f"2. 戦場のメリークリスマス 🎄 \u2014 {ARTIST_B}",
        f"3. Two \u2014 {ARTIST_A}",
    ]
    assert bar_labels(merged) == [f"1. {SONG} \u2014 {ARTIST_A}"]
    assert top.count("3 listens · 7.0 min · 4 plays · 2 releases") == 2  # tooltip and label
    assert "2 listens · 9.0 min · 2 plays</text>" in top  # its own recording: no releases said
    assert "3 listens · 7.0 min · 4 plays" in recordings
    assert (
        "4 tracks, 3 recordings: 1 recording released under several track ids (album, single, compilation), "
        "merged by ISRC. 3 of 4 tracks looked up on Spotify so far"
    ) in recordings


def test_release_decades_are_bars_in_order_with_unknown_last_in_grey(page):
    decades = section(page, "decades")
    assert bar_labels(decades) == ["1980s", "1990s", "2000s", "2010s", "2020s", "unknown"]
    assert "28.7% · 5.0 min · 2 listens" in decades  # 300,000 of 1,045,000 ms
    assert "51.7% · 9.0 min · 2 listens" in decades
    fills = re.findall(r'rx="3" fill="(#[0-9a-f]{6})"', decades)
    assert fills[-1] == UNKNOWN_COLOR and UNKNOWN_COLOR not in fills[:-1]


def test_a_history_without_any_lookup_says_so():
    figures = listening_figures(*star_schema(enriched=False).values())
    page = render_report(figures, timezone="UTC", generated_at=GENERATED)
    assert bar_labels(section(page, "decades")) == ["unknown"]
    recordings = section(page, "top-recordings")
    assert "4 tracks, 4 recordings: 0 recordings released under several track ids" in recordings
    assert "No track has been looked up on Spotify yet" in recordings
    assert "releases" not in recordings and "<h3>" not in recordings
    assert "No recording released under several track ids yet." in recordings


def test_albums_without_a_cover_get_a_drawn_placeholder_and_covers_have_alt_text(page):
    parser = parsed(page)
    images = [attrs for tag, attrs in parser.tags if tag == "img"]
    assert [image["alt"] for image in images] == [
        f"Cover of Merry Christmas 🎄 by {ARTIST_B}",
        f"Cover of A1 <first> by {ARTIST_A}",
    ]
    assert all(image["data-initial"] for image in images)
    fallbacks = [attrs for tag, attrs in parser.tags if attrs.get("class") == "cover-fallback"]
    assert [fallback["aria-label"] for fallback in fallbacks] == [f"No cover for {SINGLE}", "No cover for A2"]


def test_an_empty_history_renders_every_section():
    tables = {name: frame.clear() for name, frame in star_schema().items()}
    page = render_report(listening_figures(*tables.values()), timezone="UTC", generated_at=GENERATED)
    parser = parsed(page)
    assert parser.problems == [] and {attrs.get("id") for _, attrs in parser.tags} >= set(SECTIONS)
    assert "No plays yet." in page and "No episodes in this history." in page
    assert "No music yet." in section(page, "top-recordings") and "Nothing to show." in section(
        page, "decades"
    )


def test_markdown_preview_lists_top_artists_with_markdown_escaped():
    preview = top_artists_markdown(listening_figures(*star_schema().values()))
    lines = preview.splitlines()
    assert lines[0] == "| # | artist | listens | minutes | plays |"
    assert lines[2] == r'| 1 | Ωmega \<b\>&"Quotes"\</b\> \| pipe | 4 | 8.4 | 6 |'
    assert lines[3] == f"| 2 | {ARTIST_B} | 2 | 9.0 | 2 |"
    assert len(lines) == 4


def test_asset_writes_the_page_with_the_folders_rule_and_records_path_and_preview(tmp_path):
    lake, reports = str(tmp_path / "lake"), tmp_path / "reports"
    for name, frame in star_schema().items():
        spec = TABLES[name]
        write_table(lake, spec, frame, "history-0" if spec.partitioned else None)
    folder = ReportFolder(path=str(reports), timezone="Europe/Berlin", listen_rule="half_or_4min")
    result = dg.materialize(
        [listening_report, *(dg.AssetSpec(name) for name in REPORT_INPUTS)],
        resources={
            "lake_io_manager": DeltaLakeIOManager(lake_uri=lake),
            "lake": LakeResource(lake_uri=lake),
            "report_folder": folder,
        },
    )
    assert result.success
    metadata = result.asset_materializations_for_node("listening_report")[0].metadata
    path = reports / REPORT_FILE_NAME
    assert metadata["path"].value == str(path.resolve())
    assert (metadata["plays"].value, metadata["listens"].value, metadata["listen_rule"].value) == (
        11,
        9,
        "half_or_4min",
    )
    assert (metadata["recordings"].value, metadata["merged_recordings"].value) == (3, 1)
    assert metadata["top_artists"].value.splitlines()[2].startswith(r"| 1 | Ωmega \<b\>")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and html.escape(ARTIST_A) in page
    assert "SPOTIFY_LISTEN_RULE=half_or_4min" in page and "Europe/Berlin" in page
    # under half_or_4min the single's plays (20 and 100 s of 250 s) are no listens
    assert bar_labels(section(page, "top-tracks"))[-1] == f"4. Song <1> (single edit) \u2014 {ARTIST_A}"
    assert metadata["size_bytes"].value == path.stat().st_size
    # no temporary file left; the one landing file's aggregations are cached beside the page
    assert sorted(file.name for file in reports.iterdir()) == [PARTIALS_FOLDER, REPORT_FILE_NAME]
    assert [file.suffix for file in (reports / PARTIALS_FOLDER).iterdir()] == [".partial"]
    assert (metadata["landing_files_aggregated"].value, metadata["plays_read"].value) == (1, 11)


def test_the_asset_shows_the_ui_what_it_is():
    spec = next(iter(listening_report.specs))
    assert spec.description.startswith("One HTML file")
    assert spec.group_name == "report" and spec.kinds == {"html"} and spec.owners
    assert {dep.asset_key.to_user_string() for dep in spec.deps} == set(REPORT_INPUTS)
