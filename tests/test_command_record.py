"""`kgc-launch record`: where it writes (never into the package's own registry unless `--registry` names it)
and what its help says (issue 12, item 5)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kgc_launch import cli
from kgc_launch.data import shipped_file
from kgc_launch.errors import EXIT_OK, EXIT_USAGE
from testing.registry_files import SMALL_REGISTRY, write_registry

ROOT = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


RECORD = ["record", "--model", "Org/New-1B", "--required-flag=--enforce-eager", "--grind-frontier", "x"]


def test_record_takes_kgc_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = write_registry(tmp_path, SMALL_REGISTRY)
    monkeypatch.setenv("KGC_REGISTRY", str(registry))
    monkeypatch.setenv("KGC_HARDWARE", "T4")  # record's --hardware is the entry's text, not GPUs: not taken
    argv = ["record", "--model", "Org/New-1B", "--required-flag=--enforce-eager", "--grind-frontier", "x"]
    code, out, err = run(capsys, *argv)
    assert code == EXIT_OK, err
    assert f"registry: {registry} (from KGC_REGISTRY)" in out and "Org/New-1B" in registry.read_text()
    assert "hardware:" not in registry.read_text().split("Org/New-1B")[1]


def test_record_never_writes_the_shipped_registry_found_from_a_checkout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = shipped_file("known-good-configs.yaml")
    lock = shipped.with_name(shipped.name + ".lock")
    before, locked = shipped.read_bytes(), lock.exists()
    try:
        monkeypatch.chdir(shipped.parent.parent)  # a checkout or an editable install: found walking up
        code, _, err = run(capsys, *RECORD)
        assert code == EXIT_USAGE and "is the registry shipped with kgc-launch" in err
        monkeypatch.setenv("KNOWN_GOOD_CONFIG_REGISTRY", str(shipped))
        code, _, err = run(capsys, *RECORD)
        assert code == EXIT_USAGE and "name it with --registry" in err
        assert shipped.read_bytes() == before and lock.exists() == locked
    finally:  # should it ever be written, the package's data is put back
        if shipped.read_bytes() != before:
            shipped.write_bytes(before)
        if lock.exists() and not locked:
            lock.unlink()


def test_record_writes_the_shipped_registry_only_when_registry_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "registry"
    package.mkdir()
    copy = package / "known-good-configs.yaml"
    shutil.copy(shipped_file("known-good-configs.yaml"), copy)
    monkeypatch.setattr("kgc_launch.commands.record.shipped_data_dir", lambda: package)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, *RECORD)[0] == EXIT_USAGE  # found walking up: the package's own data
    assert run(capsys, *RECORD, "--registry", str(copy))[0] == EXIT_OK
    assert "Org/New-1B" in copy.read_text()


def test_record_help_says_what_is_required_and_how_to_give_a_flag_without_a_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["record", "--help"])
    out = capsys.readouterr().out
    assert "required: --model, --grind-frontier, and at least one --required-flag or --required-flag-json" in out
    assert "--required-flag=--enforce-eager" in out and "(required) the HF id" in out


def test_registry_lock_files_are_ignored_by_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    lock = "registry/known-good-configs.yaml.lock"
    done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", lock], check=False)
    assert done.returncode == 0, f"{lock} is not git-ignored"
