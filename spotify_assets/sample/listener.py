"""Realistic synthetic Spotify listening histories, in every format the platform ingests.

The plays come from one listener model, drawn with NumPy and assembled with Polars (no Python loop
per row; 10 million plays generate in seconds):

* **Sessions.** Plays come in listening sessions (geometric length, mean 14 plays). A session starts
  on a day drawn from a daily-volume curve (weekly rhythm, slow ups and downs, holidays without
  music, listening growing over the years) at an hour drawn from a weekday or weekend profile
  (commute and evening peaks on weekdays, late mornings and long afternoons at weekends). Each play
  ends ``ms_played`` plus a short gap after the previous one; ``ts`` is when the play ended (UTC).
  A session has one platform (the mix drifts over the years), one shuffle setting, one country and IP.
* **Taste.** Artists are ranked per quarter; the rank of each play's artist is Zipf-distributed, so
  a few favourites dominate and the favourites change from quarter to quarter around a stable core
  (artists with many catalog tracks tend to be the core). A session also has a focus artist that
  comes back often. Within an artist, earlier catalog tracks are the hits.
* **Reasons.** ``reason_start`` of a play repeats the ``reason_end`` of the play before it in the
  session (that is how Spotify logs them); the first and last plays of a session draw from their own
  distributions (``catalog/reasons.csv``); a play after a track that failed to play starts with
  ``trackerror``. ``skipped`` is true exactly when ``reason_end`` is ``fwdbtn``, ``backbtn`` or
  ``nextbtn``; skipped plays are short, ~3 % of all plays last under 500 ms, finished plays last
  about the track's length. ~0.6 % of plays have an empty reason.
* **Export noise.** ~0.5 % of rows are exact duplicates of another row, as in real exports.

Every format is written from the same plays: the Maven CSV (``write_maven_csv``), the Extended
Streaming History (``write_extended_json`` / ``write_extended_zip``: the same music plays plus
podcast and audiobook plays) and the basic account data (``write_basic_json`` /
``write_account_data_zip``: the last year of that Extended history, as the mailed export holds it,
minute precision, no ids), so a basic and an extended export of the same ``(rows, seed)`` overlap
the way a listener's two exports do.

Output is deterministic for a given ``(rows, seed)``.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from ..transforms.parse import MAVEN_COLUMNS

CATALOG_DIR = Path(__file__).parent.parent / "catalog"  # spotify_assets/catalog

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
SKIP_REASONS = ("fwdbtn", "backbtn", "nextbtn")
ZIP_FOLDER = "Spotify Extended Streaming History"

DEFAULT_START = date(2017, 1, 1)
DEFAULT_END = date(2024, 12, 31)
DUPLICATE_SHARE = 0.005
MEAN_SESSION_PLAYS = 14
QUARTER_DAYS = 91
AFTER_ERROR_SHARE = 0.003
EPISODE_SHARE = 0.04
AUDIOBOOK_SHARE = 0.01

_MS_PER_DAY = 86_400_000
# Relative listening per hour of the day (UTC taken as the listener's clock).
_WEEKDAY_HOURS = np.array(
    [
        0.8,
        0.4,
        0.2,
        0.1,
        0.1,
        0.2,
        0.8,
        2.2,
        3.2,
        2.4,
        1.8,
        1.8,
        2.4,
        2.2,
        1.8,
        1.9,
        2.3,
        3.1,
        3.8,
        4.2,
        4.4,
        4.0,
        3.0,
        1.8,
    ]
)
_WEEKEND_HOURS = np.array(
    [
        2.0,
        1.6,
        1.0,
        0.5,
        0.2,
        0.1,
        0.2,
        0.4,
        0.9,
        1.6,
        2.6,
        3.2,
        3.4,
        3.4,
        3.3,
        3.2,
        3.2,
        3.3,
        3.4,
        3.6,
        3.6,
        3.4,
        3.0,
        2.6,
    ]
)
# Monday .. Sunday.
_WEEKDAY_VOLUME = np.array([0.95, 0.95, 1.0, 1.0, 1.1, 1.25, 1.05])
_COUNTRIES = np.array(["US", "MX", "CA", "GB", "ES"])
_COUNTRY_SHARE = np.array([0.93, 0.03, 0.02, 0.01, 0.01])


# --------------------------------------------------------------------------- catalog


@cache
def catalog_csv(name: str) -> pl.DataFrame:
    """A catalog table, names kept as text (a track called ``1999`` stays a string)."""
    frame = pl.read_csv(CATALOG_DIR / f"{name}.csv", infer_schema=False)
    numbers = {
        "duration_ms": pl.Int64,
        "weight": pl.Float64,
        "share_start": pl.Float64,
        "share_end": pl.Float64,
    }
    return frame.cast({column: numbers[column] for column in frame.columns if column in numbers})


def load_catalog(name: str) -> pl.DataFrame:
    """One bundled catalog table: ``tracks``, ``platforms``, ``reasons``, ``episodes`` or ``audiobooks``."""
    return catalog_csv(name).clone()


def _draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with probability proportional to ``weights`` (inverse CDF, vectorized)."""
    cdf = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right").clip(0, len(weights) - 1)


# --------------------------------------------------------------------------- time


def _day_weights(rng: np.random.Generator, start: date, n_days: int) -> np.ndarray:
    """Relative listening volume per day: weekly rhythm, slow moods, holidays, growth."""
    day = np.arange(n_days)
    weekday = (start.weekday() + day) % 7
    kernel = np.exp(-np.arange(60) / 15.0)
    mood = np.convolve(rng.normal(0.0, 0.18, n_days + 59), kernel, mode="valid")[:n_days]
    weights = _WEEKDAY_VOLUME[weekday] * np.exp(mood) * (1.0 + 0.8 * day / max(n_days, 1))
    weights *= rng.random(n_days) > 0.03  # days without any music
    for holiday in rng.integers(0, n_days, max(1, n_days // 180)):
        weights[holiday : holiday + int(rng.integers(5, 15))] *= 0.1
    return weights


def _session_starts(rng: np.random.Generator, n: int, start: date, end: date) -> np.ndarray:
    """``n`` session start times, epoch milliseconds, following the daily and weekly rhythm."""
    n_days = (end - start).days + 1
    day = _draw(rng, _day_weights(rng, start, n_days), n)
    weekend = (start.weekday() + day) % 7 >= 5
    hour = np.where(weekend, _draw(rng, _WEEKEND_HOURS, n), _draw(rng, _WEEKDAY_HOURS, n))
    epoch_day = (start - date(1970, 1, 1)).days + day
    return epoch_day * _MS_PER_DAY + hour * 3_600_000 + rng.integers(0, 3_600_000, n)


def _year_fraction(ms: np.ndarray, start: date, end: date) -> np.ndarray:
    first = (start - date(1970, 1, 1)).days * _MS_PER_DAY
    span = ((end - start).days + 1) * _MS_PER_DAY
    return np.clip((ms - first) / span, 0.0, 1.0)


def _platforms(rng: np.random.Generator, fraction: np.ndarray) -> np.ndarray:
    """Platform index per session; shares move from ``share_start`` to ``share_end`` over the history."""
    table = catalog_csv("platforms")
    lo, hi = table["share_start"].to_numpy(), table["share_end"].to_numpy()
    cdf = np.cumsum(lo[None, :] + (hi - lo)[None, :] * fraction[:, None], axis=1)
    u = rng.random(len(fraction)) * cdf[:, -1]
    return (u[:, None] >= cdf).sum(axis=1).clip(0, len(lo) - 1)


def _reason_table(role: str) -> tuple[list[str], np.ndarray]:
    table = catalog_csv("reasons").filter(pl.col("role") == role)
    return table["reason"].to_list(), table["weight"].to_numpy()


# --------------------------------------------------------------------------- plays


def _session_lengths(rng: np.random.Generator, n_plays: int) -> np.ndarray:
    lengths = np.empty(0, dtype=np.int64)
    while lengths.sum() < n_plays:
        more = rng.geometric(1.0 / MEAN_SESSION_PLAYS, n_plays // MEAN_SESSION_PLAYS + 16)
        lengths = np.concatenate([lengths, more])
    ends = np.cumsum(lengths)
    last = int(np.searchsorted(ends, n_plays))
    lengths = lengths[: last + 1].copy()
    lengths[-1] -= ends[last] - n_plays
    return lengths[lengths > 0]


def _choose_tracks(
    rng: np.random.Generator, session: np.ndarray, session_quarter: np.ndarray, tracks: pl.DataFrame
) -> np.ndarray:
    """Track index per play: Zipf over a per-quarter artist ranking, a focus artist per session."""
    artist_codes = tracks["artist_name"].rle_id().to_numpy()  # tracks are sorted by artist
    n_artists = int(artist_codes[-1]) + 1
    first_track = np.searchsorted(artist_codes, np.arange(n_artists))
    artist_tracks = np.diff(np.append(first_track, len(artist_codes)))

    n_quarters = int(session_quarter.max()) + 1
    core = np.log(artist_tracks) + rng.normal(0.0, 1.0, n_artists)
    scores = core[None, :] + rng.normal(0.0, 1.2, (n_quarters, n_artists))
    ranking = np.argsort(-scores, axis=1)  # ranking[q, r] = artist of rank r in quarter q
    zipf = 1.0 / np.power(np.arange(n_artists) + 2.0, 1.15)

    n_sessions = len(session_quarter)
    focus = ranking[session_quarter, _draw(rng, zipf, n_sessions)]
    artist = ranking[session_quarter[session], _draw(rng, zipf, len(session))]
    artist = np.where(rng.random(len(session)) < 0.3, focus[session], artist)
    within = np.floor(artist_tracks[artist] * rng.random(len(session)) ** 2.2).astype(np.int64)
    return first_track[artist] + within


def _ms_played(
    rng: np.random.Generator, duration: np.ndarray, vocabulary: list[str], end_code: np.ndarray
) -> np.ndarray:
    """Milliseconds played given how the play ended (``end_code`` indexes ``vocabulary``)."""
    n = len(duration)
    code = {reason: i for i, reason in enumerate(vocabulary)}
    skip_codes = [code[r] for r in SKIP_REASONS if r in code]
    finished = end_code == code["trackdone"]
    skipped = np.isin(end_code, skip_codes)

    partial = (duration * rng.uniform(0.03, 1.0, n)).astype(np.int64)
    ms = np.where(finished, duration - np.abs(rng.normal(0, 700, n)).astype(np.int64), partial)
    skip_ms = np.minimum(rng.lognormal(np.log(22_000), 0.9, n).astype(np.int64) + 500, duration - 1)
    ms = np.where(skipped, skip_ms, ms)
    instant = rng.random(n) < np.where(skipped, 0.09, np.where(finished, 0.0, 0.012))
    ms = np.where(instant, rng.integers(0, 500, n), ms)
    return np.maximum(ms, 0)


def _plays_arrays(
    rng: np.random.Generator, n_plays: int, start: date, end: date
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The listener model: the reason vocabulary and one array per column (codes into catalog tables).

    Rows come session by session, not in time order; ``-1`` marks an empty reason.
    """
    tracks = catalog_csv("tracks")
    lengths = _session_lengths(rng, n_plays)
    n_sessions = len(lengths)
    session = np.repeat(np.arange(n_sessions), lengths)
    first_row = np.cumsum(lengths) - lengths
    position = np.arange(n_plays) - first_row[session]
    is_first = position == 0
    is_last = position == lengths[session] - 1

    session_start = _session_starts(rng, n_sessions, start, end)
    fraction = _year_fraction(session_start, start, end)
    quarter = ((session_start // _MS_PER_DAY) - (start - date(1970, 1, 1)).days) // QUARTER_DAYS
    platform = _platforms(rng, fraction)
    shuffle = rng.random(n_sessions) < 0.35 + 0.3 * fraction

    track = _choose_tracks(rng, session, quarter, tracks)
    duration = tracks["duration_ms"].to_numpy()[track]

    # One vocabulary for reasons: every code of every role.
    begin_names, begin_w = _reason_table("session_start")
    mid_names, mid_w = _reason_table("track_end")
    last_names, last_w = _reason_table("session_end")
    vocabulary = list(dict.fromkeys(begin_names + mid_names + last_names))
    index = {reason: i for i, reason in enumerate(vocabulary)}
    mid_shuffled = mid_w * np.where(np.array(mid_names) == "fwdbtn", 1.5, 1.0)
    mid_codes = np.array([index[r] for r in mid_names])
    mid = np.where(
        shuffle[session], mid_codes[_draw(rng, mid_shuffled, n_plays)], mid_codes[_draw(rng, mid_w, n_plays)]
    )
    last = np.array([index[r] for r in last_names])[_draw(rng, last_w, n_plays)]
    end_code = np.where(is_last, last, mid)
    begin = np.array([index[r] for r in begin_names])[_draw(rng, begin_w, n_plays)]
    start_code = np.where(is_first, begin, np.roll(end_code, 1))
    # A track that failed to play is not logged; the play after it starts with ``trackerror``.
    after_error = ~is_first & (rng.random(n_plays) < AFTER_ERROR_SHARE)
    start_code = np.where(after_error, index["trackerror"], start_code)

    ms = _ms_played(rng, duration, vocabulary, end_code)
    pause = (rng.random(n_plays) < 0.02) * rng.integers(10_000, 600_000, n_plays)
    gap = rng.integers(0, 1_500, n_plays) + pause
    elapsed = np.cumsum(ms + gap)
    before_session = (elapsed - (ms + gap))[first_row]
    ts_ms = session_start[session] + elapsed - before_session[session]

    start_code = np.where(rng.random(n_plays) < 0.004, -1, start_code)
    end_code_out = np.where(rng.random(n_plays) < 0.002, -1, end_code)
    skip_set = np.array([index[r] for r in SKIP_REASONS if r in index])
    return vocabulary, {
        "ts_ms": ts_ms,
        "track": track,
        "platform": platform[session],
        "ms_played": ms,
        "reason_start": start_code,
        "reason_end": end_code_out,
        "shuffle": shuffle[session],
        "skipped": np.isin(end_code, skip_set),
    }


def _codes_to_text(codes: np.ndarray, labels: list[str]) -> pl.Series:
    """Small-vocabulary codes (``-1`` = missing) to a String series, via a gather (no per-row Python)."""
    idx = pl.Series(codes.astype(np.int64)).replace(-1, None)
    return pl.Series(labels, dtype=pl.String).gather(idx)


def _with_duplicates(
    arrays: dict[str, np.ndarray], rng: np.random.Generator, n_dup: int
) -> dict[str, np.ndarray]:
    """Add ``n_dup`` exact copies of distinct plays and order by ``ts`` (stable: copies sit together)."""
    n = len(arrays["ts_ms"])
    rows = np.concatenate([np.arange(n), rng.choice(n, size=n_dup, replace=False)])
    rows = rows[np.argsort(arrays["ts_ms"][rows] // 1000, kind="stable")]
    return {key: value[rows] for key, value in arrays.items()}


def generate_plays(
    rows: int, seed: int = 0, *, start: date = DEFAULT_START, end: date = DEFAULT_END
) -> pl.DataFrame:
    """One row per play, ``rows`` rows, with the Maven Analytics columns, ordered by ``ts``.

    ``spotify_track_uri`` is the bare 22-character id, ``ts`` the naive UTC end of the play;
    ``reason_start``/``reason_end`` may be null. See the module docstring for the listener model.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if rows == 0:
        return _empty_plays()
    rng = np.random.default_rng(seed)
    n_dup = round(rows * DUPLICATE_SHARE) if rows >= 20 else 0
    vocabulary, arrays = _plays_arrays(rng, rows - n_dup, start, end)
    return _plays_frame(vocabulary, _with_duplicates(arrays, rng, n_dup))


def _plays_frame(vocabulary: list[str], arrays: dict[str, np.ndarray]) -> pl.DataFrame:
    tracks = catalog_csv("tracks")
    platforms = catalog_csv("platforms")["platform"].to_list()
    picked = tracks.select("track_id", "track_name", "artist_name", "album_name")[arrays["track"]]
    return pl.DataFrame(
        {
            "spotify_track_uri": picked["track_id"],
            "ts": pl.Series(arrays["ts_ms"] // 1000 * 1000).cast(pl.Datetime("ms")),
            "platform": _codes_to_text(arrays["platform"], platforms),
            "ms_played": pl.Series(arrays["ms_played"], dtype=pl.Int64),
            "track_name": picked["track_name"],
            "artist_name": picked["artist_name"],
            "album_name": picked["album_name"],
            "reason_start": _codes_to_text(arrays["reason_start"], vocabulary),
            "reason_end": _codes_to_text(arrays["reason_end"], vocabulary),
            "shuffle": pl.Series(arrays["shuffle"], dtype=pl.Boolean),
            "skipped": pl.Series(arrays["skipped"], dtype=pl.Boolean),
        }
    )


def _empty_plays() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = dict.fromkeys(MAVEN_COLUMNS, pl.String())
    schema.update(ts=pl.Datetime("ms"), ms_played=pl.Int64(), shuffle=pl.Boolean(), skipped=pl.Boolean())
    return pl.DataFrame(schema=schema)


# --------------------------------------------------------------------------- Extended Streaming History


def _spoken_plays(rng: np.random.Generator, kind: str, n: int, start: date, end: date) -> pl.DataFrame:
    """Podcast-episode (``kind="episodes"``) or audiobook-chapter plays in Extended-history columns."""
    table = catalog_csv(kind)
    group = "show_name" if kind == "episodes" else "audiobook_title"
    groups = table[group].rle_id().to_numpy()
    n_groups = int(groups[-1]) + 1
    first = np.searchsorted(groups, np.arange(n_groups))
    size = np.diff(np.append(first, len(groups)))
    favourite = _draw(rng, 1.0 / np.arange(1, n_groups + 1) ** 1.3, n)
    item = first[favourite] + rng.integers(0, size[favourite])
    duration = table["duration_ms"].to_numpy()[item]
    whole = rng.random(n) < 0.4
    ms = np.where(whole, duration * rng.uniform(0.97, 1.0, n), duration * rng.uniform(0.02, 0.97, n))
    ms = np.where(rng.random(n) < 0.02, rng.integers(0, 500, n), ms).astype(np.int64)
    ts_ms = _session_starts(rng, n, start, end) + ms
    picked = table[item]
    platform = _codes_to_text(
        _platforms(rng, _year_fraction(ts_ms, start, end)), catalog_csv("platforms")["platform"].to_list()
    )
    how_started = _draw(rng, np.array([0.5, 0.3, 0.2]), n)
    how_ended = np.where(whole, 0, 1 + _draw(rng, np.array([0.7, 0.2, 0.1]), n))
    frame = pl.DataFrame(
        {
            "ts_ms": ts_ms,
            "platform": platform,
            "ms_played": ms,
            "reason_start": _codes_to_text(how_started, ["clickrow", "playbtn", "trackdone"]),
            "reason_end": _codes_to_text(how_ended, ["trackdone", "endplay", "logout", "unexpected-exit"]),
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
    year = ts_ms // (365 * _MS_PER_DAY)  # approximate calendar year: only picks an address
    # A home address per year, a mobile address that changes more often: documentation ranges only.
    mobile = rng.random(n) < 0.35
    host = np.where(mobile, 64 + (ts_ms // (45 * _MS_PER_DAY)) % 150, 2 + year % 60)
    net = np.where(mobile, "198.51.100.", "203.0.113.")
    ip = np.char.add(net.astype(str), host.astype(str))
    offline = (rng.random(n) < 0.04) & (records["platform"] == "android").to_numpy()
    started_ms = ts_ms - records["ms_played"].to_numpy()
    flavour = _draw(rng, np.array([0.45, 0.35, 0.15, 0.05]), n)  # null, seconds, ms, junk
    junk = rng.integers(0, 2, n)
    offline_ts = np.select([flavour == 1, flavour == 2], [started_ms // 1000, started_ms], junk)
    return records.with_columns(
        ts=pl.from_epoch(pl.col("ts_ms"), time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        conn_country=pl.Series(_COUNTRIES[_draw(rng, _COUNTRY_SHARE, n)], dtype=pl.String),
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
        archive.writestr(f"{ZIP_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf", PDF_PLACEHOLDER)
        for n in range(files):
            chunk = records.slice(n * per_file, per_file)
            years = _years(chunk) if chunk.height else "empty"
            archive.writestr(f"{ZIP_FOLDER}/Streaming_History_Audio_{years}_{n}.json", json_array(chunk))
        archive.writestr(f"{ZIP_FOLDER}/Streaming_History_Video_{_years(video)}.json", json_array(video))
    return path


PDF_PLACEHOLDER = (
    b"%PDF-1.4\n% Placeholder for Spotify's ReadMeFirst document: not listening history.\n"
    b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
