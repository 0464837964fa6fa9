"""The BI views over the star schema: one dialect-neutral SELECT each.

LEFT JOINs in `v_streams`, so its totals always equal the fact's. Minutes are
ROUND(SUM(ms_played) / 60000.0, 1), as the listening report computes them. A listen is a play the
listen rule counts (SPOTIFY_LISTEN_RULE, see transforms/listens.py); the rule is part of the SQL,
so changing the setting recreates the views on the next publish.
"""

from __future__ import annotations

from ...transforms.listens import ListenRule, parse_listen_rule

MINUTES = "ROUND(SUM(f.ms_played) / 60000.0, 1)"
# an artist's content type: `track`, `episode` or `audiobook` when all its plays are one, else `mixed`
ONE_CONTENT_TYPE = (
    "CASE WHEN MIN(f.content_type) = MAX(f.content_type) THEN MIN(f.content_type) ELSE 'mixed' END"
)


def bi_views(rule: ListenRule) -> dict[str, str]:
    """Every view's SELECT, with `rule` deciding which plays count as listens (transforms/listens.py)."""
    is_listen = rule.sql("f.ms_played", "t.duration_ms")
    listens = f"SUM(CASE WHEN {is_listen} THEN 1 ELSE 0 END)"
    return {
        "v_streams": f"""
SELECT f.play_key, f.ts_utc AS played_at_utc, d.date AS local_date, f.hour AS local_hour,
       d.year, d.quarter, d.month, d.month_name, d.weekday, d.weekday_name, d.is_weekend,
       f.content_type, t.track_name, t.track_uri, a.artist_name, al.album_name,
       p.platform, p.platform_family, r.reason_start, r.reason_end,
       f.ms_played, f.ms_played / 60000.0 AS minutes_played, {is_listen} AS is_listen,
       t.recording_key, t.isrc, t.release_date,
       f.shuffle, f.skipped, f.offline, f.incognito_mode, f.source_file, f.source_format
FROM fact_streams f
LEFT JOIN dim_date d ON d.date_key = f.date_key
LEFT JOIN dim_track t ON t.track_key = f.track_key
LEFT JOIN dim_artist a ON a.artist_key = f.artist_key
LEFT JOIN dim_album al ON al.album_key = f.album_key
LEFT JOIN dim_platform p ON p.platform_key = f.platform_key
LEFT JOIN dim_reason r ON r.reason_key = f.reason_key""",
        "v_minutes_by_month": f"""
SELECT d.year, d.month, d.month_name, d.year * 100 + d.month AS month_key,
       COUNT(*) AS plays, {MINUTES} AS minutes_played
FROM fact_streams f
JOIN dim_date d ON d.date_key = f.date_key
GROUP BY d.year, d.month, d.month_name""",
        "v_top_artists": f"""
SELECT RANK() OVER (ORDER BY SUM(f.ms_played) DESC) AS artist_rank,
       a.artist_key, a.artist_name, COUNT(*) AS plays, {listens} AS listens, {MINUTES} AS minutes_played,
       MIN(f.ts_utc) AS first_played_utc, MAX(f.ts_utc) AS last_played_utc,
       {ONE_CONTENT_TYPE} AS content_type,
       RANK() OVER (ORDER BY {listens} DESC, SUM(f.ms_played) DESC) AS listen_rank
FROM fact_streams f
JOIN dim_artist a ON a.artist_key = f.artist_key
LEFT JOIN dim_track t ON t.track_key = f.track_key
GROUP BY a.artist_key, a.artist_name""",
        "v_top_recordings": f"""
SELECT RANK() OVER (ORDER BY {listens} DESC, SUM(f.ms_played) DESC) AS recording_rank,
       rec.recording_key, rec.recording_name, a.artist_name, rec.isrc, rec.track_ids,
       COUNT(*) AS plays, {listens} AS listens, {MINUTES} AS minutes_played, rec.content_type
FROM fact_streams f
JOIN dim_track t ON t.track_key = f.track_key
JOIN dim_recording rec ON rec.recording_key = t.recording_key
LEFT JOIN dim_artist a ON a.artist_key = rec.artist_key
GROUP BY rec.recording_key, rec.recording_name, a.artist_name, rec.isrc, rec.track_ids, rec.content_type""",
        "v_listening_by_weekday_hour": f"""
SELECT d.weekday, d.weekday_name, f.hour AS local_hour,
       COUNT(*) AS plays, {MINUTES} AS minutes_played
FROM fact_streams f
JOIN dim_date d ON d.date_key = f.date_key
GROUP BY d.weekday, d.weekday_name, f.hour""",
    }


BI_VIEWS: dict[str, str] = bi_views(parse_listen_rule(None))  # the views' names; SQL under the default rule

VIEW_DESCRIPTIONS: dict[str, str] = {
    "v_streams": "One row per play: the fact joined to every dimension, with readable column names.",
    "v_minutes_by_month": "One row per calendar month (local time): plays and minutes played.",
    "v_top_artists": "One row per artist (or podcast show, audiobook author: see content_type), ranked "
    "by minutes played (artist_rank) and by listens, then minutes (listen_rank: the report's order for "
    "music, where content_type = 'track'), with its plays and listens.",
    "v_top_recordings": "One row per recording (the track ids of one ISRC merged), ranked by listens "
    "(SPOTIFY_LISTEN_RULE), then minutes played; content_type 'track' for music.",
    "v_listening_by_weekday_hour": "One row per weekday and local hour: plays and minutes played.",
}

# Tables the views read: a view is (re)created after them.
VIEW_TABLES = (
    "fact_streams",
    "dim_date",
    "dim_track",
    "dim_artist",
    "dim_album",
    "dim_platform",
    "dim_reason",
    "dim_recording",
)
