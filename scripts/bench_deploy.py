#!/usr/bin/env python3
"""Time `scan_paths`, and the whole `kgc-launch check --deploy-file`, on a generated fleet of realistic
deploy files (no timing in the test suite).

    .venv/bin/python scripts/bench_deploy.py [--files 1000] [--runs 5] [--check-runs 3] [--ruamel-only]
    .venv/bin/python scripts/bench_deploy.py --corpus [--check-runs 5]

The fleet mixes what a deploy repository holds: vLLM Deployments with their Service, probes, volumes and
Secret-fed env (some launching through `sh -c`), LeaderWorkerSets, KServe InferenceServices with their
ServingRuntimes, production-stack Helm values, compose files, and manifests that launch nothing (web
front ends, ConfigMaps, HPAs). Prints the first (cold) run of the scan and the median of the others; then
the median of `--check-runs` fresh `kgc-launch check --deploy-file DIR --format json` processes (after one
untimed run that primes the registry cache), without and with `--hardware 8xH100-SXM` (which adds the
vLLM resolver and memory plan of every launch).

`--corpus` times the whole-corpus check instead: `kgc-launch check --deploy-file
tests/data/deploy_corpus/files --format json`, without and with `--hardware 8xH100-SXM`, in fresh processes
(the corpus of real deploy files scored by tests/test_deploy_corpus.py).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = [
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen3-32B",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "google/gemma-3-27b-it",
]

DEPLOYMENT = """\
# {name}: vLLM serving {model}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: inference
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: llm-platform
spec:
  replicas: {replicas}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 0
      maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8000"
    spec:
      serviceAccountName: inference
      nodeSelector:
        nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
      tolerations:
        - key: nvidia.com/gpu
          operator: Exists
          effect: NoSchedule
      volumes:
        - name: hf-cache
          persistentVolumeClaim:
            claimName: hf-cache
        - name: shm
          emptyDir:
            medium: Memory
            sizeLimit: 32Gi
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
{command}
          env:
            - name: MODEL_ID
              value: {model}
            - name: HF_TOKEN
              valueFrom:
                secretKeyRef:
                  name: hf-token
                  key: token
            - name: VLLM_LOGGING_LEVEL
              value: INFO
          ports:
            - name: http
              containerPort: 8000
          readinessProbe:
            httpGet:
              path: /health
              port: http
            initialDelaySeconds: 60
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: /health
              port: http
            initialDelaySeconds: 300
            periodSeconds: 30
          resources:
            limits:
              nvidia.com/gpu: "{gpus}"
              memory: 128Gi
            requests:
              cpu: "16"
              memory: 128Gi
          volumeMounts:
            - name: hf-cache
              mountPath: /root/.cache/huggingface
            - name: shm
              mountPath: /dev/shm
        - name: metrics-proxy
          image: quay.io/prometheus/statsd-exporter:v0.26.0
          args: ["--statsd.listen-udp=:9125"]
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: inference
spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
    - name: http
      port: 80
      targetPort: http
"""
ARGS = """\
          args:
            - $(MODEL_ID)
            - --tensor-parallel-size
            - "{gpus}"
            - --max-model-len
            - "32768"
            - --gpu-memory-utilization
            - "0.92"
            - --enable-prefix-caching"""
SHELL = """\
          command: ["/bin/bash", "-ec"]
          args:
            - |
              export VLLM_WORKER_MULTIPROC_METHOD=spawn
              exec vllm serve "$MODEL_ID" \\
                --tensor-parallel-size {gpus} \\
                --max-model-len 32768 \\
                --enable-prefix-caching"""
LWS = """\
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata:
  name: {name}
spec:
  replicas: 1
  leaderWorkerTemplate:
    size: 2
    leaderTemplate:
      spec:
        containers:
          - name: leader
            image: vllm/vllm-openai:v0.11.0
            command: ["sh", "-c"]
            args:
              - bash /scripts/ray-start.sh leader; vllm serve {model} -tp 8 -pp 2 --distributed-executor-backend ray
            resources:
              limits:
                nvidia.com/gpu: 8
    workerTemplate:
      spec:
        containers:
          - name: worker
            image: vllm/vllm-openai:v0.11.0
            command: ["sh", "-c", "bash /scripts/ray-start.sh worker $(LWS_LEADER_ADDRESS)"]
            resources:
              limits:
                nvidia.com/gpu: 8
"""
KSERVE = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {name}
spec:
  predictor:
    minReplicas: 1
    model:
      runtime: vllm-runtime
      modelFormat:
        name: vLLM
      storageUri: hf://{model}
      args: ["--max-model-len=16384", "--enable-prefix-caching"]
      resources:
        limits:
          nvidia.com/gpu: "1"
"""
RUNTIME = """\
apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata:
  name: vllm-runtime
spec:
  supportedModelFormats:
    - name: vLLM
      autoSelect: true
  containers:
    - name: kserve-container
      image: vllm/vllm-openai:v0.11.0
      args: ["--port=8080", "--model=/mnt/models", "--served-model-name={{.Name}}"]
"""
VALUES = """\
servingEngineSpec:
  modelSpec:
    - name: {name}
      repository: vllm/vllm-openai
      tag: v0.11.0
      modelURL: {model}
      requestCPU: 8
      requestMemory: 64Gi
      requestGPU: 2
      vllmConfig:
        maxModelLen: 32768
        tensorParallelSize: 2
        extraArgs: ["--disable-log-requests"]
routerSpec:
  replicaCount: 2
"""
COMPOSE = """\
services:
  {name}:
    image: vllm/vllm-openai:v0.11.0
    command: ["{model}", "--max-model-len", "${{MAX_LEN:-16384}}"]
    environment:
      HF_TOKEN: ${{HF_TOKEN}}
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: 1
              capabilities: [gpu]
"""
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 80
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: 3
  maxReplicas: 10
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
"""


def generate(root: Path, count: int) -> int:
    """Write `count` files; returns how many engine launches they hold."""
    launches = 0
    (root / "kserve").mkdir(parents=True)
    (root / "kserve" / "runtime.yaml").write_text(RUNTIME)
    for index in range(count - 1):
        name = f"svc-{index:04d}"
        model = MODELS[index % len(MODELS)]
        gpus = (1, 2, 4, 8)[index % 4]
        slot = index % 20
        if slot < 9:
            command = (SHELL if slot % 3 == 0 else ARGS).format(gpus=gpus)
            text = DEPLOYMENT.format(name=name, model=model, gpus=gpus, replicas=2, command=command)
            folder, file, found = "k8s", f"{name}.yaml", 1
        elif slot < 11:
            text, folder, file, found = LWS.format(name=name, model=model), "lws", f"{name}.yaml", 1
        elif slot < 13:
            text, folder, file, found = KSERVE.format(name=name, model=model), "kserve", f"{name}.yaml", 1
        elif slot == 13:
            text, folder, file, found = VALUES.format(name=name, model=model), "helm", f"{name}-values.yaml", 1
        elif slot == 14:
            text, folder, file, found = COMPOSE.format(name=name, model=model), "compose", f"{name}/compose.yaml", 1
        elif slot < 18:
            text, folder, file, found = WEB.format(name=name), "web", f"{name}.yaml", 0
        else:
            text, folder, file, found = CONFIGMAP.format(name=name), "config", f"{name}.yaml", 0
        path = root / folder / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        launches += found
    return launches


CORPUS = ROOT / "tests" / "data" / "deploy_corpus" / "files"


def time_corpus(runs: int) -> int:
    """The whole-corpus check's medians, without and with --hardware (exit 3 is expected: some files are not
    evaluated and some launches' models are not known here)."""
    for extra in ([], ["--hardware", "8xH100-SXM"]):
        command = [sys.executable, "-m", "kgc_launch", "check", "--deploy-file", str(CORPUS), "--format", "json"]
        command += ["--registry", str(ROOT / "registry" / "known-good-configs.yaml"), *extra]
        walls, cpus = [], []
        summary: dict[str, int] = {}
        for run in range(runs + 1):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode not in (0, 1, 3):
                print(f"unexpected: exit {done.returncode}: {done.stderr.strip()[:500]}")
                return 1
            summary = json.loads(done.stdout)["summary"]
            if run:
                walls.append(elapsed)
                cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        label = " ".join(extra) or "no --hardware"
        print(
            f"corpus ({summary['files_scanned'] + summary['files_skipped']} files, {summary['launches']} launches), "
            f"{label}: {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU "
            f"(medians of {runs} fresh processes)"
        )
    return 0


def time_check(root: Path, expected: int, runs: int, extra: list[str]) -> tuple[float, float] | None:
    """Medians of wall and CPU time (user + system) of `runs` fresh `kgc-launch check` processes, or None
    (said) when one misbehaves. CPU time is the steadier figure on a shared machine."""
    command = [sys.executable, "-m", "kgc_launch", "check", "--deploy-file", str(root), "--format", "json"]
    command += ["--registry", str(ROOT / "registry" / "known-good-configs.yaml"), *extra]
    walls, cpus = [], []
    for run in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1) or json.loads(done.stdout)["summary"]["launches"] != expected:
            print(f"unexpected: exit {done.returncode}: {done.stderr.strip()[:500]}")
            return None
        if run:  # the first run primes the registry cache and the page cache
            walls.append(elapsed)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check-runs", type=int, default=3, help="fresh `kgc-launch check` processes per variant")
    parser.add_argument("--ruamel-only", action="store_true", help="disable the fast YAML reader (for comparison)")
    parser.add_argument("--corpus", action="store_true", help="time the whole-corpus check instead of a fleet")
    options = parser.parse_args()
    if options.corpus:
        return time_corpus(max(options.check_runs, 1))

    from kgc_launch.deploy import fastyaml
    from kgc_launch.deploy.scan import scan_paths

    if options.ruamel_only:

        def unsupported(text: str) -> list[object]:
            raise fastyaml.Unsupported

        fastyaml.load_documents = unsupported

    with tempfile.TemporaryDirectory(prefix="kgc-bench-") as directory:
        root = Path(directory)
        expected = generate(root, options.files)
        times = []
        for _ in range(max(options.runs, 2)):
            start = time.perf_counter()
            result = scan_paths([str(root)])
            times.append(time.perf_counter() - start)
            if len(result.launches) != expected or result.errors:
                print(f"unexpected: {len(result.launches)} launches (want {expected}), {len(result.errors)} errors")
                return 1
        files = result.files_scanned + result.files_skipped
        print(
            f"{files} files ({result.files_scanned} parsed, {result.files_skipped} skipped unparsed), "
            f"{len(result.launches)} launches"
        )
        print(f"first run {times[0]:.2f} s (imports included); median of the next {len(times) - 1}: "
              f"{statistics.median(times[1:]):.2f} s")  # fmt: skip
        if options.ruamel_only or options.check_runs < 1:
            return 0
        for extra in ([], ["--hardware", "8xH100-SXM"]):
            medians = time_check(root, expected, options.check_runs, extra)
            if medians is None:
                return 1
            label = " ".join(extra) or "no --hardware"
            print(f"kgc-launch check --deploy-file DIR --format json ({label}): {medians[0]:.2f} s wall, "
                  f"{medians[1]:.2f} s CPU (medians of {options.check_runs} fresh processes)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
