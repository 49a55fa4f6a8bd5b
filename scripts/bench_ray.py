"""What the Ray cluster probe adds to a launch: paired runs against a real local 2-node Ray cluster.

Starts a head (4 fake "H100") and a worker (4 "H100") on this machine (testing/ray_cluster.py, timed: the
cluster's start-up), then times fresh `kgc-launch --dry-run` processes of the same Ray launch
(`-tp 4 -pp 2 --distributed-executor-backend ray`, GPUs from a fake 8xH100 NVML), alternating:
  A: RAY_ADDRESS set, the cluster is probed (connect, read the node table, disconnect);
  B: no cluster anywhere (RAY_ADDRESS unset, no local head), ray is not imported.
The figure is the median of the paired differences A - B, and the probe's own phase (`cluster` in the
launch's timings). It stops exactly the processes it started. Run: .venv/bin/python scripts/bench_ray.py
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.ray_cluster import LocalRayCluster, NodeSpec  # noqa: E402

SERVE = ["vllm", "serve", "meta-llama/Llama-3.1-70B-Instruct", "-tp", "4", "-pp", "2"]
SERVE += ["--distributed-executor-backend", "ray", "--max-model-len", "8192"]


def run_once(env: dict[str, str], cwd: Path) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    argv = [sys.executable, "-m", "kgc_launch", "--dry-run", "--json", "--artifacts-dir", "art", *SERVE]
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    elapsed = (time.perf_counter() - start) * 1000
    report = json.loads(done.stdout)
    return elapsed, dict(report["timings_ms"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="pairs of runs")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kgc-bench-ray-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "KGC_", "VLLM_"))}
    base.update(KGC_FAKE_NVML=str(ROOT / "testing" / "nvml" / "8xh100.json"), RAY_TMPDIR=str(work / "no-ray"))
    cluster = LocalRayCluster(NodeSpec(4, "H100"), [NodeSpec(4, "H100")])
    try:
        cluster.start()
        with_ray = {**base, "RAY_ADDRESS": cluster.address}
        pairs, probe_ms = [], []
        run_once(with_ray, work)  # warm the file cache for both arms
        run_once(base, work)
        for _ in range(options.runs):
            a, timings = run_once(with_ray, work)
            b, _ = run_once(base, work)
            pairs.append((a, b))
            probe_ms.append(timings.get("cluster", 0.0))
    finally:
        left = cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = {
        "cluster start-up s (head, workers in parallel, total)": cluster.startup_s,
        "launch with the probe, median ms": round(statistics.median(a for a, _ in pairs), 1),
        "launch without Ray, median ms": round(statistics.median(b for _, b in pairs), 1),
        "added by the probe, median of paired differences ms": round(statistics.median(a - b for a, b in pairs), 1),
        "the probe's own phase (timings_ms.cluster), median ms": round(statistics.median(probe_ms), 1),
        "pairs": len(pairs),
        "processes left": left,
    }
    for name, value in rows.items():
        print(f"{name}: {value}")
    return 0 if not left else 1


if __name__ == "__main__":
    raise SystemExit(main())
