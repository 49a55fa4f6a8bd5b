"""A launch's artifacts: effective config, decision trace, registry verdict and the launch record.

Written atomically into the artifacts directory before the exec (or the refusal), so that what ran, or
why it did not, can always be read afterwards: `KGC_EFFECTIVE_CONFIG` and `KGC_ENV_HASH` point at it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgc_launch import __version__
from kgc_launch.artifacts import decision_trace_jsonl, prepare_artifacts_dir, render_effective_config, write_artifact
from kgc_launch.records import to_plain

if TYPE_CHECKING:
    from kgc_launch.model.facts import ModelFacts
    from kgc_launch.plan import EnginePlan, LaunchPlan

LAUNCH_RECORD = "launch.json"
REGISTRY_CHECK = "registry_check.json"


def choose_artifacts_dir(explicit: str | None, cwd: Path, facts: ModelFacts | None, plan: EnginePlan) -> Path:
    """`--artifacts-dir` as given, else `./kgc-artifacts/<UTC time>-<model slug>` (made unique)."""
    if explicit:
        return Path(explicit)
    model = (facts.model_id if facts and facts.model_id else None) or (plan.model_ids[0] if plan.model_ids else "model")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model.strip("/")).strip("-.") or "model"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = cwd / "kgc-artifacts" / f"{stamp}-{slug[-80:]}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def write_launch_artifacts(plan: LaunchPlan, environ: Mapping[str, str]) -> None:
    directory = prepare_artifacts_dir(plan.artifacts_dir)
    write_artifact(directory / "effective_config.json", render_effective_config(plan.engine.document))
    write_artifact(directory / "decision_trace.jsonl", decision_trace_jsonl(plan.engine.decisions))
    if plan.registry_report is not None:
        write_artifact(directory / REGISTRY_CHECK, _pretty(plan.registry_report))
    write_artifact(directory / LAUNCH_RECORD, _pretty(launch_record(plan, environ)))


def launch_record(plan: LaunchPlan, environ: Mapping[str, str]) -> dict[str, Any]:
    """What would be (or was) executed, and why: the final argv, the environment changes, the engine."""
    exec_env = plan.exec_env(environ)
    changed = {key: value for key, value in exec_env.items() if environ.get(key) != value}
    return {
        "schema_version": 1,
        "kgc_launch_version": __version__,
        "engine": plan.command.engine,
        "engine_version": plan.engine_version,
        "engine_version_source": plan.engine_version_source,
        "executable": plan.executable,
        "argv_given": plan.command.argv,
        "argv": plan.engine.argv,
        "env_changes": dict(sorted(changed.items())),
        "env_hash": plan.engine.env_hash,
        "verdict": "refuse" if plan.refused else "launch",
        "findings": [finding.to_json() for finding in plan.findings],
        "model_ids": plan.engine.model_ids,
        "model": None if plan.facts is None else to_plain(plan.facts),
        "hardware": to_plain(plan.inventory),
        "registry": plan.registry_path,
        "details": to_plain(plan.engine.details),
        "timings_ms": plan.timings_ms,
    }


def _pretty(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
