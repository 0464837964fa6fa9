"""Memory stays bounded whatever a file declares: hostile ZIPs and oversized JSON are refused early."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from spotify_assets.transforms.parse import MAX_MEMBER_BYTES, NotAHistoryFile, archive, read_history
from spotify_assets.transforms.parse.common import size_text

from . import exports

MEMBER = "Spotify Extended Streaming History/Streaming_History_Audio_2024_0.json"
BEYOND_LIMIT = MAX_MEMBER_BYTES + (512 << 20)
LIMIT, BEYOND = size_text(MAX_MEMBER_BYTES), size_text(BEYOND_LIMIT)
# The read runs in a child process so that its peak RSS is its own.
READ_IN_CHILD = """
import json, re, sys
from pathlib import Path
from spotify_assets.transforms.parse import NotAHistoryFile, read_history
def kib(field):
    return int(re.search(field + r":\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from now: imports do not count
before = kib("VmRSS")
try:
    read_history(Path(sys.argv[1])).collect()
    error = None
except NotAHistoryFile as refused:
    error = str(refused)
print(json.dumps({"error": error, "grew_mib": (kib("VmHWM") - before) / 1024}))
"""
MEMORY_BOUND_MIB = 64


def read_in_child(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_zip_bomb_is_refused_from_its_declared_size_in_bounded_memory(tmp_path):
    path = exports.write_zip_bomb(tmp_path / "my_spotify_data.zip", MEMBER, BEYOND_LIMIT)
    assert path.stat().st_size < 4 << 20  # at most a few MB that inflate past the limit
    with zipfile.ZipFile(path) as handle:
        assert handle.infolist()[0].file_size == BEYOND_LIMIT
    outcome = read_in_child(path)
    assert outcome["error"] == (
        f"my_spotify_data.zip/{MEMBER}: declares {BEYOND} uncompressed, more than the {LIMIT} "
        "a history member "
        "may have (Spotify's are at most ~15 MB); the ZIP is not read"
    )
    assert outcome["grew_mib"] < MEMORY_BOUND_MIB


def test_a_zip_member_that_lies_about_its_size_stops_at_what_it_declared(tmp_path):
    path = exports.write_zip_bomb(tmp_path / "my_spotify_data.zip", MEMBER, BEYOND_LIMIT, declared_bytes=4096)
    outcome = read_in_child(path)
    assert outcome["error"].startswith(
        f"my_spotify_data.zip/{MEMBER}: cannot be unpacked (BadZipFile: Bad CRC-32"
    )
    assert outcome["error"].endswith("the ZIP is damaged, not read")
    assert outcome["grew_mib"] < MEMORY_BOUND_MIB


def test_unpacking_counts_the_bytes_it_produces_and_stops_at_the_limit(tmp_path, monkeypatch):
    path = exports.write_zip_bomb(tmp_path / "bomb.zip", MEMBER, 3 << 20)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 1 << 20)
    target = tmp_path / "member"
    with zipfile.ZipFile(path) as handle, pytest.raises(NotAHistoryFile, match=r"inflates past 1\.0 MiB"):
        archive.unpack(handle, handle.infolist()[0], target, f"bomb.zip/{MEMBER}")
    assert not target.exists()


def test_a_zip_whose_members_together_are_too_big_is_refused(tmp_path, monkeypatch):
    path = exports.write_account_data_zip(tmp_path / "my_spotify_data.zip")
    monkeypatch.setattr(archive, "MAX_ARCHIVE_BYTES", 1000)
    with pytest.raises(
        NotAHistoryFile, match=r"my_spotify_data.zip: its members declare .* more than the 1000 bytes"
    ):
        read_history(path)


def test_a_json_file_past_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "Streaming_History_Audio_2024_0.json"
    with path.open("wb") as handle:
        handle.write(b'[{"ts": "2024-01-01T00:00:00Z"}')
        handle.truncate(BEYOND_LIMIT)  # sparse: costs no disk
    outcome = read_in_child(path)
    assert outcome["error"] == (
        f"Streaming_History_Audio_2024_0.json: {BEYOND} of JSON, more than the {LIMIT} "
        "a history file may have; "
        "not read (Spotify's history files are at most ~15 MB each: use those)"
    )
    assert outcome["grew_mib"] < MEMORY_BOUND_MIB


def test_a_damaged_member_fails_the_whole_zip(tmp_path):
    path = exports.write_account_data_zip(tmp_path / "my_spotify_data.zip")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as handle:
        info = next(i for i in handle.infolist() if i.filename.endswith("StreamingHistory_music_0.json"))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 10 : start + 20] = bytes(10)  # corrupt the deflated data of a history member
    path.write_bytes(bytes(data))
    with pytest.raises(NotAHistoryFile, match=r"StreamingHistory_music_0.json: cannot be unpacked"):
        read_history(path)


def test_the_child_measure_sees_a_real_read(tmp_path):
    """Control for the bounds above: reading a 14 MB history does grow the child's peak RSS."""
    from spotify_assets import sample

    path = sample.write_extended_json(tmp_path / "Streaming_History_Audio_2024_0.json", 20_000, seed=1)
    outcome = read_in_child(path)
    assert outcome["error"] is None
    assert outcome["grew_mib"] > 8
