"""Every config.json in tests/data/configs_unseen (architectures the reader was not built on) is read
without a traceback, and ends either in complete facts or in a "not evaluated: WHY" note; where a
parameter count is published, the architecture count lands within 15% of it or the reader declines to count.

Run with `-s` to see the table (file, model_type, verdict, KV bytes/token, parameters counted vs published).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kgc_launch.errors import InputError
from kgc_launch.model.config_json import CLASS_DEFAULTS, facts_from_config
from kgc_launch.model.facts import ModelFacts
from kgc_launch.model.kv_cache import kv_bytes_per_token
from kgc_launch.model.weights import count_parameters

CORPUS = Path(__file__).parent / "data" / "configs_unseen"
TOLERANCE = 0.15  # as scripts/build_model_catalog.py
_UNITS = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def published_counts() -> dict[str, float]:
    """file -> the published parameter count in SOURCES.md's table (rows whose count is `-` have none)."""
    counts: dict[str, float] = {}
    for line in (CORPUS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].endswith(".json"):
            continue
        match = re.match(r"([\d.]+)([KMBT])\b", cells[3])
        if match:
            counts[cells[0]] = float(match.group(1)) * _UNITS[match.group(2)]
    return counts


FILES = sorted(path.name for path in CORPUS.glob("*.json"))
PUBLISHED = published_counts()


def read(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    return document


def not_evaluated(facts: ModelFacts) -> list[str]:
    return [note for note in facts.notes if note.startswith("not evaluated:")]


def verdict(name: str) -> tuple[str, str, int | None, int | None]:
    """(model_type, verdict, KV bytes per token, parameters counted) for one corpus file."""
    config = read(name)
    try:
        facts = facts_from_config(config, source="directory", source_detail=name)
    except InputError as error:
        return str(config.get("model_type")), f"InputError: {error.message}", None, None
    try:
        kv = kv_bytes_per_token(facts)
    except InputError:
        kv = None
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    defaults = CLASS_DEFAULTS.get(str(text.get("model_type") or config.get("model_type")), {})
    counts = count_parameters({**defaults, **text}, config.get("vision_config"))
    why = not_evaluated(facts)
    if why:
        assert facts.weight_bytes is None, "a model the reader does not evaluate gets no weight estimate"
        state = "; ".join(why)
    elif facts.num_hidden_layers and facts.kv_cache_layers and kv:
        state = "complete"
    else:
        state = "INCOMPLETE without a reason"
    return str(facts.model_type), state, kv, counts.total if counts else None


@pytest.mark.parametrize("name", FILES)
def test_each_config_is_complete_or_says_why_not(name: str) -> None:
    _, state, _, _ = verdict(name)
    assert state == "complete" or state.startswith(("not evaluated:", "InputError:")), state


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_counted_parameters_match_the_published_count_or_are_declined(name: str) -> None:
    _, state, _, counted = verdict(name)
    if counted is None or state != "complete":
        return  # the reader declines to count this architecture (it then estimates no weight bytes either)
    ratio = counted / PUBLISHED[name]
    assert abs(ratio - 1) <= TOLERANCE, f"{counted / 1e9:.2f}B counted vs {PUBLISHED[name] / 1e9:.2f}B ({ratio:.2f}x)"


def test_corpus_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(FILES) >= 15
    rows = []
    for name in FILES:
        model_type, state, kv, counted = verdict(name)
        published = PUBLISHED.get(name)
        params = f"{counted / 1e9:.2f}B" if counted else "-"
        params += f" vs {published / 1e9:.2f}B" if published else ""
        rows.append(f"{name:30} {model_type:16} {kv or '-':>8} {params:18} {state}")
    with capsys.disabled():
        print("\n" + "\n".join(rows))
