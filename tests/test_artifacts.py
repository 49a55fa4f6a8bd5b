from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kgc_launch.artifacts import (
    DECISION_TRACE_NAME,
    EFFECTIVE_CONFIG_NAME,
    env_hash,
    render_artifacts,
    write_artifacts,
)
from kgc_launch.errors import EXIT_INPUT, InputError
from kgc_launch.records import ResolvedFerrumConfig
from testing.ferrum_cases import CASES, GOLDEN_DIR, m3_preset, mixed_sources


@pytest.mark.parametrize("case", sorted(CASES))
def test_artifacts_match_the_golden_bytes(case: str) -> None:
    rendered = render_artifacts(CASES[case]())
    golden = GOLDEN_DIR / case
    assert rendered.effective_config.encode("utf-8") == (golden / EFFECTIVE_CONFIG_NAME).read_bytes()
    assert rendered.decision_trace.encode("utf-8") == (golden / DECISION_TRACE_NAME).read_bytes()


def test_effective_config_is_sorted_pretty_json_with_non_ascii_kept() -> None:
    text = render_artifacts(mixed_sources()).effective_config
    assert text.endswith("}\n")
    assert "/models/Qwen3-30B-A3B-量化" in text
    assert '\n  "decisions": [\n    {\n      "affects": [' in text
    top_keys = [line.split('"')[1] for line in text.splitlines() if line.startswith('  "')]
    assert top_keys == sorted(top_keys) == [
        "decisions", "entries", "env_hash", "hardware_capabilities", "model_capabilities", "preset",
        "schema_version", "workload_profile",
    ]  # fmt: skip


def test_trace_lines_keep_struct_field_order_and_compact_separators() -> None:
    first = render_artifacts(m3_preset()).decision_trace.splitlines()[0]
    assert first.startswith('{"schema_version":1,"selection":"attention_prefill_mixed_backend","selected":')
    assert list(json.loads(first)) == [
        "schema_version", "selection", "selected", "source", "source_key", "candidates", "rejected",
        "affects",
    ]  # fmt: skip
    assert ", " not in first and '": ' not in first


def test_env_hash_is_over_compact_entries_in_struct_order() -> None:
    assert env_hash([]) == "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"  # sha256("[]")
    entry = {"key": "FERRUM_X", "effective_value": "é", "source": "cli", "affects": ["performance"]}
    sorted_keys = dict(sorted(entry.items()))
    assert env_hash([entry]) == env_hash([sorted_keys])  # a document with sorted keys hashes the same
    assert env_hash([entry]) != env_hash([{**entry, "source": "env"}])
    document = render_artifacts(mixed_sources()).document
    assert document["env_hash"] == env_hash(document["entries"])


def test_write_artifacts_creates_the_directory_and_replaces_old_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    rendered = render_artifacts(m3_preset())
    paths = write_artifacts(rendered, target)
    assert paths.effective_config.read_text(encoding="utf-8") == rendered.effective_config
    paths.decision_trace.write_text("stale\n")
    write_artifacts(rendered, target)
    assert paths.decision_trace.read_text(encoding="utf-8") == rendered.decision_trace
    assert sorted(os.listdir(target)) == [DECISION_TRACE_NAME, EFFECTIVE_CONFIG_NAME]  # no temp files left


def _symlinked_dir(tmp_path: Path) -> Path:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    return tmp_path / "link"


def _file(tmp_path: Path) -> Path:
    (tmp_path / "plain").write_text("x")
    return tmp_path / "plain"


def _file_as_parent(tmp_path: Path) -> Path:
    return _file(tmp_path) / "sub"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_symlinked_dir, "symbolic link"),
        (_file, "not a directory"),
        (_file_as_parent, "cannot create the artifacts directory"),
    ],
)
def test_write_artifacts_refuses_links_and_files(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError, match=message) as error:
        write_artifacts(render_artifacts(m3_preset()), path)
    assert error.value.exit_code == EXIT_INPUT
    assert error.value.path == str(path)
    if (tmp_path / "real").exists():
        assert list((tmp_path / "real").iterdir()) == []  # nothing written through the link


def test_write_artifacts_refuses_a_directory_where_a_file_goes(tmp_path: Path) -> None:
    (tmp_path / EFFECTIVE_CONFIG_NAME).mkdir()
    with pytest.raises(InputError, match="is a directory where an artifact file should be"):
        write_artifacts(render_artifacts(m3_preset()), tmp_path)


def test_rendering_imports_no_pydantic() -> None:
    # The launch path builds and renders records; importing pydantic alone would cost ~25 ms there, and
    # building its validators ~30 ms more. Only reading a record from a file needs it (`from_plain`).
    code = (
        "import sys\n"
        "from kgc_launch.artifacts import render_artifacts\n"
        "from testing.ferrum_cases import mixed_sources\n"
        "render_artifacts(mixed_sources())\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('pydantic', 'pydantic_core')))\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert done.stdout.strip() == "[]"


def test_document_entries_and_records_are_plain_data() -> None:
    resolved: ResolvedFerrumConfig = mixed_sources()
    document = render_artifacts(resolved).document
    assert json.loads(json.dumps(document)) == document
    assert document["workload_profile"]["priority"] == "throughput"
    assert list(document["entries"][0]) == ["key", "effective_value", "source", "affects"]
