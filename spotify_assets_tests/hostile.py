"""Handwritten hostile history files, with what the platform must make of every row.

The CSV carries every quirk real exports have (UTF-8 BOM, CRLF, quoted commas and quotes, a newline
inside a quoted name, emoji and CJK, a trailing blank line) and one row per reject reason.
"""

from __future__ import annotations

import json
from pathlib import Path

HEADER = "spotify_track_uri,ts,platform,ms_played,track_name,artist_name,album_name,reason_start,reason_end,shuffle,skipped"
TRACK_A = "3ZzlzIJ5iH3WXCP6bX8Vp5"
TRACK_B = "49x8Zp5wDjoquBE1THLLCV"
TRACK_C = "6t1ahr2f1t9iSjjNFwFb4C"

# (physical line, CSV text, verdict, reject reason): one row a line, kept unwrapped on purpose
# fmt: off
CSV_ROWS = [
    (2, f'{TRACK_A},2019-09-20 14:40:30,android,74465,"Classy, ""Girls""",Post Malone,"Goodbyes, Vol. 1",fwdbtn,endplay,FALSE,FALSE', "clean", None),
    (3, f'{TRACK_B},2016-01-08 09:46:38,iOS,19050,Sweet Disposition,De Hofnar,"Zonne\r\nstraal",trackdone,fwdbtn,TRUE,TRUE', "clean", None),
    (5, f"{TRACK_C},2020-02-29 23:59:59,windows,201000,夜に駆ける 🎵,YOASOBI,THE BOOK,clickrow,trackdone,false,false", "clean", None),
    (6, f"{TRACK_C},2020-03-01 00:10:00,windows,300,夜に駆ける 🎵,YOASOBI,THE BOOK,clickrow,fwdbtn,false,true", "filtered", None),
    (7, f'{TRACK_A},2019-09-20 14:40:30,android,74465,"Classy, ""Girls""",Post Malone,"Goodbyes, Vol. 1",fwdbtn,endplay,FALSE,FALSE', "duplicate", None),
    (8, f"{TRACK_A},yesterday,android,1000,Classy Girls,Post Malone,Goodbyes,fwdbtn,endplay,FALSE,FALSE", "rejected", "bad_timestamp"),
    (9, f"{TRACK_A},2019-09-21 14:40:30,android,12.5,Classy Girls,Post Malone,Goodbyes,fwdbtn,endplay,FALSE,FALSE", "rejected", "ms_played_not_integer"),
    (10, f"{TRACK_A},2019-09-22 14:40:30,android,-5,Classy Girls,Post Malone,Goodbyes,fwdbtn,endplay,FALSE,FALSE", "rejected", "ms_played_negative"),
    (11, ",2019-09-23 14:40:30,android,1000,Classy Girls,Post Malone,Goodbyes,fwdbtn,endplay,FALSE,FALSE", "rejected", "missing_content_id"),
    (12, "spotify:track:short,2019-09-24 14:40:30,android,1000,Classy Girls,Post Malone,Goodbyes,fwdbtn,endplay,FALSE,FALSE", "rejected", "malformed_content_id"),
    (13, f"{TRACK_A},2019-09-25 14:40:30,android,1000,Classy Girls,Post Malone,Goodbyes,fwdbtn,endplay,maybe,FALSE", "rejected", "bad_boolean"),
    (14, f"{TRACK_A},2019-09-26 14:40:30,android,1000", "rejected", "wrong_column_count"),
    (15, f"{TRACK_A},2019-09-27 14:40:30,android,1000,Classy Girls,Post Malone,Goodbyes,fwdbtn,endplay,FALSE,FALSE,extra", "rejected", "wrong_column_count"),
    (16, f"spotify:track:{TRACK_B},2021-06-01 08:00:00,cast to device,180000,Sweet Disposition,De Hofnar,Zonnestraal,,,True,False", "clean", None),
    (17, f"{TRACK_C},2021-06-01 09:00:00,Web Player (Chrome),1500,夜に駆ける 🎵,YOASOBI,THE BOOK,playbtn,logout,true,false", "clean", None),
]
# fmt: on
EXPECTED_CSV = {"rows_read": 15, "clean": 5, "filtered": 1, "duplicate": 1, "rejected": 8}


def write_hostile_csv(path: Path) -> Path:
    body = "\r\n".join([HEADER, *(text for _, text, _, _ in CSV_ROWS)]) + "\r\n\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    return path


def _record(**fields) -> dict:
    base = {
        "ts": "2022-05-01T10:00:00Z",
        "username": "listener",
        "platform": "Android OS 12 API 31 (Google, Pixel 6)",
        "ms_played": 200000,
        "conn_country": "DE",
        "ip_addr": "203.0.113.7",
        "user_agent_decrypted": "unknown",
        "master_metadata_track_name": None,
        "master_metadata_album_artist_name": None,
        "master_metadata_album_album_name": None,
        "spotify_track_uri": None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "audiobook_title": None,
        "audiobook_uri": None,
        "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": None,
        "offline": False,
        "offline_timestamp": 1651399200,
        "incognito_mode": False,
    }
    return base | fields


JSON_RECORDS = [
    _record(
        master_metadata_track_name="Sweet Disposition",
        master_metadata_album_artist_name="De Hofnar",
        master_metadata_album_album_name="Zonnestraal",
        spotify_track_uri=f"spotify:track:{TRACK_B}",
    ),
    _record(
        ts="2022-05-01T11:00:00Z",
        episode_name="Episode 1: «Naïve» beginnings",
        episode_show_name="The Show",
        spotify_episode_uri="spotify:episode:0Zrgl3gAZCvkBP3Iyc9vHh",
        offline_timestamp="junk",
    ),
    _record(
        ts="2022-05-01T12:00:00Z",
        audiobook_title="Dune",
        audiobook_uri="spotify:audiobook:7iHfbu1YPACw6oZPAFJtqe",
        audiobook_chapter_uri="spotify:chapter:1v5ZcJcWbc6cyzm1xSvO2b",
        audiobook_chapter_title="Chapter 1",
        offline_timestamp=1651406400000,
    ),
    _record(ts="2022-05-01T13:00:00Z", ms_played="lots", spotify_track_uri=f"spotify:track:{TRACK_C}"),
    # the same play as CSV line 2, written the Extended way: a duplicate across files
    _record(
        ts="2019-09-20T14:40:30Z",
        platform="android",
        ms_played=74465,
        spotify_track_uri=f"spotify:track:{TRACK_A}",
        master_metadata_track_name='Classy, "Girls"',
        master_metadata_album_artist_name="Post Malone",
        master_metadata_album_album_name="Goodbyes, Vol. 1",
        reason_start="fwdbtn",
        reason_end="endplay",
        skipped=False,
    ),
]
# verdicts in record order; the last record is a duplicate only once the CSV has been ingested
JSON_VERDICTS = ["clean", "clean", "clean", "rejected", "clean"]
JSON_CONTENT_TYPES = {"track": 2, "episode": 1, "audiobook": 1}
NEVER_STORED = ("203.0.113.7", "listener", "user_agent")


def write_hostile_json(path: Path) -> Path:
    path.write_text(json.dumps(JSON_RECORDS, ensure_ascii=False), encoding="utf-8")
    return path
