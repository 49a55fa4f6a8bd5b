from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kgc_launch.atomic import write_atomic


def test_writes_the_whole_file_with_its_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "effective-config.json"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, '{"new": true}\n', mode=0o600)
    assert target.read_text(encoding="utf-8") == '{"new": true}\n'
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["effective-config.json"]


def test_a_failed_rename_keeps_the_old_content_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "decisions.json"
    target.write_bytes(b"old")

    def refuse(source: str, destination: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["decisions.json"]


def test_temporaries_of_concurrent_writers_do_not_collide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = iter([b"\x00" * 6, b"\x00" * 6, b"\x01" * 6])  # the first name is taken: the writer draws again
    monkeypatch.setattr(os, "urandom", lambda n: next(names))
    (tmp_path / f".out.{'00' * 6}.tmp").write_bytes(b"another writer's")
    write_atomic(tmp_path / "out", b"mine")
    assert (tmp_path / "out").read_bytes() == b"mine"
    assert (tmp_path / f".out.{'00' * 6}.tmp").read_bytes() == b"another writer's"
