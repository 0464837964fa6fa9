"""The listening report as one self-contained HTML page: inline CSS and SVG charts, no scripts.

Nothing is fetched but the album covers, linked by URL; a cover that fails to load (offline, or
an expired URL) shows a drawn placeholder with the album's initial instead of a broken image,
and the album name and artist stay in the text. Every name from the data is HTML-escaped.
The page size depends on the number of months, decades and the top-N lists, not on the history's
rows. Charts and number formats are in report_charts.py.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from .listens import FOUR_MINUTES_MS, SPOTIFY_STREAM_MS, ListenRule
from .report import ListeningFigures, RecordingCounts, SpokenFigures
from .report_charts import (
    AUDIOBOOK_COLOR,
    MUSIC_COLOR,
    PODCAST_COLOR,
    UNKNOWN_COLOR,
    column_bars,
    count,
    counted,
    heatmap,
    horizontal_bars,
    minutes_text,
    month_chart,
    percent,
    text,
)

CSS = """
:root { color-scheme: dark; --bg: #121212; --panel: #1c1c1c; --text: #f0f0f0; --muted: #a7a7a7;
  --accent: #1db954; --grid: #333; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK JP",
  "Helvetica Neue", Arial, sans-serif, "Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji"; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0 0 4px; font-size: 2rem; }
header p, .note, footer { color: var(--muted); }
section { background: var(--panel); border-radius: 10px; padding: 18px 20px; margin: 18px 0; }
section h2 { margin: 0 0 12px; font-size: 1.25rem; }
section h3 { margin: 16px 0 8px; font-size: 1rem; color: var(--muted); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 12px;
  margin: 0; }
.card { background: #262626; border-radius: 8px; padding: 10px 12px; margin: 0; }
.card dt { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
.card dd { margin: 2px 0 0; font-size: 1.35rem; font-weight: 700; white-space: nowrap; }
svg.chart { display: block; width: 100%; height: auto; font-size: 12px; }
svg.chart text { fill: var(--muted); }
svg.chart text.label { fill: var(--text); }
svg.chart .grid { stroke: var(--grid); stroke-width: 1; }
.legend { display: flex; gap: 16px; color: var(--muted); font-size: .85rem; margin: 6px 0 0; padding: 0;
  list-style: none; }
.legend li::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 6px; background: var(--swatch); }
.albums { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 16px;
  list-style: none; margin: 0; padding: 0; }
.albums li { min-width: 0; }
.album { margin: 0; }
.cover { position: relative; aspect-ratio: 1 / 1; border-radius: 6px; overflow: hidden;
  background: linear-gradient(135deg, #1db954, #0b3d1e); }
.cover-fallback, .cover img::after { position: absolute; inset: 0; display: flex; align-items: center;
  justify-content: center; font-size: 3rem; font-weight: 700; color: rgba(255, 255, 255, .8);
  background: linear-gradient(135deg, #1db954, #0b3d1e); }
.cover img { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; color: transparent; }
.cover img::after { content: attr(data-initial); }
.album figcaption { margin-top: 6px; font-size: .9rem; overflow-wrap: anywhere; }
.album .album-name { font-weight: 600; }
.album .album-artist, .album .album-stats { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
"""


def cards(items: list[tuple[str, str]]) -> str:
    return (
        '<dl class="cards">'
        + "".join(
            f'<div class="card"><dt>{text(name)}</dt><dd>{text(value)}</dd></div>' for name, value in items
        )
        + "</dl>"
    )


def initial(name: str) -> str:
    return name.strip()[:1].upper() or "\u266a"


def listens_text(row: dict) -> str:
    """A top-list row's counts, e.g. 12 listens · 45.6 min · 14 plays."""
    listens, plays = counted(row["listens"], "listen"), counted(row["plays"], "play")
    return f"{listens} \u00b7 {minutes_text(row['minutes'])} \u00b7 {plays}"


def rule_words(rule: ListenRule) -> str:
    """What counts as a listen under `rule`, in its own words (transforms/listens.py)."""
    fixed = f"{rule.min_ms / 1000:g} s"
    if not rule.by_length:
        return f"plays of at least {fixed}"
    return (
        f"plays of at least half the track or {FOUR_MINUTES_MS / 60_000:g} minutes of tracks longer than "
        f"{SPOTIFY_STREAM_MS / 1000:g} s, and of at least {fixed} while a track's length is not known yet"
    )


def rule_text(rule: ListenRule) -> str:
    """The rule's words and the setting that chose it."""
    return f"{rule_words(rule)} (SPOTIFY_LISTEN_RULE={rule.name})"


def album_grid(albums: pl.DataFrame) -> str:
    """Album cards: the cover when its URL loads, a drawn placeholder with the initial otherwise."""
    if albums.is_empty():
        return '<p class="empty">No music yet.</p>'
    items = []
    for album in albums.iter_rows(named=True):
        name, artist = album["album_name"] or "", album["artist_name"] or ""
        if album["cover_url"]:
            cover = (
                f'<img src="{text(album["cover_url"])}" alt="{text(f"Cover of {name} by {artist}")}" '
                f'data-initial="{text(initial(name))}" width="300" height="300" '
                'referrerpolicy="no-referrer">'
            )
        else:
            cover = (
                f'<span class="cover-fallback" role="img" aria-label="{text(f"No cover for {name}")}">'
                f"{text(initial(name))}</span>"
            )
        items.append(
            f'<li><figure class="album"><div class="cover">{cover}</div><figcaption>'
            f'<div class="album-name">{album["rank"]}. {text(name)}</div>'
            f'<div class="album-artist">{text(artist)}</div>'
            f'<div class="album-stats">{text(listens_text(album))}</div>'
            f"</figcaption></figure></li>"
        )
    return f'<ol class="albums">{"".join(items)}</ol>'


def ranked_bars(
    frame: pl.DataFrame, name_column: str, label: str, *, by_column: str | None = None, releases: bool = False
) -> str:
    """Horizontal bars of listens for a music top-N frame ("name — by" when `by_column` is given;
    "· 3 releases" after the counts of a recording merged from several track ids when `releases`)."""
    rows = []
    for row in frame.iter_rows(named=True):
        name = f"{row['rank']}. {row[name_column]}" + (f" \u2014 {row[by_column]}" if by_column else "")
        value = listens_text(row)
        if releases and row["track_ids"] > 1:
            value += f" \u00b7 {row['track_ids']} releases"
        rows.append((name, row["listens"], value))
    return horizontal_bars(rows, label)


def minute_bars(frame: pl.DataFrame, name_column: str, label: str, color: str) -> str:
    """Horizontal bars of minutes (podcasts and audiobooks)."""
    rows = [
        (
            f"{row['rank']}. {row[name_column]}",
            row["minutes"],
            f"{minutes_text(row['minutes'])} \u00b7 {count(row['plays'])} plays",
        )
        for row in frame.iter_rows(named=True)
    ]
    return horizontal_bars(rows, label, color)


def spoken_section(
    section_id: str, title: str, figures: SpokenFigures, *, titles_name: str, items_name: str, color: str
) -> str:
    if not figures.plays:
        body = f'<p class="empty">No {text(items_name)} in this history.</p>'
    else:
        body = (
            cards(
                [
                    ("plays", count(figures.plays)),
                    ("hours", f"{figures.hours:,.1f}"),
                    (titles_name, count(figures.titles)),
                    (items_name, count(figures.items)),
                ]
            )
            + f"<h3>Top {text(titles_name)}</h3>"
            + minute_bars(figures.top_titles, "title", f"Top {titles_name} by minutes", color)
        )
    return f'<section id="{section_id}"><h2>{text(title)}</h2>{body}</section>'


def merge_text(counts: RecordingCounts) -> str:
    """How many track ids merge into how many recordings, and how much of that is known yet."""
    if not counts.tracks:
        return "No music yet."
    merged = (
        f"{count(counts.tracks)} tracks, {count(counts.recordings)} recordings: "
        f"{counted(counts.merged_recordings, 'recording')} released under several track ids (album, single, "
        "compilation), merged by ISRC."
    )
    if counts.enriched_tracks == 0:
        return merged + (
            " No track has been looked up on Spotify yet: each track is its own recording until the "
            "lookup finds its ISRC."
        )
    if counts.enriched_tracks < counts.tracks:
        return merged + (
            f" {count(counts.enriched_tracks)} of {count(counts.tracks)} tracks looked up on Spotify so "
            f"far; the others count as their own recordings until then."
        )
    return merged


def merged_section(merged: pl.DataFrame) -> str:
    """The most listened recordings released under several track ids, or a note that none is yet."""
    if merged.is_empty():
        return '<p class="empty">No recording released under several track ids yet.</p>'
    bars = ranked_bars(
        merged,
        "recording_name",
        "Recordings released under several track ids",
        by_column="artist_name",
        releases=True,
    )
    return f"<h3>Released under several track ids</h3>{bars}"


def decade_bars(decades: pl.DataFrame) -> str:
    """One bar per release decade, oldest first, `unknown` last in grey: the share of music minutes."""
    rows = [
        (
            row["label"],
            row["share"],
            f"{percent(row['share'])} \u00b7 {minutes_text(row['minutes'])} \u00b7 "
            f"{counted(row['listens'], 'listen')}",
        )
        for row in decades.iter_rows(named=True)
    ]
    colors = [MUSIC_COLOR if decade is not None else UNKNOWN_COLOR for decade in decades["decade"]]
    return horizontal_bars(rows, "Share of music minutes by release decade", colors=colors)


def day_text(day: date | None) -> str:
    return day.isoformat() if day else "\u2013"


def render_report(figures: ListeningFigures, *, timezone: str, generated_at: datetime) -> str:
    """The whole report page."""
    totals = figures.totals
    rule = rule_text(figures.listen_rule)
    span = f"{day_text(totals['first_day'])} to {day_text(totals['last_day'])}"
    total_cards = cards(
        [
            ("plays", count(totals["plays"])),
            ("listens", count(totals["listens"])),
            ("hours", f"{totals['hours']:,.1f}"),
            ("tracks", count(totals["tracks"])),
            ("recordings", count(figures.recordings.recordings)),
            ("artists", count(totals["artists"])),
            ("albums", count(totals["albums"])),
            ("first day", day_text(totals["first_day"])),
            ("last day", day_text(totals["last_day"])),
            ("shuffle share", percent(totals["shuffle_share"])),
            ("skip rate", percent(totals["music_skip_rate"])),
        ]
    )
    breakdown = (
        f'<p class="note">Listens: {text(rule)}. Plays, listens and hours count everything: music '
        f"{count(totals['music_plays'])} plays ({count(totals['music_listens'])} listens), "
        f"{totals['music_hours']:,.1f} h; podcasts {count(totals['podcast_plays'])} plays, "
        f"{totals['podcast_hours']:,.1f} h; audiobooks {count(totals['audiobook_plays'])} plays, "
        f"{totals['audiobook_hours']:,.1f} h. Tracks, recordings, artists, albums, shuffle share and skip "
        f"rate are music only.</p>"
    )
    skip_platform = horizontal_bars(
        [
            (
                row["platform_family"],
                row["skip_rate"],
                f"{percent(row['skip_rate'])} of {count(row['plays'])} plays",
            )
            for row in figures.skip_by_platform.iter_rows(named=True)
        ],
        "Music skip rate by platform",
    )
    skip_hour = figures.skip_by_hour
    discovery = figures.new_artists_by_year
    by_listens = (
        f'<p class="note">Ranked by listens ({text(rule_words(figures.listen_rule))}), then minutes.</p>'
    )
    sections = [
        f'<section id="totals"><h2>Totals</h2>{total_cards}{breakdown}</section>',
        f'<section id="months"><h2>Minutes per month</h2>{month_chart(figures.months)}</section>',
        f'<section id="heatmap"><h2>When you listen</h2><p class="note">Minutes by weekday and hour, '
        f"{text(timezone)} time; every kind of content.</p>{heatmap(figures.weekday_hour)}</section>",
        f'<section id="top-artists"><h2>Top artists</h2>{by_listens}'
        f"{ranked_bars(figures.top_artists, 'artist_name', 'Top artists by listens')}</section>",
        f'<section id="top-albums"><h2>Top albums</h2>{by_listens}{album_grid(figures.top_albums)}</section>',
        f'<section id="top-tracks"><h2>Top tracks</h2>{by_listens}'
        f"{ranked_bars(figures.top_tracks, 'track_name', 'Top tracks by listens', by_column='artist_name')}"
        f"</section>",
        f'<section id="top-recordings"><h2>Top recordings</h2><p class="note">A recording is every track id '
        f"of one ISRC together. {text(merge_text(figures.recordings))}</p>{by_listens}"
        + ranked_bars(
            figures.top_recordings,
            "recording_name",
            "Top recordings by listens",
            by_column="artist_name",
            releases=True,
        )
        + merged_section(figures.merged_recordings)
        + "</section>",
        '<section id="decades"><h2>Release decades</h2><p class="note">Share of music minutes by the decade '
        "each track was released (its album's release date); <em>unknown</em>: tracks not looked up on "
        f"Spotify yet, or without a release date.</p>{decade_bars(figures.decades)}</section>",
        f'<section id="skips"><h2>Skips</h2><p class="note">Share of music plays skipped.</p>'
        f"<h3>By platform</h3>{skip_platform}<h3>By hour ({text(timezone)})</h3>"
        + column_bars(
            [str(hour) for hour in skip_hour["hour"]],
            [rate * 100 for rate in skip_hour["skip_rate"]],
            [
                f"{percent(rate)} of {count(plays)} plays"
                for rate, plays in zip(skip_hour["skip_rate"], skip_hour["plays"], strict=True)
            ],
            "Music skip rate by local hour",
            unit="%",
        )
        + "</section>",
        '<section id="discovery"><h2>New artists discovered per year</h2><p class="note">Artists counted '
        "in the year of their first play.</p>"
        + column_bars(
            [str(year) for year in discovery["year"]],
            [float(n) for n in discovery["new_artists"]],
            [f"{count(n)} new artists" for n in discovery["new_artists"]],
            "New artists per year",
        )
        + "</section>",
        spoken_section(
            "podcasts",
            "Podcasts",
            figures.podcasts,
            titles_name="shows",
            items_name="episodes",
            color=PODCAST_COLOR,
        ),
        spoken_section(
            "audiobooks",
            "Audiobooks",
            figures.audiobooks,
            titles_name="books",
            items_name="chapters",
            color=AUDIOBOOK_COLOR,
        ),
    ]
    footer = (
        f"<footer><p>Generated {text(generated_at.strftime('%Y-%m-%d %H:%M %Z').strip())} by spotify-assets. "
        f"Minutes are ms_played / 60,000; days and hours are local ({text(timezone)}). Listens are "
        f"{text(rule)}. Music rankings are by listens, then minutes; podcasts and audiobooks by minutes. "
        f"Covers are loaded from Spotify when online.</p></footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>Listening report, {text(span)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>Your listening</h1><p>{text(span)}</p></header>"
        + "".join(sections)
        + footer
        + "</main></body></html>\n"
    )


def top_artists_markdown(figures: ListeningFigures, limit: int = 10) -> str:
    """A Markdown table of the top artists, for the materialization preview."""
    lines = ["| # | artist | listens | minutes | plays |", "|---:|---|---:|---:|---:|"]
    lines += [
        f"| {row['rank']} | {markdown_text(row['artist_name'])} | {row['listens']:,} | {row['minutes']:,.1f} "
        f"| {row['plays']:,} |"
        for row in figures.top_artists.head(limit).iter_rows(named=True)
    ]
    return "\n".join(lines)


MARKDOWN_SPECIAL = str.maketrans({character: "\\" + character for character in "\\`*_[]<>|#~!"})


def markdown_text(value: str | None) -> str:
    """`value` safe inside a Markdown table cell: specials backslash-escaped, on one line."""
    return " ".join((value or "").split()).translate(MARKDOWN_SPECIAL)
