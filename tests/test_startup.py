from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from kgc_launch import startup


def _define(module_name: str) -> type:
    """A frozen slotted dataclass defined in a fresh module named `module_name`."""
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module
    try:
        source = (
            "from dataclasses import dataclass, field\n"
            "@dataclass(frozen=True, slots=True)\n"
            "class Point:\n"
            "    x: int\n"
            "    y: int = 2\n"
            "    tags: tuple[str, ...] = field(default_factory=tuple)\n"
        )
        exec(compile(source, f"<{module_name}>", "exec"), module.__dict__)
        return module.Point  # type: ignore[no-any-return]
    finally:
        del sys.modules[module_name]


def _served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> startup._DataclassCode:
    codes = startup._DataclassCode(tmp_path / "code.bin")
    monkeypatch.setattr(dataclasses, "exec", codes.exec, raising=False)
    return codes


def test_records_from_cached_code_behave_as_compiled_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _define("kgc_launch._test_plain")
    codes = _served(tmp_path, monkeypatch)
    first = _define("kgc_launch._test_first")  # compiles and keeps the code
    assert codes.new and codes.codes
    codes.save()
    again = startup._DataclassCode(tmp_path / "code.bin")
    assert again.codes.keys() == codes.codes.keys()
    monkeypatch.setattr(dataclasses, "exec", again.exec, raising=False)
    cached = _define("kgc_launch._test_cached")  # every method from the file: nothing compiled
    assert not again.new and again.used == set(again.codes)
    for cls in (plain, first, cached):
        point = cls(1, tags=("a",))
        assert (repr(point), point == cls(1, 2, ("a",)), hash(point) == hash(cls(1, 2, ("a",)))) == (
            "Point(x=1, y=2, tags=('a',))",
            True,
            True,
        )
        with pytest.raises(dataclasses.FrozenInstanceError):
            point.x = 3  # type: ignore[misc]
        assert cls.__slots__ == ("x", "y", "tags")


def test_other_packages_classes_are_compiled_as_usual(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _served(tmp_path, monkeypatch)
    _define("someone_else")
    assert codes.codes == {} and not codes.new


def test_a_file_others_can_write_or_a_damaged_file_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _served(tmp_path, monkeypatch)
    _define("kgc_launch._test_shared")
    codes.save()
    path = tmp_path / "code.bin"
    assert (os.stat(path).st_mode & 0o777) == 0o600
    os.chmod(path, 0o666)
    assert startup._DataclassCode(path).codes == {}
    os.chmod(path, 0o600)
    path.write_bytes(b"\x00not marshal")
    assert startup._DataclassCode(path).codes == {}
    path.write_bytes(marshal.dumps(["not", "a", "dict"]))
    assert startup._DataclassCode(path).codes == {}


def test_the_entry_point_keeps_the_code_and_a_second_start_compiles_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "kgc_launch", "--dry-run", "--hardware", "H100", "vllm", "serve", "Qwen/Qwen3-8B"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (kept,) = (tmp_path / "cache" / "kgc-launch").glob("dataclass-code-*.bin")
    before = (kept.stat().st_mtime_ns, kept.read_bytes())
    assert len(marshal.loads(before[1])) > 100  # the launch's records
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (kept.stat().st_mtime_ns, kept.read_bytes()) == before  # nothing new: not rewritten


def test_a_damaged_entry_is_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _served(tmp_path, monkeypatch)
    _define("kgc_launch._test_damaged")
    codes.codes = dict.fromkeys(codes.codes, "print('not a code object')")  # what a damaged file could hold
    point = _define("kgc_launch._test_damaged_again")(1)
    assert repr(point) == "Point(x=1, y=2, tags=())"
