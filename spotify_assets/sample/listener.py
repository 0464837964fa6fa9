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

from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from ..transforms.parse import MAVEN_COLUMNS

CATALOG_DIR = Path(__file__).parent.parent / "catalog"  # spotify_assets/catalog

SKIP_REASONS = ("fwdbtn", "backbtn", "nextbtn")

DEFAULT_START = date(2017, 1, 1)
DEFAULT_END = date(2024, 12, 31)
DUPLICATE_SHARE = 0.005
MEAN_SESSION_PLAYS = 14
QUARTER_DAYS = 91
AFTER_ERROR_SHARE = 0.003

MS_PER_DAY = 86_400_000
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


def draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
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


def session_starts(rng: np.random.Generator, n: int, start: date, end: date) -> np.ndarray:
    """``n`` session start times, epoch milliseconds, following the daily and weekly rhythm."""
    n_days = (end - start).days + 1
    day = draw(rng, _day_weights(rng, start, n_days), n)
    weekend = (start.weekday() + day) % 7 >= 5
    hour = np.where(weekend, draw(rng, _WEEKEND_HOURS, n), draw(rng, _WEEKDAY_HOURS, n))
    epoch_day = (start - date(1970, 1, 1)).days + day
    return epoch_day * MS_PER_DAY + hour * 3_600_000 + rng.integers(0, 3_600_000, n)


def year_fraction(ms: np.ndarray, start: date, end: date) -> np.ndarray:
    first = (start - date(1970, 1, 1)).days * MS_PER_DAY
    span = ((end - start).days + 1) * MS_PER_DAY
    return np.clip((ms - first) / span, 0.0, 1.0)


def draw_platforms(rng: np.random.Generator, fraction: np.ndarray) -> np.ndarray:
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
    focus = ranking[session_quarter, draw(rng, zipf, n_sessions)]
    artist = ranking[session_quarter[session], draw(rng, zipf, len(session))]
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

    session_start = session_starts(rng, n_sessions, start, end)
    fraction = year_fraction(session_start, start, end)
    quarter = ((session_start // MS_PER_DAY) - (start - date(1970, 1, 1)).days) // QUARTER_DAYS
    platform = draw_platforms(rng, fraction)
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
        shuffle[session], mid_codes[draw(rng, mid_shuffled, n_plays)], mid_codes[draw(rng, mid_w, n_plays)]
    )
    last = np.array([index[r] for r in last_names])[draw(rng, last_w, n_plays)]
    end_code = np.where(is_last, last, mid)
    begin = np.array([index[r] for r in begin_names])[draw(rng, begin_w, n_plays)]
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


def codes_to_text(codes: np.ndarray, labels: list[str]) -> pl.Series:
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
            "platform": codes_to_text(arrays["platform"], platforms),
            "ms_played": pl.Series(arrays["ms_played"], dtype=pl.Int64),
            "track_name": picked["track_name"],
            "artist_name": picked["artist_name"],
            "album_name": picked["album_name"],
            "reason_start": codes_to_text(arrays["reason_start"], vocabulary),
            "reason_end": codes_to_text(arrays["reason_end"], vocabulary),
            "shuffle": pl.Series(arrays["shuffle"], dtype=pl.Boolean),
            "skipped": pl.Series(arrays["skipped"], dtype=pl.Boolean),
        }
    )


def _empty_plays() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = dict.fromkeys(MAVEN_COLUMNS, pl.String())
    schema.update(ts=pl.Datetime("ms"), ms_played=pl.Int64(), shuffle=pl.Boolean(), skipped=pl.Boolean())
    return pl.DataFrame(schema=schema)
