"""The shipped catalog is built from recorded metadata, each entry with its source and date, nothing invented."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kgc_launch.model.catalog import catalog_entry, catalog_ids
from kgc_launch.model.metadata import read_model

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "registry" / "model-metadata"


def records() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(RECORDS.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if "config_file" in record:
            record["config"] = json.loads((ROOT / record["config_file"]).read_text(encoding="utf-8"))
        found[record["id"]] = record
    return found


def test_the_committed_catalog_is_what_the_build_script_makes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_model_catalog.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        r"^\d+ catalog entries; \d+ of them are the main model of a text-generation recipe", done.stdout, re.M
    )


def test_every_record_names_where_its_config_was_copied_from_and_when() -> None:
    for model_id, record in records().items():
        origin = record["recorded_from"]
        # a copy in a repository (repo, path), or a Hub file page read as it showed the file (url, read date)
        assert (origin.get("repo") and origin.get("path")) or (origin.get("url") and origin.get("read")), model_id
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["recorded_on"]), model_id
        assert record["published_at"] == f"https://huggingface.co/{model_id}/blob/main/config.json"
        assert isinstance(record["config"], dict) and record["config"], model_id


def subset(small: Any, large: Any) -> bool:
    if isinstance(small, dict):
        return isinstance(large, dict) and all(key in large and subset(v, large[key]) for key, v in small.items())
    return bool(small == large)


@pytest.mark.parametrize("model_id", catalog_ids())
def test_each_entry_holds_only_values_of_its_recorded_config(model_id: str) -> None:
    entry = catalog_entry(model_id)
    record = records()[model_id]
    assert entry is not None
    assert subset(entry.config, record["config"])
    assert entry.source == record["published_at"]
    assert entry.recorded_on == record["recorded_on"]
    origin = record["recorded_from"]
    assert (origin.get("url") or origin["repo"]) in entry.recorded_from


def test_records_the_reader_would_misread_are_left_out() -> None:
    shipped = {model_id.lower() for model_id in catalog_ids()}
    for left_out in (
        "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",  # hybrid Mamba layout: parameters 3.4x off
        "deepseek-ai/DeepSeek-V4-Flash",  # compressed attention: reviewed out
        "XiaomiMiMo/MiMo-V2-Flash",  # hybrid sliding-window pattern: reviewed out
    ):
        assert left_out in records()
        assert left_out.lower() not in shipped


def test_a_catalog_read_says_where_and_when_the_numbers_were_recorded(tmp_path: Path) -> None:
    facts = read_model("zai-org/GLM-5.1", environ={"HF_HOME": str(tmp_path)})
    assert facts.source == "catalog" and facts.attention == "mla"
    note = next(note for note in facts.notes if note.startswith("not on disk"))
    assert "recorded on 2026-12-02 from github ai-dynamo/aiconfigurator" in note
