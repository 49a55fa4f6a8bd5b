from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kgc_launch import cli, filecache
from kgc_launch.errors import EXIT_INPUT, InputError
from kgc_launch.knowngood import cache, load
from kgc_launch.knowngood.load import load_registry
from testing.registry_files import SMALL_REGISTRY, write_registry

BOMB = (
    "models: &a ["
    + ",".join(["x"] * 9)
    + "]\n"
    + "".join(f"l{i}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(7))
)

BAD = {
    "malformed": ("schema: known_good_config_v1\nmodels:\n  - model: a\n    required_flags: [\n", "invalid YAML", 5),
    "wrong type": (SMALL_REGISTRY.replace("    slug: hybrid-80b\n", "    slug: [a, b]\n"), "expected text", 8),
    "models not a list": ("schema: known_good_config_v1\nmodels:\n  a: 1\n", "expected a list", 2),
    "empty": ("", "empty", None),
    "unknown severity": (SMALL_REGISTRY.replace("severity: perf", "severity: blocker"), "unknown severity", 19),
    "regex does not compile": (
        SMALL_REGISTRY.replace("        severity: perf\n", "        severity: perf\n        match: '(open'\n"),
        "does not compile",
        20,
    ),
    "catastrophic regex": (
        SMALL_REGISTRY.replace("        severity: perf\n", "        severity: perf\n        match: '(a+)+$'\n"),
        "dangerous regex",
        20,
    ),
    "alias bomb": (BOMB, "alias bomb", None),
    "unknown key": (
        SMALL_REGISTRY.replace("    slug: hybrid-80b\n", "    slugg: hybrid-80b\n"),
        "unknown key 'slugg'",
        8,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_registry_is_one_located_error_and_exit_3(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, message, line = BAD[case]
    path = write_registry(tmp_path, text)
    before = path.read_bytes()
    assert cli.main(["list", "--registry", str(path)]) == EXIT_INPUT
    err = capsys.readouterr().err
    first = next(line for line in err.splitlines() if not line.startswith("kgc-launch: settings not on"))
    assert message in first
    assert first.startswith(f"kgc-launch: error: {path}:{line}:" if line else f"kgc-launch: error: {path}")
    assert "Traceback" not in err
    assert path.read_bytes() == before
    assert not list(Path(os.environ["XDG_CACHE_HOME"]).glob("**/registry-*"))  # nothing cached either


def test_bytes_that_are_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(b"schema: known_good_config_v1\nmodels:\n  - model: caf\xe9\n")
    assert cli.main(["list", "--registry", str(path)]) == EXIT_INPUT
    assert f"{path}:3: not UTF-8" in capsys.readouterr().err


def test_a_huge_file_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(load, "REGISTRY_MAX_BYTES", 1000)
    path = write_registry(tmp_path, SMALL_REGISTRY + "#" * 1000 + "\n")
    assert cli.main(["list", "--registry", str(path)]) == EXIT_INPUT
    assert "larger than 1000 bytes" in capsys.readouterr().err


def test_a_directory_or_an_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["list", "--registry", str(tmp_path)]) == EXIT_INPUT
    assert "is a directory" in capsys.readouterr().err
    assert cli.main(["list", "--registry", str(tmp_path / "missing.yaml")]) == EXIT_INPUT
    assert "no such registry" in capsys.readouterr().err
    path = write_registry(tmp_path)

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    assert cli.main(["list", "--registry", str(path)]) == EXIT_INPUT
    assert "permission denied" in capsys.readouterr().err


def test_several_problems_name_the_first_and_count_the_rest(tmp_path: Path) -> None:
    text = SMALL_REGISTRY.replace("severity: perf", "severity: blocker").replace("slug: hybrid-80b", "slug: [x]")
    with pytest.raises(InputError) as error:
        load_registry(write_registry(tmp_path, text))
    assert error.value.line == 8 and "1 more problem" in str(error.value.hint)


def test_the_second_load_comes_from_the_cache_without_yaml(tmp_path: Path) -> None:
    path = write_registry(tmp_path)
    script = (
        "import sys; from kgc_launch.knowngood.load import load_registry; "
        f"r = load_registry({str(path)!r}); print(len(r), 'ruamel' in ' '.join(sys.modules), "
        "r.find(['org/hybrid-80b-fp8'], 'vllm').entry.model)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert first.stdout.split() == ["2", "True", "Org/Hybrid-80B"]
    assert second.stdout.split() == ["2", "False", "Org/Hybrid-80B"]


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    path = write_registry(tmp_path)
    assert load_registry(path).find(["Org/Dense-8B"], "ferrum") is not None
    path.write_text(SMALL_REGISTRY.replace("Org/Dense-8B", "Org/Dense-9B"), encoding="utf-8")
    registry = load_registry(path)
    assert registry.find(["Org/Dense-8B"], "ferrum") is None
    assert registry.find(["org/dense-9b"], "ferrum") is not None


def test_a_same_size_same_metadata_change_is_caught_by_the_digest(tmp_path: Path) -> None:
    # A filesystem with coarse timestamps can show identical metadata for two versions of a file written
    # within one tick: a freshly written file's cache entry carries a digest of the bytes it was read from.
    path = write_registry(tmp_path)
    cache_dir = tmp_path / "cache"
    load_registry(path, cache_dir=cache_dir)
    key = filecache.stat_key(path)
    assert key is not None and cache.read_cache(key, cache_dir) is not None
    path.write_text(SMALL_REGISTRY.replace("Org/Dense-8B", "Org/Dense-9B"), encoding="utf-8")
    assert cache.read_cache(key, cache_dir) is None


def test_a_cache_that_cannot_be_used_is_not_an_error(tmp_path: Path) -> None:
    path = write_registry(tmp_path)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert len(load_registry(path, cache_dir=not_a_dir)) == 2
    cache_dir = tmp_path / "cache"
    load_registry(path, cache_dir=cache_dir)
    files = sorted(cache_dir.iterdir())
    assert [f.suffix for f in files] == [".data", ".index"]
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    for broken in files:
        good = broken.read_bytes()
        broken.write_bytes(b"\x00garbage")
        assert len(load_registry(path, cache_dir=cache_dir)) == 2
        broken.write_bytes(good)


def test_an_index_and_a_data_file_from_different_writes_are_not_used(tmp_path: Path) -> None:
    path = write_registry(tmp_path)
    cache_dir = tmp_path / "cache"
    load_registry(path, cache_dir=cache_dir)
    (data_file,) = cache_dir.glob("*.data")
    stale = data_file.read_bytes()
    load_registry(path, cache_dir=None)
    key = filecache.stat_key(path)
    assert key is not None
    cache.write_cache(key, *load_registry(path, cache_dir=None).cache_parts(), cache_dir, content=b"")
    data_file.write_bytes(stale)  # the index now expects another token
    assert cache.read_cache(key, cache_dir) is None


def test_a_hash_collision_in_the_cache_finds_only_the_right_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "id_hash", lambda model_key: 42)  # every id collides
    path = write_registry(tmp_path)
    cache_dir = tmp_path / "cache"
    load_registry(path, cache_dir=cache_dir)
    registry = load_registry(path, cache_dir=cache_dir)
    assert registry.find(["org/dense-8b"]) is not None and registry.find(["org/dense-8b"]).entry.engine == "ferrum"  # type: ignore[union-attr]
    assert registry.find(["org/other"]) is None
    assert [f.entry.model for f in registry.find_all("ORG/HYBRID-80B-FP8")] == ["Org/Hybrid-80B"]
