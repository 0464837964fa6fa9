"""The report's charts and number formats: inline SVG built as text, no scripts, no fonts.

Every chart is an `<svg class="chart">` with a title for screen readers and a `<title>` tooltip on
each mark; names are HTML-escaped and shortened in labels (in full in tooltips). The page's CSS
(report_html.py) styles the classes used here: `grid`, `label`, `legend`, `empty`.
"""

from __future__ import annotations

import html
import math

import polars as pl

MUSIC_COLOR, PODCAST_COLOR, AUDIOBOOK_COLOR = "#1db954", "#509bf5", "#f59b23"
UNKNOWN_COLOR = "#6a6a6a"  # what is not known yet (release decades of tracks not looked up)
KIND_COLORS = (("music", MUSIC_COLOR), ("podcast", PODCAST_COLOR), ("audiobook", AUDIOBOOK_COLOR))
CHART_WIDTH = 960
NAME_LIMIT = 44  # characters of a name shown in a chart label; the full name is in its tooltip


def text(value: object) -> str:
    """`value` escaped for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


def short(name: str, limit: int = NAME_LIMIT) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "\u2026"


def count(value: int) -> str:
    return f"{value:,}"


def counted(value: int, word: str) -> str:
    """ "1 listen", "2 listens": the count and the word, plural unless one."""
    return f"{value:,} {word}" + ("" if value == 1 else "s")


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


def y_gridlines(
    maximum: float, *, left: int, right: int, top: int, height: int, unit: str = ""
) -> tuple[str, float]:
    """Horizontal gridlines with labels; returns them and the value at the top of the plot."""
    step = nice_step(maximum or 1.0)
    ceiling = step * math.ceil(max(maximum, step) / step)
    lines = []
    for index in range(round(ceiling / step) + 1):
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
    grid, ceiling = y_gridlines(
        months.select(pl.col("minutes").max()).item(),
        left=left,
        right=CHART_WIDTH - 8,
        top=top,
        height=plot_height,
    )
    slot = plot_width / months.height
    bar = max(slot * 0.8, 1.0)
    parts = [grid]
    for index, month in enumerate(months.iter_rows(named=True)):
        x = left + index * slot + (slot - bar) / 2
        base = top + plot_height
        tooltip = (
            f"{month['year']}-{month['month']:02d}: {minutes_text(month['minutes'])}, "
            f"{count(month['plays'])} plays (music {month['music_minutes']:,.1f}, podcasts "
            f"{month['podcast_minutes']:,.1f}, audiobooks {month['audiobook_minutes']:,.1f})"
        )
        segments = []
        for kind, color in KIND_COLORS:
            height = plot_height * month[f"{kind}_minutes"] / ceiling
            if height > 0:
                base -= height
                segments.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                    f'fill="{color}"/>'
                )
        parts.append(f'<g class="month"><title>{text(tooltip)}</title>{"".join(segments)}</g>')
        if month["month"] == 1 or (index == 0 and month["month"] <= 10):  # room before the next January
            parts.append(f'<text x="{x:.1f}" y="{top + plot_height + 16}">{month["year"]}</text>')
    legend = (
        f'<ul class="legend"><li style="--swatch:{MUSIC_COLOR}">music</li>'
        f'<li style="--swatch:{PODCAST_COLOR}">podcasts</li>'
        f'<li style="--swatch:{AUDIOBOOK_COLOR}">audiobooks</li></ul>'
    )
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
            parts.append(
                f'<text class="label" x="{left - 8}" y="{top + row * cell_height + 17}" '
                f'text-anchor="end">{text(cell["weekday_name"][:3])}</text>'
            )
        opacity = 0.06 + 0.94 * cell["minutes"] / peak
        tooltip = (
            f"{cell['weekday_name']} {cell['hour']:02d}:00: {minutes_text(cell['minutes'])}, "
            f"{count(cell['plays'])} plays"
        )
        parts.append(
            f'<rect x="{left + column * cell_width}" y="{top + row * cell_height}" '
            f'width="{cell_width - gap}" height="{cell_height - gap}" rx="3" fill="{MUSIC_COLOR}" '
            f'fill-opacity="{opacity:.3f}">'
            f"<title>{text(tooltip)}</title></rect>"
        )
    height = top + 7 * cell_height + 4
    return svg(left + 24 * cell_width, height, "Minutes played by weekday and hour", "".join(parts))


def horizontal_bars(
    rows: list[tuple[str, float, str]],
    label: str,
    color: str = MUSIC_COLOR,
    *,
    colors: list[str] | None = None,
) -> str:
    """One bar per (name, value, value text), in the order given; names are shortened in the
    label and given in full in the tooltip. `colors` gives each bar its own color."""
    if not rows:
        return '<p class="empty">Nothing to show.</p>'
    name_width, row_height = 330, 24
    # room for the longest value text after the longest bar (about 7 px a character at 12 px)
    value_width = min(max(190, 7 * max(len(value_text) for _, _, value_text in rows) + 12), 320)
    bar_space = CHART_WIDTH - name_width - value_width
    peak = max(value for _, value, _ in rows) or 1.0
    parts = []
    for index, (name, value, value_text) in enumerate(rows):
        y = index * row_height
        width = max(bar_space * value / peak, 1.0)
        parts.append(
            f"<g><title>{text(name)}: {text(value_text)}</title>"
            f'<text class="label" x="{name_width - 8}" y="{y + 16}" text-anchor="end">'
            f"{text(short(name))}</text>"
            f'<rect x="{name_width}" y="{y + 4}" width="{width:.1f}" height="{row_height - 8}" rx="3" '
            f'fill="{colors[index] if colors else color}"/>'
            f'<text x="{name_width + width + 6:.1f}" y="{y + 16}">{text(value_text)}</text></g>'
        )
    return svg(CHART_WIDTH, len(rows) * row_height, label, "".join(parts))


def column_bars(
    labels: list[str],
    values: list[float],
    value_texts: list[str],
    label: str,
    *,
    unit: str = "",
    color: str = MUSIC_COLOR,
) -> str:
    """Vertical bars with a label under each (hours, years)."""
    if not labels:
        return '<p class="empty">Nothing to show.</p>'
    left, top, plot_height, width = 52, 10, 160, CHART_WIDTH
    grid, ceiling = y_gridlines(
        max(values), left=left, right=width - 4, top=top, height=plot_height, unit=unit
    )
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
            parts.append(
                f'<text x="{x + slot * 0.4:.1f}" y="{top + plot_height + 15}" '
                f'text-anchor="middle">{text(name)}</text>'
            )
    return svg(width, top + plot_height + 22, label, "".join(parts))
