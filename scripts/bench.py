"""kgc-launch's figures, each measured in fresh processes the way a harness or a container runs the tool.

- launch overhead: invocation to exec, as a dry run and as a real exec of a trivial executable named
  `vllm` (it exits at once, so the time is kgc-launch's plus one exec), with the GPUs probed on a fake
  8xH100 node (KGC_FAKE_NVML) and registries of 10, 1,000 and 10,000 entries, next to `python -c pass`
  timed in the same rounds (the `x python` column divides by that paired median);
- time to refuse configs vLLM would reject only after loading (bf16 on a T4, a 70B model on one L4);
- the fleet check of 1,000 manifests, and `record` into a 10,000-entry registry;
- the recipes layer: launch to exec of a recipe model with the shipped layer under the registry and with
  `--no-recipes`, paired run by run (`--recipes-only` measures just that pair).
Medians of N runs (default 15); figures, never assertions: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.bench_data import write_fleet, write_registry  # noqa: E402

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path, runs: int, expect: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(list(argv), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append((time.perf_counter() - start) * 1000)
        if done.returncode != expect:
            raise SystemExit(
                f"bench: {' '.join(argv)} exited {done.returncode}, expected {expect}:\n{done.stderr.decode()}"
            )
    return samples


def timed_beside(
    argv: Sequence[str], env: dict[str, str], cwd: Path, runs: int, expect: int
) -> tuple[list[float], list[float]]:
    """`argv` and `python -c pass`, run by run side by side: (samples, python's samples) for a paired ratio."""
    samples: list[float] = []
    beside: list[float] = []
    for _ in range(runs):
        beside += timed([sys.executable, "-c", "pass"], env, cwd, 1, 0)
        samples += timed(argv, env, cwd, 1, expect)
    return samples, beside


def row(name: str, samples: list[float], baseline: float | None = None) -> dict[str, object]:
    median = statistics.median(samples)
    return {
        "case": name,
        "median_ms": round(median, 1),
        "p90_ms": round(sorted(samples)[int(0.9 * (len(samples) - 1))], 1),
        "min_ms": round(min(samples), 1),
        "x_python": None if baseline is None else round(median / baseline, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--recipes-only", action="store_true", help="only the recipes layer on/off pair")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kgc-bench-"))
    rows: list[dict[str, object]] = []

    def emit(item: dict[str, object]) -> None:
        rows.append(item)
        if not args.json:
            print_row(item)

    if not args.json:
        print(HEADER, flush=True)
    try:
        (run_recipes_pair if args.recipes_only else run_all)(work, args.runs, emit)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


Emit = Callable[[dict[str, object]], None]


def run_all(work: Path, runs: int, emit: Emit) -> None:
    """Measure every case; `emit` gets each row as soon as it is known."""
    env, kgc, baseline = prepare(work, runs, emit)
    run_cases(work, runs, emit, env, kgc, baseline)
    layer_pair(work, runs, emit, env, kgc, baseline)


def run_recipes_pair(work: Path, runs: int, emit: Emit) -> None:
    env, kgc, baseline = prepare(work, runs, emit)
    layer_pair(work, runs, emit, env, kgc, baseline)


def layer_pair(work: Path, runs: int, emit: Emit, env: dict[str, str], kgc: list[str], baseline: float) -> None:
    """Launch to exec of a model the recipes layer knows (registry of 10 entries over the shipped layer),
    layer on and `--no-recipes`, interleaved run by run so that load drift hits both alike."""
    registry = write_registry(work / "registry-layer-10.yaml", 10)
    model = MODEL  # in the layer (its recipe) and in the shipped model catalog
    arms = {
        "exec, registry 10 + recipes layer (338 entries)": [*kgc, "--registry", str(registry), "--quiet"],
        "exec, registry 10, --no-recipes": [*kgc, "--registry", str(registry), "--quiet", "--no-recipes"],
    }
    for argv in arms.values():
        timed([*argv, "vllm", "serve", model], env, work, 1, 0)  # fills the caches (the layer's included)
    samples: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(runs):
        for name, argv in arms.items():
            samples[name] += timed([*argv, "vllm", "serve", model], env, work, 1, 0)
    for name in arms:
        emit(row(name, samples[name], baseline))
    paired = [on - off for on, off in zip(*samples.values(), strict=True)]
    emit(row("difference per pair (layer on - off)", paired))


def prepare(work: Path, runs: int, emit: Emit) -> tuple[dict[str, str], list[str], float]:
    bin_dir = work / "bin"
    bin_dir.mkdir()
    true = shutil.which("true") or "/bin/true"
    (bin_dir / "vllm").symlink_to(true)  # a trivial engine: exits at once
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "KGC_FAKE_NVML": str(ROOT / "testing" / "nvml" / "8xh100.json"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "KGC_ARTIFACTS_DIR": str(work / "artifacts"),
        # The Hub is not asked: the model's facts come from the shipped catalog, as they come from the HF cache
        # once a first launch has fetched them. A fetch is measured by scripts/bench_hub.py.
        "HF_HUB_OFFLINE": "1",
    }
    python = sys.executable
    kgc = [python, "-m", "kgc_launch"]
    # An installed wheel has bytecode; an editable checkout under PYTHONDONTWRITEBYTECODE=1 has none and
    # would pay the compiler on every start. Measure what users run.
    subprocess.run([python, "-m", "compileall", "-q", str(ROOT / "kgc_launch")], check=True, stdout=subprocess.DEVNULL)
    baseline = statistics.median(timed([python, "-c", "pass"], env, work, runs, 0))
    emit(row("python -c pass", [baseline], baseline))
    return env, kgc, baseline


def run_cases(work: Path, runs: int, emit: Emit, env: dict[str, str], kgc: list[str], baseline: float) -> None:
    # Interleaved round-robin, so that the machine's load drifting during the run hits every size alike.
    sizes = (10, 1_000, 10_000)
    launches = {}
    for entries in sizes:
        registry = write_registry(work / f"registry-{entries}.yaml", entries)
        launches[entries] = [*kgc, "--registry", str(registry), "--quiet"]
        timed([*launches[entries], "--dry-run", "vllm", "serve", MODEL], env, work, 1, 0)  # fills the cache
    python = [sys.executable, "-c", "pass"]
    for mode, extra in (("dry run, probe 8xH100 (fake)", ["--dry-run"]), ("exec of a trivial 'vllm'", [])):
        # `python -c pass` is timed in every round too: the ratio compares runs made side by side.
        samples: dict[int, list[float]] = {entries: [] for entries in sizes}
        beside: list[float] = []
        for _ in range(runs):
            beside += timed(python, env, work, 1, 0)
            for entries in sizes:
                samples[entries] += timed([*launches[entries], *extra, "vllm", "serve", MODEL], env, work, 1, 0)
        paired = statistics.median(beside)
        emit(row(f"python -c pass, in the {mode.split(',')[0]} rounds", beside, paired))
        for entries in sizes:
            emit(row(f"{mode}, registry {entries:,}", samples[entries], paired))
    # The same launch on a preset: no probe at all.
    preset = [*launches[10], "--hardware", "8xH100-SXM", "vllm", "serve", MODEL]
    samples_preset, beside = timed_beside(preset, env, work, runs, 0)
    emit(row("exec of a trivial 'vllm', --hardware 8xH100-SXM (no probe)", samples_preset, statistics.median(beside)))
    cold = work / "registry-cold.yaml"
    cold_samples = []
    for index in range(3):
        path = write_registry(cold.with_name(f"registry-cold-{index}.yaml"), 10_000)
        cold_samples += timed([*kgc, "--registry", str(path), "--quiet", "vllm", "serve", MODEL], env, work, 1, 0)
    emit(row("exec, registry 10,000, first launch (cache cold)", cold_samples, baseline))

    refusals = {
        "refuse bf16 on a T4": ["--hardware", "T4", "vllm", "serve", MODEL, "--dtype", "bfloat16"],
        "refuse Llama-3.1-70B on one L4": ["--hardware", "L4", "vllm", "serve", "meta-llama/Llama-3.1-70B-Instruct"],
    }
    for name, argv in refusals.items():
        samples_refusal, beside = timed_beside([*kgc, *argv], env, work, runs, 78)
        emit(row(name, samples_refusal, statistics.median(beside)))

    fleet = write_fleet(work / "fleet", 1_000)
    fleet_samples = timed([*kgc, "check", "--deploy-file", str(fleet), "--format", "json"], env, work, 3, 0)
    emit(row("check --deploy-file: 1,000 manifests", fleet_samples))

    record_samples = []
    for index in range(3):
        registry = write_registry(work / f"registry-record-{index}.yaml", 10_000)
        record_samples += timed(
            [*kgc, "record", "--registry", str(registry), "--model", f"bench/new-model-{index}",
             "--required-flag=--enforce-eager||crash-high-c|bench|bench|bench", "--grind-frontier", "bench"],
            env, work, 1, 0,
        )  # fmt: skip
    emit(row("record into a 10,000-entry registry", record_samples))


HEADER = f"{'case':<58} {'median ms':>10} {'p90 ms':>8} {'min ms':>8} {'x python':>9}"


def print_row(r: dict[str, object]) -> None:
    ratio = "" if r["x_python"] is None else f"{r['x_python']}"
    print(f"{r['case']:<58} {r['median_ms']:>10} {r['p90_ms']:>8} {r['min_ms']:>8} {ratio:>9}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
