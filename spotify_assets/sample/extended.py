"""The Extended Streaming History export: the listener model's music plays plus podcast and audiobook plays.

``generate_extended`` holds the plays of ``generate_plays(rows, seed)`` beside spoken plays, with
every field of the export (country, IP, offline, incognito); ``write_extended_json`` writes one
``Streaming_History_Audio_*.json`` file, ``write_extended_zip`` the ZIP as Spotify mails it.
``json_array`` and ``PDF_PLACEHOLDER`` are how every export's members are written (``basic`` too).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from .listener import (
    DEFAULT_END,
    DEFAULT_START,
    MS_PER_DAY,
    catalog_csv,
    codes_to_text,
    draw,
    draw_platforms,
    generate_plays,
    session_starts,
    year_fraction,
)

EXTENDED_COLUMNS = (
    "ts",
    "platform",
    "ms_played",
    "conn_country",
    "ip_addr",
    "master_metadata_track_name",
    "master_metadata_album_artist_name",
    "master_metadata_album_album_name",
    "spotify_track_uri",
    "episode_name",
    "episode_show_name",
    "spotify_episode_uri",
    "audiobook_title",
    "audiobook_uri",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
    "offline",
    "offline_timestamp",
    "incognito_mode",
)
ZIP_FOLDER = "Spotify Extended Streaming History"
EPISODE_SHARE = 0.04
AUDIOBOOK_SHARE = 0.01
_COUNTRIES = np.array(["US", "MX", "CA", "GB", "ES"])
_COUNTRY_SHARE = np.array([0.93, 0.03, 0.02, 0.01, 0.01])


def _spoken_plays(rng: np.random.Generator, kind: str, n: int, start: date, end: date) -> pl.DataFrame:
    """Podcast-episode (``kind="episodes"``) or audiobook-chapter plays in Extended-history columns."""
    table = catalog_csv(kind)
    group = "show_name" if kind == "episodes" else "audiobook_title"
    groups = table[group].rle_id().to_numpy()
    n_groups = int(groups[-1]) + 1
    first = np.searchsorted(groups, np.arange(n_groups))
    size = np.diff(np.append(first, len(groups)))
    favourite = draw(rng, 1.0 / np.arange(1, n_groups + 1) ** 1.3, n)
    item = first[favourite] + rng.integers(0, size[favourite])
    duration = table["duration_ms"].to_numpy()[item]
    whole = rng.random(n) < 0.4
    ms = np.where(whole, duration * rng.uniform(0.97, 1.0, n), duration * rng.uniform(0.02, 0.97, n))
    ms = np.where(rng.random(n) < 0.02, rng.integers(0, 500, n), ms).astype(np.int64)
    ts_ms = session_starts(rng, n, start, end) + ms
    picked = table[item]
    platform = codes_to_text(
        draw_platforms(rng, year_fraction(ts_ms, start, end)), catalog_csv("platforms")["platform"].to_list()
    )
    how_started = draw(rng, np.array([0.5, 0.3, 0.2]), n)
    how_ended = np.where(whole, 0, 1 + draw(rng, np.array([0.7, 0.2, 0.1]), n))
    frame = pl.DataFrame(
        {
            "ts_ms": ts_ms,
            "platform": platform,
            "ms_played": ms,
            "reason_start": codes_to_text(how_started, ["clickrow", "playbtn", "trackdone"]),
            "reason_end": codes_to_text(how_ended, ["trackdone", "endplay", "logout", "unexpected-exit"]),
            "shuffle": np.zeros(n, dtype=bool),
            "skipped": np.zeros(n, dtype=bool),
        }
    )
    if kind == "episodes":
        return frame.with_columns(
            episode_name=picked["episode_name"],
            episode_show_name=picked["show_name"],
            spotify_episode_uri="spotify:episode:" + picked["episode_id"],
        )
    return frame.with_columns(
        audiobook_title=picked["audiobook_title"],
        audiobook_uri="spotify:audiobook:" + picked["audiobook_id"],
        audiobook_chapter_uri="spotify:chapter:" + picked["chapter_id"],
        audiobook_chapter_title=picked["chapter_title"],
    )


def generate_extended(
    rows: int,
    seed: int = 0,
    *,
    episodes: int | None = None,
    audiobooks: int | None = None,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
) -> pl.DataFrame:
    """One row per Extended Streaming History record, ordered by ``ts``, with every field of the export.

    ``rows`` music plays (the same plays as ``generate_plays(rows, seed)``) plus ``episodes`` podcast
    plays and ``audiobooks`` audiobook-chapter plays (defaults: 4 % and 1 % of ``rows``). Track
    fields are null on spoken plays; ``ts`` is an ISO-8601 string ending in ``Z``; ``skipped`` is null
    on ~4 % of records; ``offline_timestamp`` is epoch seconds, milliseconds, junk (0/1) or null.
    """
    episodes = round(rows * EPISODE_SHARE) if episodes is None else episodes
    audiobooks = round(rows * AUDIOBOOK_SHARE) if audiobooks is None else audiobooks
    music = generate_plays(rows, seed, start=start, end=end)
    rng = np.random.default_rng([seed, 1])
    parts = [
        music.select(
            ts_ms=pl.col("ts").dt.epoch("ms"),
            platform="platform",
            ms_played="ms_played",
            master_metadata_track_name="track_name",
            master_metadata_album_artist_name="artist_name",
            master_metadata_album_album_name="album_name",
            spotify_track_uri="spotify:track:" + pl.col("spotify_track_uri"),
            reason_start="reason_start",
            reason_end="reason_end",
            shuffle="shuffle",
            skipped="skipped",
        ),
        _spoken_plays(rng, "episodes", episodes, start, end),
        _spoken_plays(rng, "audiobooks", audiobooks, start, end),
    ]
    records = pl.concat(parts, how="diagonal_relaxed").sort("ts_ms", maintain_order=True)
    return _extended_context(records, rng).select(EXTENDED_COLUMNS)


def _extended_context(records: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Add country, IP, offline and incognito fields, and the export's ``ts`` text."""
    n = records.height
    ts_ms = records["ts_ms"].to_numpy()
    year = ts_ms // (365 * MS_PER_DAY)  # approximate calendar year: only picks an address
    # A home address per year, a mobile address that changes more often: documentation ranges only.
    mobile = rng.random(n) < 0.35
    host = np.where(mobile, 64 + (ts_ms // (45 * MS_PER_DAY)) % 150, 2 + year % 60)
    net = np.where(mobile, "198.51.100.", "203.0.113.")
    ip = np.char.add(net.astype(str), host.astype(str))
    offline = (rng.random(n) < 0.04) & (records["platform"] == "android").to_numpy()
    started_ms = ts_ms - records["ms_played"].to_numpy()
    flavour = draw(rng, np.array([0.45, 0.35, 0.15, 0.05]), n)  # null, seconds, ms, junk
    junk = rng.integers(0, 2, n)
    offline_ts = np.select([flavour == 1, flavour == 2], [started_ms // 1000, started_ms], junk)
    return records.with_columns(
        ts=pl.from_epoch(pl.col("ts_ms"), time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        conn_country=pl.Series(_COUNTRIES[draw(rng, _COUNTRY_SHARE, n)], dtype=pl.String),
        ip_addr=pl.Series(ip, dtype=pl.String),
        skipped=pl.when(pl.lit(pl.Series(rng.random(n) < 0.04))).then(None).otherwise(pl.col("skipped")),
        offline=pl.Series(offline),
        offline_timestamp=pl.Series(offline_ts, dtype=pl.Int64).set(pl.Series(flavour == 0), None),
        incognito_mode=pl.Series(rng.random(n) < 0.01),
    ).with_columns(
        pl.col(
            "master_metadata_track_name",
            "master_metadata_album_artist_name",
            "master_metadata_album_album_name",
            "spotify_track_uri",
            "episode_name",
            "episode_show_name",
            "spotify_episode_uri",
            "audiobook_title",
            "audiobook_uri",
            "audiobook_chapter_uri",
            "audiobook_chapter_title",
        ).cast(pl.String)
    )


def json_array(records: pl.DataFrame) -> bytes:
    """A JSON array with one record per line, every field present (nulls written as ``null``)."""
    buffer = io.BytesIO()
    records.write_ndjson(buffer)
    body = buffer.getvalue().rstrip(b"\n")
    return b"[\n" + body.replace(b"\n", b",\n") + b"\n]\n" if body else b"[]\n"


def write_extended_json(
    path: str | Path,
    rows: int,
    seed: int = 0,
    episodes: int | None = None,
    audiobooks: int | None = None,
) -> Path:
    """Write one ``Streaming_History_Audio_*.json``-style file (a JSON array); return the path.

    ``rows`` music plays plus ``episodes`` and ``audiobooks`` spoken plays (see ``generate_extended``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json_array(generate_extended(rows, seed, episodes=episodes, audiobooks=audiobooks)))
    return path


def _years(chunk: pl.DataFrame) -> str:
    first, last = chunk["ts"][0][:4], chunk["ts"][-1][:4]
    return first if first == last else f"{first}-{last}"


def write_extended_zip(path: str | Path, rows: int, seed: int = 0, files: int = 2) -> Path:
    """Write a ZIP as Spotify mails it; return the path.

    Members, all under ``Spotify Extended Streaming History/``: ``files`` audio files
    ``Streaming_History_Audio_<years>_<n>.json`` (consecutive slices of ``generate_extended(rows,
    seed)``), one ``Streaming_History_Video_<years>.json`` (a few video-podcast plays), and a
    ``ReadMeFirst_ExtendedStreamingHistory.pdf`` placeholder that is not history.
    """
    if files < 1:
        raise ValueError(f"files must be >= 1, got {files}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = generate_extended(rows, seed)
    video = generate_extended(0, seed + 1, episodes=max(3, rows // 2000), audiobooks=0)
    per_file = -(-records.height // files)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        add_member(archive, f"{ZIP_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf", PDF_PLACEHOLDER)
        for n in range(files):
            chunk = records.slice(n * per_file, per_file)
            years = _years(chunk) if chunk.height else "empty"
            add_member(archive, f"{ZIP_FOLDER}/Streaming_History_Audio_{years}_{n}.json", json_array(chunk))
        add_member(archive, f"{ZIP_FOLDER}/Streaming_History_Video_{_years(video)}.json", json_array(video))
    return path


MEMBER_TIME = (2025, 1, 1, 0, 0, 0)  # every member's time stamp: the same (rows, seed), the same bytes


def add_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """`data` as the member `name`, deflated, stamped MEMBER_TIME (not the clock)."""
    info = zipfile.ZipInfo(name, date_time=MEMBER_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16  # what writestr gives a member named by a string
    archive.writestr(info, data, compresslevel=1)


PDF_PLACEHOLDER = (
    b"%PDF-1.4\n% Placeholder for Spotify's ReadMeFirst document: not listening history.\n"
    b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
