"""`atomic_write.write_atomically`: the whole new file or the old one, never a part, and no leftover."""

import stat

import pytest

from spotify_assets.atomic_write import write_atomically


def test_a_write_replaces_the_file_whole_with_a_plain_files_mode(tmp_path):
    path = tmp_path / "new" / "state.json"
    assert write_atomically(path, b"first") == path
    write_atomically(path, b"second")
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [entry.name for entry in path.parent.iterdir()] == ["state.json"]


def test_a_failed_rename_keeps_what_was_there_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_bytes(b"old")
    with pytest.raises(OSError):
        write_atomically(target, b"new")  # a directory cannot be replaced by a file
    assert (target / "inside").read_bytes() == b"old"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["taken"]
