"""The listening report as one self-contained HTML page: inline CSS and SVG charts, no scripts.

Nothing is fetched but the album covers, linked by URL; a cover that fails to load (offline, or
an expired URL) shows a drawn placeholder with the album's initial instead of a broken image,
and the album name and artist stay in the text. Every name from the data is HTML-escaped.
The page size depends on the number of months and the top-N lists, not on the history's rows.
"""

from __future__ import annotations

import html
import math
from datetime import date, datetime

import polars as pl

from .report import ListeningFigures, SpokenFigures

MUSIC_COLOR, PODCAST_COLOR, AUDIOBOOK_COLOR = "#1db954", "#509bf5", "#f59b23"
KIND_COLORS = (("music", MUSIC_COLOR), ("podcast", PODCAST_COLOR), ("audiobook", AUDIOBOOK_COLOR))
CHART_WIDTH = 960
NAME_LIMIT = 44  # characters of a name shown in a chart label; the full name is in its tooltip

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


def text(value: object) -> str:
    """`value` escaped for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


def short(name: str, limit: int = NAME_LIMIT) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "\u2026"


def count(value: int) -> str:
    return f"{value:,}"


def percent(share: float) -> str:
    return f"{share:.1%}"


def minutes_text(value: float) -> str:
    return f"{value:,.1f} min"


def nice_step(maximum: float, ticks: int = 4) -> float:
    """A round gridline step (1, 2 or 5 times a power of ten) giving about `ticks` lines up to `maximum`."""
    raw = max(maximum, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(factor * power for factor in (1, 2, 5, 10) if factor * power >= raw)


def svg(width: int, height: int, label: str, body: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{text(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{text(label)}</title>{body}</svg>'
    )


def y_gridlines(maximum: float, *, left: int, right: int, top: int, height: int,
                unit: str = "") -> tuple[str, float]:
    """Horizontal gridlines with labels; returns them and the value at the top of the plot."""
    step = nice_step(maximum or 1.0)
    ceiling = step * math.ceil(max(maximum, step) / step)
    lines = []
    for index in range(int(round(ceiling / step)) + 1):
        value = index * step
        y = top + height - height * value / ceiling
        label = f"{value:,.0f}{unit}" if step >= 1 else f"{value:,.2f}{unit}"
        lines.append(
            f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    return "".join(lines), ceiling


def month_chart(months: pl.DataFrame) -> str:
    """Stacked bars of minutes per month (music, podcasts, audiobooks), a label every January."""
    if months.is_empty():
        return '<p class="empty">No plays yet.</p>'
    left, top, plot_height, bottom = 64, 10, 230, 24
    plot_width = CHART_WIDTH - left - 8
    grid, ceiling = y_gridlines(months["minutes"].max(), left=left, right=CHART_WIDTH - 8, top=top,
                                height=plot_height)
    slot = plot_width / months.height
    bar = max(slot * 0.8, 1.0)
    parts = [grid]
    for index, month in enumerate(months.iter_rows(named=True)):
        x = left + index * slot + (slot - bar) / 2
        base = top + plot_height
        tooltip = (f"{month['year']}-{month['month']:02d}: {minutes_text(month['minutes'])}, "
                   f"{count(month['plays'])} plays (music {month['music_minutes']:,.1f}, podcasts "
                   f"{month['podcast_minutes']:,.1f}, audiobooks {month['audiobook_minutes']:,.1f})")
        segments = []
        for kind, color in KIND_COLORS:
            height = plot_height * month[f"{kind}_minutes"] / ceiling
            if height > 0:
                base -= height
                segments.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                                f'fill="{color}"/>')
        parts.append(f'<g class="month"><title>{text(tooltip)}</title>{"".join(segments)}</g>')
        if month["month"] == 1 or (index == 0 and month["month"] <= 10):  # room before the next January
            parts.append(f'<text x="{x:.1f}" y="{top + plot_height + 16}">{month["year"]}</text>')
    legend = (f'<ul class="legend"><li style="--swatch:{MUSIC_COLOR}">music</li>'
              f'<li style="--swatch:{PODCAST_COLOR}">podcasts</li>'
              f'<li style="--swatch:{AUDIOBOOK_COLOR}">audiobooks</li></ul>')
    return svg(CHART_WIDTH, top + plot_height + bottom, "Minutes played per month", "".join(parts)) + legend


def heatmap(weekday_hour: pl.DataFrame) -> str:
    """7 x 24 cells, one per weekday and local hour, shaded by minutes played."""
    left, top, cell_width, cell_height, gap = 44, 20, 37, 26, 2
    peak = weekday_hour["minutes"].max() or 1.0
    parts = [
        f'<text x="{left + (hour + 0.5) * cell_width:.1f}" y="{top - 6}" text-anchor="middle">{hour}</text>'
        for hour in range(0, 24, 2)
    ]
    for cell in weekday_hour.iter_rows(named=True):
        row, column = cell["weekday"] - 1, cell["hour"]
        if column == 0:
            parts.append(f'<text class="label" x="{left - 8}" y="{top + row * cell_height + 17}" '
                         f'text-anchor="end">{text(cell["weekday_name"][:3])}</text>')
        opacity = 0.06 + 0.94 * cell["minutes"] / peak
        tooltip = (f"{cell['weekday_name']} {cell['hour']:02d}:00: {minutes_text(cell['minutes'])}, "
                   f"{count(cell['plays'])} plays")
        parts.append(
            f'<rect x="{left + column * cell_width}" y="{top + row * cell_height}" '
            f'width="{cell_width - gap}" height="{cell_height - gap}" rx="3" fill="{MUSIC_COLOR}" '
            f'fill-opacity="{opacity:.3f}">'
            f'<title>{text(tooltip)}</title></rect>'
        )
    height = top + 7 * cell_height + 4
    return svg(left + 24 * cell_width, height, "Minutes played by weekday and hour", "".join(parts))


def horizontal_bars(rows: list[tuple[str, float, str]], label: str, color: str = MUSIC_COLOR) -> str:
    """One bar per (name, value, value text), longest first as given; names are shortened in the
    label and given in full in the tooltip."""
    if not rows:
        return '<p class="empty">Nothing to show.</p>'
    name_width, row_height, value_width = 330, 24, 190
    bar_space = CHART_WIDTH - name_width - value_width
    peak = max(value for _, value, _ in rows) or 1.0
    parts = []
    for index, (name, value, value_text) in enumerate(rows):
        y = index * row_height
        width = max(bar_space * value / peak, 1.0)
        parts.append(
            f'<g><title>{text(name)}: {text(value_text)}</title>'
            f'<text class="label" x="{name_width - 8}" y="{y + 16}" text-anchor="end">'
            f'{text(short(name))}</text>'
            f'<rect x="{name_width}" y="{y + 4}" width="{width:.1f}" height="{row_height - 8}" rx="3" '
            f'fill="{color}"/>'
            f'<text x="{name_width + width + 6:.1f}" y="{y + 16}">{text(value_text)}</text></g>'
        )
    return svg(CHART_WIDTH, len(rows) * row_height, label, "".join(parts))


def column_bars(labels: list[str], values: list[float], value_texts: list[str], label: str,
                *, unit: str = "", color: str = MUSIC_COLOR) -> str:
    """Vertical bars with a label under each (hours, years)."""
    if not labels:
        return '<p class="empty">Nothing to show.</p>'
    left, top, plot_height, width = 52, 10, 160, CHART_WIDTH
    grid, ceiling = y_gridlines(max(values), left=left, right=width - 4, top=top, height=plot_height,
                                unit=unit)
    slot = (width - left - 4) / len(labels)
    parts = [grid]
    every = max(1, math.ceil(len(labels) / 24))
    for index, (name, value, value_text) in enumerate(zip(labels, values, value_texts, strict=True)):
        height = plot_height * value / ceiling
        x = left + index * slot + slot * 0.1
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_height - height:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{height:.1f}" fill="{color}"><title>{text(name)}: {text(value_text)}</title></rect>'
        )
        if index % every == 0:
            parts.append(f'<text x="{x + slot * 0.4:.1f}" y="{top + plot_height + 15}" '
                         f'text-anchor="middle">{text(name)}</text>')
    return svg(width, top + plot_height + 22, label, "".join(parts))


def cards(items: list[tuple[str, str]]) -> str:
    return '<dl class="cards">' + "".join(
        f'<div class="card"><dt>{text(name)}</dt><dd>{text(value)}</dd></div>' for name, value in items
    ) + "</dl>"


def initial(name: str) -> str:
    return name.strip()[:1].upper() or "\u266a"


def album_grid(albums: pl.DataFrame) -> str:
    """Album cards: the cover when its URL loads, a drawn placeholder with the initial otherwise."""
    if albums.is_empty():
        return '<p class="empty">No music yet.</p>'
    items = []
    for album in albums.iter_rows(named=True):
        name, artist = album["album_name"] or "", album["artist_name"] or ""
        if album["cover_url"]:
            cover = (f'<img src="{text(album["cover_url"])}" alt="{text(f"Cover of {name} by {artist}")}" '
                     f'data-initial="{text(initial(name))}" width="300" height="300" '
                     'referrerpolicy="no-referrer">')
        else:
            cover = f'<span class="cover-fallback" role="img" aria-label="{text(f"No cover for {name}")}">' \
                    f'{text(initial(name))}</span>'
        items.append(
            f'<li><figure class="album"><div class="cover">{cover}</div><figcaption>'
            f'<div class="album-name">{album["rank"]}. {text(name)}</div>'
            f'<div class="album-artist">{text(artist)}</div>'
            f'<div class="album-stats">{minutes_text(album["minutes"])} \u00b7 '
            f'{count(album["plays"])} plays</div>'
            f'</figcaption></figure></li>'
        )
    return f'<ol class="albums">{"".join(items)}</ol>'


def ranked_bars(frame: pl.DataFrame, name_column: str, label: str, *, by_column: str | None = None,
                color: str = MUSIC_COLOR) -> str:
    """Horizontal bars of minutes for a top-N frame ("name — by" when `by_column` is given)."""
    rows = [
        (f"{row['rank']}. {row[name_column]}" + (f" \u2014 {row[by_column]}" if by_column else ""),
         row["minutes"], f"{minutes_text(row['minutes'])} \u00b7 {count(row['plays'])} plays")
        for row in frame.iter_rows(named=True)
    ]
    return horizontal_bars(rows, label, color)


def spoken_section(section_id: str, title: str, figures: SpokenFigures, *, titles_name: str,
                   items_name: str, color: str) -> str:
    if not figures.plays:
        body = f'<p class="empty">No {text(items_name)} in this history.</p>'
    else:
        body = cards([
            ("plays", count(figures.plays)), ("hours", f"{figures.hours:,.1f}"),
            (titles_name, count(figures.titles)), (items_name, count(figures.items)),
        ]) + f"<h3>Top {text(titles_name)}</h3>" + ranked_bars(
            figures.top_titles, "title", f"Top {titles_name} by minutes", color=color
        )
    return f'<section id="{section_id}"><h2>{text(title)}</h2>{body}</section>'


def day_text(day: date | None) -> str:
    return day.isoformat() if day else "\u2013"


def render_report(figures: ListeningFigures, *, timezone: str, generated_at: datetime) -> str:
    """The whole report page."""
    totals = figures.totals
    span = f"{day_text(totals['first_day'])} to {day_text(totals['last_day'])}"
    total_cards = cards([
        ("plays", count(totals["plays"])),
        ("hours", f"{totals['hours']:,.1f}"),
        ("tracks", count(totals["tracks"])),
        ("artists", count(totals["artists"])),
        ("albums", count(totals["albums"])),
        ("first day", day_text(totals["first_day"])),
        ("last day", day_text(totals["last_day"])),
        ("shuffle share", percent(totals["shuffle_share"])),
        ("skip rate", percent(totals["music_skip_rate"])),
    ])
    breakdown = (
        f'<p class="note">Plays and hours count everything: music {count(totals["music_plays"])} plays, '
        f'{totals["music_hours"]:,.1f} h; podcasts {count(totals["podcast_plays"])} plays, '
        f'{totals["podcast_hours"]:,.1f} h; audiobooks {count(totals["audiobook_plays"])} plays, '
        f'{totals["audiobook_hours"]:,.1f} h. Tracks, artists, albums, shuffle share and skip rate are '
        f'music only.</p>'
    )
    skip_platform = horizontal_bars(
        [(row["platform_family"], row["skip_rate"],
          f"{percent(row['skip_rate'])} of {count(row['plays'])} plays")
         for row in figures.skip_by_platform.iter_rows(named=True)],
        "Music skip rate by platform",
    )
    skip_hour = figures.skip_by_hour
    discovery = figures.new_artists_by_year
    sections = [
        f'<section id="totals"><h2>Totals</h2>{total_cards}{breakdown}</section>',
        f'<section id="months"><h2>Minutes per month</h2>{month_chart(figures.months)}</section>',
        f'<section id="heatmap"><h2>When you listen</h2><p class="note">Minutes by weekday and hour, '
        f'{text(timezone)} time; every kind of content.</p>{heatmap(figures.weekday_hour)}</section>',
        f'<section id="top-artists"><h2>Top artists</h2>'
        f'{ranked_bars(figures.top_artists, "artist_name", "Top artists by minutes")}</section>',
        f'<section id="top-albums"><h2>Top albums</h2>{album_grid(figures.top_albums)}</section>',
        f'<section id="top-tracks"><h2>Top tracks</h2>'
        f'{ranked_bars(figures.top_tracks, "track_name", "Top tracks by minutes", by_column="artist_name")}'
        f'</section>',
        f'<section id="skips"><h2>Skips</h2><p class="note">Share of music plays skipped.</p>'
        f'<h3>By platform</h3>{skip_platform}<h3>By hour ({text(timezone)})</h3>'
        + column_bars([str(hour) for hour in skip_hour["hour"]],
                      [rate * 100 for rate in skip_hour["skip_rate"]],
                      [f"{percent(rate)} of {count(plays)} plays" for rate, plays
                       in zip(skip_hour["skip_rate"], skip_hour["plays"], strict=True)],
                      "Music skip rate by local hour", unit="%")
        + '</section>',
        f'<section id="discovery"><h2>New artists discovered per year</h2><p class="note">Artists counted '
        f'in the year of their first play.</p>'
        + column_bars([str(year) for year in discovery["year"]], [float(n) for n in discovery["new_artists"]],
                      [f"{count(n)} new artists" for n in discovery["new_artists"]], "New artists per year")
        + '</section>',
        spoken_section("podcasts", "Podcasts", figures.podcasts, titles_name="shows", items_name="episodes",
                       color=PODCAST_COLOR),
        spoken_section("audiobooks", "Audiobooks", figures.audiobooks, titles_name="books",
                       items_name="chapters", color=AUDIOBOOK_COLOR),
    ]
    footer = (
        f'<footer><p>Generated {text(generated_at.strftime("%Y-%m-%d %H:%M %Z").strip())} by spotify-assets. '
        f'Minutes are ms_played / 60,000; days and hours are local ({text(timezone)}). Rankings are by '
        f'minutes played. Covers are loaded from Spotify when online.</p></footer>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f'<title>Listening report, {text(span)}</title><style>{CSS}</style></head><body><main>'
        f'<header><h1>Your listening</h1><p>{text(span)}</p></header>'
        + "".join(sections) + footer + "</main></body></html>\n"
    )


def top_artists_markdown(figures: ListeningFigures, limit: int = 10) -> str:
    """A Markdown table of the top artists, for the materialization preview."""
    lines = ["| # | artist | minutes | plays |", "|---:|---|---:|---:|"]
    lines += [
        f"| {row['rank']} | {markdown_text(row['artist_name'])} | {row['minutes']:,.1f} | {row['plays']:,} |"
        for row in figures.top_artists.head(limit).iter_rows(named=True)
    ]
    return "\n".join(lines)


MARKDOWN_SPECIAL = str.maketrans({character: "\\" + character for character in "\\`*_[]<>|#~!"})


def markdown_text(value: str | None) -> str:
    """`value` safe inside a Markdown table cell: specials backslash-escaped, on one line."""
    return " ".join((value or "").split()).translate(MARKDOWN_SPECIAL)
