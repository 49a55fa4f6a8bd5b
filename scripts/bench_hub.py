"""Cold versus cached Hub metadata: `read_model(hub=True)` in fresh processes, paired runs, medians.

    .venv/bin/python scripts/bench_hub.py [--runs 15] [--latency-ms 0,50]

Each run is a pair on a fresh, empty HF cache: first the cold fetch (model_info, config.json,
generation_config.json, then the safetensors header by Range or the index), then the same call again,
which reads what the first put in the HF cache and asks nothing. The Hub is the fake of
testing/hub_server.py on 127.0.0.1 (no network here); `--latency-ms` adds a delay before each of its
answers as a stand-in for the round trip to huggingface.co. A third process per pair reads a catalog
model with the Hub off: the launcher's cost without any Hub code. Times are wall times of the whole
process (interpreter, imports, work) and, printed by the process itself, of the read_model call alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.hub_server import FakeHub, decoder_tensors, running_hub, sharded_repo, single_file_repo  # noqa: E402
from testing.model_files import config_fixture  # noqa: E402

SINGLE = "bench/Qwen3-8B-single-file"
SHARDED = "bench/Llama-3.1-8B-sharded"
READ = (
    "import os, sys, time\n"
    "from kgc_launch.model.metadata import read_model\n"
    "t = time.perf_counter()\n"
    "facts = read_model(sys.argv[1], environ=os.environ, hub=True)\n"
    "print((time.perf_counter() - t) * 1000, facts.source, 'huggingface_hub' in sys.modules)\n"
)


IMPORT = (
    "import time\n"
    "t = time.perf_counter()\n"
    "import huggingface_hub.hf_api, huggingface_hub.file_download\n"
    "print((time.perf_counter() - t) * 1000)\n"
)


def import_cost(runs: int) -> float:
    """Median in-process time to import the huggingface_hub modules fetch_model uses (part of every cold run)."""
    times = [float(subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True, check=True).stdout)]
    for _ in range(runs - 1):
        times.append(
            float(subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True, check=True).stdout)
        )
    return statistics.median(times)


def _repos() -> list:
    config = config_fixture("qwen3-8b")
    single, _, _ = single_file_repo(SINGLE, config, decoder_tensors(config))
    sharded = sharded_repo(SHARDED, config_fixture("llama-3.1-8b-instruct"), total_size=16_060_522_496)
    return [single, sharded]


def _run(model: str, environ: dict[str, str]) -> tuple[float, float, str, bool]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", READ, model], env=environ, capture_output=True, text=True, check=True)
    wall = (time.perf_counter() - started) * 1000
    inside, source, imported = done.stdout.split()
    return wall, float(inside), source, imported == "True"


def bench(hub: FakeHub, model: str, runs: int) -> dict[str, dict[str, float]]:
    base = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "KGC_"))}
    rows: dict[str, list[tuple[float, float]]] = {"cold": [], "cached": [], "catalog, Hub off": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            environ = {**base, "HF_ENDPOINT": hub.endpoint, "HF_HOME": f"{tmp}/hf", "XDG_CACHE_HOME": f"{tmp}/xdg"}
            wall, inside, source, imported = _run(model, environ)
            assert source == "hub" and imported, (source, imported)
            rows["cold"].append((wall, inside))
            wall, inside, source, imported = _run(model, environ)
            assert source == "hf_cache" and not imported, (source, imported)
            rows["cached"].append((wall, inside))
            wall, inside, source, _ = _run("Qwen/Qwen3-8B", {**environ, "KGC_NO_HUB": "1"})
            assert source == "catalog", source
            rows["catalog, Hub off"].append((wall, inside))
    summary = {}
    for name, pairs in rows.items():
        summary[name] = {
            "process_ms": statistics.median(wall for wall, _ in pairs),
            "read_model_ms": statistics.median(inside for _, inside in pairs),
        }
    summary["cold - cached (paired)"] = {
        "process_ms": statistics.median(c[0] - w[0] for c, w in zip(rows["cold"], rows["cached"], strict=True)),
        "read_model_ms": statistics.median(c[1] - w[1] for c, w in zip(rows["cold"], rows["cached"], strict=True)),
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--latency-ms", default="0,50", help="comma-separated per-request delays of the fake Hub")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "kgc_launch")], check=True)
    results = {}
    with running_hub(_repos()) as hub:
        for latency in (float(text) for text in args.latency_ms.split(",")):
            hub.latency_s = latency / 1000
            for model in (SINGLE, SHARDED):
                summary = bench(hub, model, args.runs)
                results[f"{model} latency {latency:g} ms"] = summary
                print(f"\n{model}, fake Hub latency {latency:g} ms per request, median of {args.runs} pairs")
                print(f"  {'case':<26} {'process ms':>10} {'read_model ms':>14}")
                for name, row in summary.items():
                    print(f"  {name:<26} {row['process_ms']:>10.0f} {row['read_model_ms']:>14.1f}")
        requests = len(hub.requests)
    cost = import_cost(args.runs)
    results["import huggingface_hub ms"] = cost  # type: ignore[assignment]
    print(f"\nimporting huggingface_hub (hf_api, file_download), in process: {cost:.0f} ms median")
    print(f"{requests} requests served in all; weights requested in full: {hub.weight_downloads or 'none'}")
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
