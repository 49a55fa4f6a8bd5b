from __future__ import annotations

import json
import marshal
from pathlib import Path

import pytest

from kgc_launch import filecache


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test count as settled (their ctime is now, whatever their mtime says)."""
    monkeypatch.setattr(filecache, "RACY_WINDOW_NS", 0)


def _old_file(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _copies(environ: dict[str, str]) -> list[Path]:
    return sorted((Path(environ["XDG_CACHE_HOME"]) / "kgc-launch").glob("json-*.marshal"))


@pytest.mark.usefixtures("settled")
def test_a_settled_file_is_copied_and_the_copy_is_what_is_read(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = _old_file(tmp_path / "options.json", {"a": [1, 2.5, None, True], "b": {"c": "d"}})
    assert filecache.load_json(path, environ) == {"a": [1, 2.5, None, True], "b": {"c": "d"}}
    (copy,) = _copies(environ)
    # The copy, not the file, answers while the file is unchanged: a copy holding other data is what is read.
    stamp, key, _ = marshal.loads(copy.read_bytes())
    copy.write_bytes(marshal.dumps((stamp, key, {"from": "the copy"})))
    assert filecache.load_json(path, environ) == {"from": "the copy"}


@pytest.mark.usefixtures("settled")
def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = _old_file(tmp_path / "rules.json", {"version": 1})
    assert filecache.load_json(path, environ) == {"version": 1}
    _old_file(path, {"version": 2, "longer": True})
    assert filecache.load_json(path, environ) == {"version": 2, "longer": True}


def test_a_file_changed_within_the_racy_window_is_not_copied(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = tmp_path / "fresh.json"
    path.write_text('{"fresh": true}', encoding="utf-8")
    assert filecache.load_json(path, environ) == {"fresh": True}
    assert _copies(environ) == []


@pytest.mark.usefixtures("settled")
def test_a_damaged_copy_or_cache_dir_is_not_an_error(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = _old_file(tmp_path / "catalog.json", {"models": []})
    filecache.load_json(path, environ)
    (copy,) = _copies(environ)
    copy.write_bytes(b"\x00garbage")
    assert filecache.load_json(path, environ) == {"models": []}
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory would be", encoding="utf-8")
    assert filecache.load_json(path, {"XDG_CACHE_HOME": str(blocked)}) == {"models": []}


def test_bad_json_raises_as_json_would(tmp_path: Path) -> None:
    path = _old_file(tmp_path / "bad.json", {})
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError):
        filecache.load_json(path, {"XDG_CACHE_HOME": str(tmp_path / "cache")})
