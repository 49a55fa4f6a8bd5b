"""The shipped recipes layer and the importer's golden output: real recipe files in, the same layer out."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from kgc_launch.data import shipped_file
from kgc_launch.knowngood.load import load_registry, load_text
from kgc_launch.knowngood.recipes.importer import import_recipes
from kgc_launch.knowngood.recipes.severity import SKIPPED, rule_for, severity_table_markdown
from kgc_launch.knowngood.registry import Registry
from kgc_launch.knowngood.spelling import parse_flags

DATA = Path(__file__).parent / "data" / "recipes"
GOLDEN = Path(__file__).parent / "golden" / "recipes-layer-sample.yaml"
SOURCE = json.loads((DATA / "SOURCE.json").read_text(encoding="utf-8"))
PINNED = "8959cf64189c71d36e11c6a30335f923f261b1f7"


@pytest.fixture(scope="module")
def shipped() -> Registry:
    return load_registry(shipped_file("recipes-layer.yaml"), cache_dir=None)


def test_the_sample_files_are_unmodified_copies_of_the_pinned_commit() -> None:
    assert SOURCE["commit"] == PINNED and len(SOURCE["files"]) == 10
    for item in SOURCE["files"]:
        data = (DATA / item["path"]).read_bytes()
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's blob id
        assert blob == item["blob"], item["path"]


def test_reimporting_the_sample_gives_the_golden_layer() -> None:
    result = import_recipes(DATA, commit=SOURCE["commit"])
    assert result.text == GOLDEN.read_text(encoding="utf-8"), (
        "regenerate: kgc-launch registry import-recipes tests/data/recipes "
        f"--commit {PINNED} -o tests/golden/recipes-layer-sample.yaml (and review the diff)"
    )
    assert (result.recipes, result.entries, result.text_recipes, result.text_recipes_covered) == (10, 29, 8, 8)
    load_text(GOLDEN, result.text)  # schema-valid


def test_the_shipped_layer_records_its_commit_and_cites_every_recipe(shipped: Registry) -> None:
    text = shipped_file("recipes-layer.yaml").read_text(encoding="utf-8")
    assert f"imported from vllm-project/recipes at commit {PINNED}" in text.splitlines()[2]
    assert f'  commit: "{PINNED}"' in text
    entries = list(shipped.entries())
    assert len(entries) == 338
    for entry in entries:
        assert entry.source is not None and re.fullmatch(
            rf"vllm-project/recipes models/\S+\.yaml@{PINNED}", entry.source
        )
        for requirement in entry.required_flags:
            assert requirement.evidence == entry.source and requirement.why, (entry.model, requirement.text)


def test_every_flag_of_the_shipped_layer_has_a_row_in_the_severity_table(shipped: Registry) -> None:
    for entry in shipped.entries():
        for requirement in entry.required_flags:
            if requirement.flag is None:
                continue
            for name in parse_flags(requirement.flag).options:
                assert rule_for(name)[1] or rule_for(name.removeprefix("no-"))[1], (entry.model, name)
                assert name not in SKIPPED


def test_the_docs_show_the_severity_table(repo_root: Path) -> None:
    docs = (repo_root / "docs" / "recipes.md").read_text(encoding="utf-8")
    assert severity_table_markdown() in docs, "docs/recipes.md: paste severity.severity_table_markdown()"


def test_the_documented_coverage_figures_are_the_shipped_layers(shipped: Registry, repo_root: Path) -> None:
    entries = list(shipped.entries())
    boot = [e for e in entries if any(r.severity == "boot-blocker" and r.flag for r in e.required_flags)]
    docs = (repo_root / "docs" / "recipes.md").read_text(encoding="utf-8")
    assert f"{len(entries)} model ids" in docs and f"{len(boot)} of them" in docs
