"""The listening report of a real graph run, opened from disk in headless Chromium with the network off.

The run looks its tracks up on a fake Spotify (real HTTP on loopback) that answers for the sample
catalogue: release dates, lengths and ISRCs, the same ISRC for the catalogue's tracks released twice
(same title and artist on two albums), so the report shows merged recordings and release decades.
Needs the Debian packages `chromium` and `chromium-driver`. Saves a screenshot, report.png, into a
temporary folder (`make screenshots`: docs/, the README's picture of the report).
"""

import sqlite3
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from spotify_assets import sample
from spotify_assets.assets.report import REPORT_FILE_NAME, REPORT_INPUTS, listening_report
from spotify_assets.io_managers.delta import DeltaLakeIOManager, scan_table, write_table
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.report import ReportFolder
from spotify_assets.tables import ALBUM_ART, DIM_ALBUM, PARTITION_COLUMN, TABLES
from spotify_assets.transforms.listens import parse_listen_rule
from spotify_assets.transforms.report import listening_figures

from .fake_spotify import FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FakeSpotify, spotify_id
from .graph import Platform
from .report_history import SECTIONS
from .requirements import need_command

pytestmark = pytest.mark.e2e

TIMEZONE = "Europe/Berlin"
LOCAL_COVERS, REMOTE_COVERS = 3, 5  # of the top albums: covers on disk (they load), on the web (they fail)
COVER_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300" viewBox="0 0 300 300">
<rect width="300" height="300" fill="{color}"/><circle cx="150" cy="150" r="90" fill="#181818"/>
<circle cx="150" cy="150" r="18" fill="{color}"/></svg>"""


def give_top_albums_covers(lake_uri: str, covers: Path) -> tuple[list[str], list[str]]:
    """Marks the report's top music albums `found`: the first with cover files on disk, the next with
    web URLs; returns both URL lists. Every other album has no cover (the fake Spotify's URLs would
    only fail offline). Each album is rewritten in the album_art partition holding it."""
    tables = (scan_table(lake_uri, TABLES[name]) for name in REPORT_INPUTS)
    top = listening_figures(*tables, top_n=LOCAL_COVERS + REMOTE_COVERS).top_albums["album_key"].to_list()
    covers.mkdir(parents=True, exist_ok=True)
    local = []
    for index, color in enumerate(("#e8115b", "#509bf5", "#f59b23")[:LOCAL_COVERS]):
        path = covers / f"cover-{index}.svg"
        path.write_text(COVER_SVG.format(color=color), encoding="utf-8")
        local.append(path.as_uri())
    remote = [f"https://i.scdn.co/image/ab67616d00001e02{key & 0xFFFFFFFF:08x}" for key in top[LOCAL_COVERS:]]
    found = pl.DataFrame({"album_key": top, "cover": local + remote})
    albums = scan_table(lake_uri, DIM_ALBUM).select("album_key", "sample_track_id", "first_landing_file")
    art = (
        albums.join(scan_table(lake_uri, ALBUM_ART), on="album_key", how="left")
        .with_columns(pl.coalesce(PARTITION_COLUMN, "first_landing_file").alias(PARTITION_COLUMN))
        .join(found.lazy(), on="album_key", how="left")
        .filter(pl.col("cover").is_not_null() | pl.col("status").is_not_null())
        .with_columns(
            pl.when(pl.col("cover").is_not_null())
            .then(pl.lit("found"))
            .otherwise(pl.lit("not_found"))
            .alias("status"),
            *(
                pl.col("cover").alias(column)
                for column in ("image_url_large", "image_url_medium", "image_url_small")
            ),
        )
        .collect()
    )
    for (partition,), rows in art.group_by(PARTITION_COLUMN):
        write_table(lake_uri, ALBUM_ART, rows, partition)
    return local, remote


def fake_spotify_for_the_sample() -> FakeSpotify:
    """A fake Spotify that knows every sample track; tracks of one title and artist on two albums
    share an ISRC (one recording), the others get the fake's own (none for about one in eight)."""
    tracks = sample.load_catalog("tracks")
    catalog = dict(
        zip(tracks["track_id"], (spotify_id(album) for album in tracks["album_name"]), strict=True)
    )
    twice = tracks.filter(pl.len().over("track_name", "artist_name") > 1).with_columns(
        pl.format("QZTWICE{}", pl.concat_str("artist_name", "track_name").rank("dense")).alias("isrc")
    )
    return FakeSpotify(catalog=catalog, isrcs=dict(zip(twice["track_id"], twice["isrc"], strict=True)))


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    """One graph run over a generated CSV and ZIP export: its tracks looked up on a fake Spotify, and
    the answers folded into the model (recordings, release dates) and published, in that one run."""
    platform = Platform.on(tmp_path_factory.mktemp("report"), timezone=TIMEZONE)
    sample.write_maven_csv(platform.landing.root / "Spotify_Streaming_History.csv", rows=20_000, seed=7)
    sample.write_extended_zip(platform.landing.root / "my_spotify_data.zip", rows=3_000, seed=7)
    with fake_spotify_for_the_sample() as fake, pytest.MonkeyPatch.context() as environment:
        for name, value in (
            ("SPOTIFY_CLIENT_ID", FAKE_CLIENT_ID),
            ("SPOTIFY_CLIENT_SECRET", FAKE_CLIENT_SECRET),
            ("SPOTIFY_API_URL", fake.api_url),
            ("SPOTIFY_TOKEN_URL", fake.token_url),
        ):
            environment.setenv(name, value)
        assert platform.run().success
    return platform


@pytest.fixture(scope="module")
def report(platform, tmp_path_factory) -> tuple[Path, list[str], list[str]]:
    """The report of that platform, with some covers found."""
    local, remote = give_top_albums_covers(platform.settings.lake_uri, tmp_path_factory.mktemp("covers"))
    result = dg.materialize(
        [listening_report, *(dg.AssetSpec(name) for name in REPORT_INPUTS)],
        resources={
            "lake_io_manager": DeltaLakeIOManager(lake_uri=platform.settings.lake_uri),
            "lake": LakeResource(lake_uri=platform.settings.lake_uri),
            "report_folder": ReportFolder(path=platform.settings.report_dir, timezone=TIMEZONE),
        },
        instance=platform.instance,
    )
    assert result.success
    return Path(platform.settings.report_dir) / REPORT_FILE_NAME, local, remote


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium that cannot reach the network: offline emulation, and a proxy nobody runs."""
    chromium = need_command("chromium", "Debian's chromium package; .ci/run installs it")
    chromedriver = need_command("chromedriver", "Debian's chromium-driver package; .ci/run installs it")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--proxy-server=http://127.0.0.1:9",
        "--window-size=1200,900",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=chromedriver))
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def loaded(report, browser):
    """The report opened from disk, every image settled (loaded or failed), and the browser log."""
    from selenium.webdriver.support.wait import WebDriverWait

    path, local, remote = report
    browser.get(path.as_uri())
    WebDriverWait(browser, 30).until(
        lambda driver: driver.execute_script(
            "return document.readyState === 'complete' && [...document.images].every(image => image.complete)"
        )
    )
    return browser, browser.get_log("browser"), local, remote


def test_every_section_is_shown(loaded):
    browser, _, _, _ = loaded
    assert browser.title.startswith("Listening report, ")
    heights = browser.execute_script(
        "return arguments[0].map(id => { const e = document.getElementById(id); "
        "return e ? e.getBoundingClientRect().height : 0; })",
        list(SECTIONS),
    )
    assert all(height > 40 for height in heights), dict(zip(SECTIONS, heights, strict=True))


def test_charts_are_drawn(loaded):
    browser, _, _, _ = loaded
    charts = browser.execute_script(
        "return [...document.querySelectorAll('svg.chart')].map(svg => ({section: svg.closest('section').id, "
        "width: svg.getBoundingClientRect().width, marks: svg.querySelectorAll('rect').length}))"
    )
    assert {chart["section"] for chart in charts} == set(SECTIONS) - {"totals", "top-albums"}
    assert all(chart["width"] > 300 and chart["marks"] > 0 for chart in charts), charts
    heatmap = next(chart for chart in charts if chart["section"] == "heatmap")
    assert heatmap["marks"] == 7 * 24
    months = next(chart for chart in charts if chart["section"] == "months")
    assert months["marks"] >= 12 * 7  # eight years of months, music at least
    decades = next(chart for chart in charts if chart["section"] == "decades")
    assert decades["marks"] >= 5  # the fake releases albums from 1960 to 2025


def test_recordings_merge_the_releases_and_decades_come_from_the_lookups(loaded, platform):
    browser, _, _, _ = loaded
    recordings = platform.table("dim_recording").filter(pl.col("content_type") == "track")
    merged = recordings.filter(pl.col("track_ids") > 1).height
    assert merged > 0, "the sample plays some of the catalogue's tracks released twice"
    releases = platform.table("dim_track").filter(pl.col("isrc").str.starts_with("QZTWICE"))
    titles = releases.group_by("recording_key").agg(pl.col("track_name").n_unique(), pl.len())
    assert titles.height == merged and (titles["track_name"] == 1).all() and (titles["len"] == 2).all()
    labels = browser.execute_script(
        "return [...document.querySelectorAll('#top-recordings svg')[1].querySelectorAll('g title')]"
        ".map(title => title.textContent)"
    )
    assert len(labels) == min(merged, 20) and all(label.endswith(" \u00b7 2 releases") for label in labels)
    note = browser.execute_script("return document.querySelector('#top-recordings .note').innerText")
    assert (
        f"{recordings['track_ids'].sum():,} tracks, {recordings.height:,} recordings: {merged:,} recording"
        in note
    )
    decades = browser.execute_script(
        "return [...document.querySelectorAll('#decades svg g title')].map(title => title.textContent)"
    )
    released = platform.table("dim_track").filter(pl.col("content_type") == "track")["release_date"]
    assert released.null_count() < released.len(), "the fake answered with release dates"
    first, last = (released.dt.year().min() // 10 * 10, released.dt.year().max() // 10 * 10)
    labels = [title.split(":")[0] for title in decades]
    expected = [f"{decade}s" for decade in range(first, last + 10, 10)]
    assert labels == expected + (["unknown"] if released.null_count() else [])
    cards = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#totals .card')].map(card => "
        "[card.querySelector('dt').textContent, card.querySelector('dd').textContent]))"
    )
    assert int(cards["listens"].replace(",", "")) < int(cards["plays"].replace(",", ""))
    assert cards["recordings"] == f"{recordings.height:,}"


def test_an_enriched_report_equals_the_warehouse_views(platform):
    """Recordings merged from several track ids and tracks with known lengths: every recording of the
    report equals its v_top_recordings row under the half-or-4-minutes rule (the warehouse was
    published under the default rule, so its listens are recounted in SQL by the same rule)."""
    rule = parse_listen_rule("half_or_4min")
    tables = (platform.table(name).lazy() for name in REPORT_INPUTS)
    figures = listening_figures(*tables, rule=rule, top_n=1_000_000)  # every recording
    is_listen = rule.sql("f.ms_played", "t.duration_ms")
    with sqlite3.connect(platform.settings.warehouse_url.removeprefix("sqlite:///")) as connection:
        recordings = connection.execute(
            "SELECT v.recording_key, v.track_ids, v.plays, v.minutes_played, "
            f"(SELECT SUM(CASE WHEN {is_listen} THEN 1 ELSE 0 END) FROM fact_streams f "
            " JOIN dim_track t ON t.track_key = f.track_key WHERE t.recording_key = v.recording_key) "
            "FROM v_top_recordings v JOIN dim_recording r ON r.recording_key = v.recording_key "
            "WHERE r.content_type = 'track'"
        ).fetchall()
    by_key = {key: (key, ids, plays, listens, minutes) for key, ids, plays, minutes, listens in recordings}
    columns = ("recording_key", "track_ids", "plays", "listens", "minutes")
    top = figures.top_recordings.select(columns).rows()
    assert [by_key[row[0]] for row in top] == top
    assert [row[3] for row in top] == sorted((row[3] for row in by_key.values()), reverse=True)[: len(top)]
    assert len(top) == len(by_key) and any(ids > 1 for _, ids, _, _, _ in top), "merged recordings too"
    durations = platform.table("dim_track")["duration_ms"]
    assert durations.null_count() < durations.len(), "lengths are known, so the rule reads them"


def test_covers_load_from_disk_and_fall_back_to_a_placeholder_offline(loaded):
    browser, _, local, remote = loaded
    images = browser.execute_script(
        "return [...document.images].map(image => ({src: image.currentSrc || image.src, alt: image.alt, "
        "width: image.naturalWidth, shown: image.getBoundingClientRect().width, "
        "fallback: getComputedStyle(image, '::after').content}))"
    )
    assert [image["src"] for image in images] == local + remote
    assert all(image["alt"].startswith("Cover of ") and image["shown"] > 100 for image in images)
    assert all(image["width"] > 0 for image in images[: len(local)]), "covers on disk load"
    failed = images[len(local) :]
    assert all(image["width"] == 0 for image in failed), "the network is off: web covers cannot load"
    assert all(image["fallback"] not in ("none", "normal", '""') for image in failed), failed
    placeholders = browser.execute_script(
        "return [...document.querySelectorAll('.cover-fallback')].map(e => e.getBoundingClientRect().width)"
    )
    cards = browser.execute_script(
        "return [...document.querySelectorAll('#top-albums figcaption')].map(e => e.innerText.trim())"
    )
    assert len(cards) == len(images) + len(placeholders) and all(cards)
    assert all(width > 100 for width in placeholders)


def test_nothing_failed_but_the_web_covers_and_nothing_but_covers_was_requested(loaded):
    browser, log, local, remote = loaded
    problems = [
        entry
        for entry in log
        if entry["level"] in ("SEVERE", "WARNING") and not any(url in entry["message"] for url in remote)
    ]
    assert problems == []
    requested = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => [entry.initiatorType, entry.name])"
    )
    assert all(kind == "img" and name in local + remote for kind, name in requested), requested


def test_screenshot_for_the_readme(loaded, screenshot_dir):
    browser, _, _, _ = loaded
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1200, height)
    screenshot = screenshot_dir / "report.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 50_000
