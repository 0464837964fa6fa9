"""The bare DuckDB script issue 12 measures the platform against: the same transform work on one
Maven CSV, with no orchestration, no lake format, no accounting of where rows went.

Reads the CSV as text, keeps a copy of it (raw, Parquet), classifies every row (the same reject
reasons in the same order), drops plays under 500 ms, keeps each play once (the same play key
parts), builds the dimensions from distinct members (keys hashed once per member) and the fact,
and writes clean plays, dimensions and fact as Parquet. Prints one JSON line: seconds and rows.

    python bench/duckdb_baseline.py history.csv OUT_FOLDER
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

SQL = r"""
CREATE TEMP TABLE raw AS
SELECT row_number() OVER () + 1 AS source_line, *
FROM read_csv('{csv}', all_varchar = true, header = true, quote = '"', escape = '"', strict_mode = false,
              null_padding = true);
COPY raw TO '{out}/raw_plays.parquet' (FORMAT parquet);

CREATE TEMP TABLE typed AS
SELECT source_line,
       try_strptime(trim(ts), '%Y-%m-%d %H:%M:%S') AS ts_utc,
       CASE WHEN regexp_full_match(trim(ms_played), '-?[0-9]+')
            THEN try_cast(trim(ms_played) AS BIGINT) END AS ms,
       regexp_extract(trim(spotify_track_uri), '^(?:spotify:track:)?([0-9A-Za-z]{{22}})$', 1) AS content_id,
       nullif(trim(spotify_track_uri), '') AS uri,
       coalesce(nullif(trim(track_name), ''), '(unknown title)') AS track_name,
       coalesce(nullif(trim(artist_name), ''), '(unknown artist)') AS artist_name,
       coalesce(nullif(trim(album_name), ''), '(unknown album)') AS album_name,
       coalesce(nullif(trim(platform), ''), 'unknown') AS platform,
       coalesce(lower(nullif(trim(reason_start), '')), 'unknown') AS reason_start,
       coalesce(lower(nullif(trim(reason_end), '')), 'unknown') AS reason_end,
       CASE lower(trim(shuffle)) WHEN 'true' THEN true WHEN 'false' THEN false END AS shuffle,
       CASE lower(trim(skipped)) WHEN 'true' THEN true WHEN 'false' THEN false END AS skipped,
       shuffle AS shuffle_text, skipped AS skipped_text
FROM raw;

CREATE TEMP TABLE verdicts AS
SELECT *, CASE
    WHEN ts_utc IS NULL THEN 'bad_timestamp'
    WHEN ms IS NULL THEN 'ms_played_not_integer'
    WHEN ms < 0 THEN 'ms_played_negative'
    WHEN uri IS NULL THEN 'missing_content_id'
    WHEN content_id = '' THEN 'malformed_content_id'
    WHEN (nullif(trim(shuffle_text), '') IS NOT NULL AND shuffle IS NULL)
      OR (nullif(trim(skipped_text), '') IS NOT NULL AND skipped IS NULL) THEN 'bad_boolean'
  END AS reject_reason
FROM typed;

CREATE TEMP TABLE candidates AS
SELECT *, hash(epoch_us(ts_utc), 'track', content_id, ms, lower(platform), reason_start, reason_end,
               coalesce(shuffle, false), coalesce(skipped, false)) AS play_key
FROM verdicts WHERE reject_reason IS NULL AND ms >= 500;

CREATE TEMP TABLE clean AS
SELECT * EXCLUDE (rank) FROM (
  SELECT *, row_number() OVER (PARTITION BY play_key ORDER BY source_line) AS rank FROM candidates
) WHERE rank = 1;
COPY (SELECT * EXCLUDE (shuffle_text, skipped_text, uri) FROM clean)
  TO '{out}/clean_plays.parquet' (FORMAT parquet);
COPY (SELECT source_line, reject_reason FROM verdicts WHERE reject_reason IS NOT NULL)
  TO '{out}/rejected_plays.parquet' (FORMAT parquet);

CREATE TEMP TABLE members AS
SELECT content_id, track_name, artist_name, album_name, min(ts_utc) AS first_ts, max(ts_utc) AS last_ts,
       count(*) AS plays,
       hash('track', content_id) AS track_key, hash(lower(trim(nfc_normalize(artist_name)))) AS artist_key,
       hash(lower(trim(nfc_normalize(album_name))), lower(trim(nfc_normalize(artist_name)))) AS album_key
FROM clean GROUP BY ALL;
COPY (SELECT artist_key, arg_max(artist_name, last_ts) AS artist_name FROM members GROUP BY ALL)
  TO '{out}/dim_artist.parquet' (FORMAT parquet);
COPY (SELECT album_key, arg_max(album_name, last_ts) AS album_name, min(artist_key) AS artist_key,
             min(content_id) AS sample_track_id FROM members GROUP BY ALL)
  TO '{out}/dim_album.parquet' (FORMAT parquet);
COPY (SELECT track_key, min(content_id) AS track_id, arg_max(track_name, last_ts) AS track_name,
             arg_max(artist_key, last_ts) AS artist_key, arg_max(album_key, last_ts) AS album_key
      FROM members GROUP BY ALL) TO '{out}/dim_track.parquet' (FORMAT parquet);
COPY (SELECT DISTINCT hash(lower(trim(platform))) AS platform_key, platform FROM clean)
  TO '{out}/dim_platform.parquet' (FORMAT parquet);
COPY (SELECT DISTINCT hash(reason_start, reason_end) AS reason_key, reason_start, reason_end FROM clean)
  TO '{out}/dim_reason.parquet' (FORMAT parquet);
COPY (SELECT d::DATE AS date, year(d) * 10000 + month(d) * 100 + day(d) AS date_key
      FROM range((SELECT min(first_ts)::DATE FROM members), (SELECT max(last_ts)::DATE FROM members) + 1,
                 INTERVAL 1 DAY) t(d))
  TO '{out}/dim_date.parquet' (FORMAT parquet);
COPY (
  SELECT c.play_key, c.ts_utc, year(c.ts_utc) * 10000 + month(c.ts_utc) * 100 + day(c.ts_utc) AS date_key,
         hour(c.ts_utc) AS hour, m.track_key, m.artist_key, m.album_key,
         hash(lower(trim(c.platform))) AS platform_key, hash(c.reason_start, c.reason_end) AS reason_key,
         c.ms AS ms_played, c.shuffle, c.skipped
  FROM clean c JOIN members m USING (content_id, track_name, artist_name, album_name)
) TO '{out}/fact_streams.parquet' (FORMAT parquet);
"""


def main(csv: str, out: str) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(SQL.format(csv=csv, out=out))
    fact = connection.execute(f"SELECT count(*) FROM '{out}/fact_streams.parquet'").fetchone()[0]
    print(json.dumps({"seconds": round(time.perf_counter() - started, 2), "fact_rows": fact}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
