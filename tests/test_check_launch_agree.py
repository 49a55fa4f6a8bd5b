"""The two front doors agree: what `kgc-launch check --deploy-file` says of a launch is what the launcher does.

The product promise: `check` never passes what the launcher then refuses, and does not fail what it accepts.

**On the real deploy files** of tests/data/deploy_corpus, the corpus is checked (JSON) three ways, and every
launch judged PASS or FAIL is handed to the launcher (`kgc-launch --dry-run --json ... ENGINE serve ARGS`, in
process) with the same engine, arguments, environment, GPUs and vLLM version:

- `plain`: no `--hardware`; the launcher is given the node anyway (it always plans for one);
- `hardware`: `--hardware 8xH100-SXM`; the launcher gets as many of its GPUs as the manifest gives the launch;
- `version`: `--hardware 8xH100-SXM --engine-version 0.11.2`; the launcher runs beside an installed vLLM
  0.11.2 (a stand-in package: kgc-launch reads the version from its metadata), so both judge one release.

Check PASS must be a dry run that would exec (exit 0), FAIL one that is refused (exit 78) with the same
refusals (the registry's by their fix; the others by origin, rule and fix). A launch the check could not
evaluate is not compared, except where the launcher can be asked the same thing (no model: both decline).
The differences that are not bugs are rules, each named, counted, asserted on both sides where it has two,
and described in docs/deploy-checks.md ("The check and the launcher agree"):

- `stated-version`: the file states the vLLM it runs (an image tag, a pip requirement); the check judges the
  flags against those releases and the engine's rules at the one release they pin. The launcher asks the
  installed engine, so it runs beside that release (a pin), or beside each end of the range, where it must
  refuse whenever the check fails;
- `container-path`: the model is a path inside the container. The launcher, run here, would stop on the
  missing directory (exit 3), so it is run on a stand-in directory at that path under a temporary root whose
  `config.json` says nothing: it knows as little of the model as the check (both say the facts are unknown);
- `model-named-by-file`: the file says which Hub model the path holds (KServe `storageUri`, a download, an
  operator's field): the launcher is given that model, as the container's directory would hold it;
- `model-unknown-here`: neither the HF cache here nor the catalog knows the model: the check says its
  hardware checks ran without the model's facts, the launcher warns of the same, and neither refuses for it;
- `value-at-start`: an argument's value is set when the container starts (`--port $PORT`): the check says
  it is not in the file and leaves it out; the launcher here sees the text and refuses it: not compared;
- `resolver-not-run`: the check did not run the engine's resolver (no `--hardware`, another vendor's
  devices, no GPU count in the manifest) and says why (`hardware.evaluated` false): the launcher's resolver
  refusals are not compared;
- `container-env`: the launch's variables that locate files or the network (`HF_HOME`, `HF_HUB_OFFLINE`,
  `PATH`, `HOME`) describe the container; the launcher here keeps this machine's.

**The reverse**, on hand-written command lines the launcher refuses (a REQUIRED flag missing, TP above the GPUs,
bfloat16 on a T4, a misspelled flag, a flag the stated release dropped): a minimal Deployment and a shell script
holding the same command must FAIL in `check` with the same fixes.

    .venv/bin/python -m pytest tests/test_check_launch_agree.py -s     (prints the table)
    .venv/bin/python tests/test_check_launch_agree.py                  (the same, without pytest)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kgc_launch.cli import main  # noqa: E402
from testing.fake_engine import make_fake_vllm_venv  # noqa: E402

CORPUS = str(ROOT / "tests" / "data" / "deploy_corpus" / "files")
HARDWARE = "8xH100-SXM"
NODE = HARDWARE.partition("x")[2]
VERSION = "0.11.2"
EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 78
RESOLVERS = ("vllm-rule", "ferrum-resolver")
# Why the check did not run the engine's resolver (`kgc_launch.deploy.resolve.hardware_skip`).
RESOLVER_NOT_RUN = ("no --hardware given", "the launch asks for", "the manifest does not say how many GPUs")
# The launch's variables that describe the container's file system and network, not the launch's config.
CONTAINER_ENV = frozenset(
    ("PATH", "HOME", "XDG_CACHE_HOME", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE")
) | frozenset(("HF_HUB_OFFLINE", "HF_ENDPOINT", "KGC_NO_HUB"))
_PINNED = re.compile(r"vLLM version stated: .*the engine's rules as vLLM (\S+) applies them")
_VARIABLE = re.compile(r"\$\{?(\w+)")
_FLAGS_SPAN = re.compile(r"vLLM version stated: .*: its flags are judged as vLLM (\S+) reads them")


# ---- running both doors in process ---------------------------------------------------------------------------


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_cli(argv: list[str], environ: Mapping[str, str]) -> tuple[int, str, str]:
    """`kgc-launch ARGV` in this process, with exactly `environ`: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with environment(environ), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


class Launcher:
    """The launcher's dry run, beside a stand-in install of a vLLM release when one is named."""

    def __init__(self, root: Path, base_env: Mapping[str, str]) -> None:
        self.root = root
        self.base_env = dict(base_env)
        self.runs = 0
        self.installs: dict[str, str] = {}

    def bin_dir(self, version: str) -> str:
        if version not in self.installs:
            venv = self.root / f"vllm-{version}"
            made = make_fake_vllm_venv(venv, venv / "record.json", distribution="vllm", version=version)
            self.installs[version] = str(made)
        return self.installs[version]

    def run(self, argv: list[str], env: Mapping[str, str], version: str | None) -> tuple[int, dict[str, Any], str]:
        """(exit code, the dry run's JSON report or {} when it printed none, stderr)."""
        self.runs += 1
        environ = {**self.base_env, **{k: v for k, v in env.items() if k not in CONTAINER_ENV}}
        if version is not None:
            environ["PATH"] = f"{self.bin_dir(version)}{os.pathsep}{self.base_env.get('PATH', '')}"
        options = ["--dry-run", "--json", "--artifacts-dir", str(self.root / "artifacts" / str(self.runs))]
        code, out, err = run_cli([*options, *argv], environ)
        report = json.loads(out) if out.lstrip().startswith("{") else {}
        return code, report, err


def refusals(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [finding for finding in findings if finding["severity"] == "refuse"]


def refusal_keys(findings: list[dict[str, Any]]) -> set[str]:
    """Each refusal, comparable across the doors: a registry requirement by its paste-ready fix (the launch names
    the layer and file it came from, the check the requirement), any other by its origin, rule and fix."""
    return {f"registry -> {f['fix']}" if _is_registry(f) else f"{f['origin']} -> {f['fix']}" for f in findings}


def _is_registry(finding: Mapping[str, Any]) -> bool:
    origin = finding["origin"].partition(":")[0]
    return origin.startswith("registry") or " layer " in f"{origin} "


def fixes(findings: list[dict[str, Any]]) -> set[str]:
    return {finding["fix"] for finding in refusals(findings) if finding["fix"]}


# ---- the corpus: every launch the check judged, given to the launcher -------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    hardware: str | None
    engine_version: str | None

    def check_argv(self) -> list[str]:
        argv = ["check", "--deploy-file", CORPUS, "--format", "json"]
        argv += ["--hardware", self.hardware] if self.hardware else []
        return argv + (["--engine-version", self.engine_version] if self.engine_version else [])


MODES = (Mode("plain", None, None), Mode("hardware", HARDWARE, None), Mode("version", HARDWARE, VERSION))


@dataclass
class Tally:
    verdicts: Counter[str] = field(default_factory=Counter)
    compared: int = 0
    agree: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def node_for(launch: Mapping[str, Any], mode: Mode) -> str:
    """The `--hardware` the launcher plans for: as many of the node's GPUs as the file gives the launch (a
    multi-pod group: its devices), else the node as given (a host sees all of its GPUs)."""
    group = launch.get("group")
    count = group["devices"] if group else launch.get("gpus")
    return f"{count}x{NODE}" if count else (mode.hardware or HARDWARE)


def launcher_versions(result: Mapping[str, Any], mode: Mode) -> list[str | None]:
    """The vLLM the launcher runs beside: the check's `--engine-version`, else the release the file pins, else
    each end of the releases the check judged the flags against (rule `stated-version`), else none."""
    if mode.engine_version:
        return [mode.engine_version]
    for note in result["notes"]:
        if pinned := _PINNED.search(note):
            return [pinned.group(1)]
    for note in result["notes"]:
        if span := _FLAGS_SPAN.search(note):
            first, _, last = span.group(1).partition("-")
            return [first, last] if last else [first]
    return [None]


def is_container_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or model.count("/") > 1


def engine_argv(result: Mapping[str, Any], root: Path, rules: set[str]) -> list[str]:
    """`ENGINE serve ARGS` as the file gives them, with the model as the check judged it (rules
    `model-named-by-file` and `container-path`)."""
    launch = result["launch"]
    args = list(launch["args"])
    written, judged = launch["model"], result["model"]
    if written and judged and written != judged:
        rules.add("model-named-by-file")
        args = [_with_model(token, written, judged) for token in args]
    elif judged and is_container_path(judged):
        rules.add("container-path")
        stand_in = root / "container" / judged.lstrip("/~.")
        stand_in.mkdir(parents=True, exist_ok=True)
        (stand_in / "config.json").write_text("{}\n")
        args = [_with_model(token, judged, str(stand_in)) for token in args]
    return [launch["engine"], "serve", *args]


def _with_model(token: str, written: str, model: str) -> str:
    if token == written:
        return model
    name, eq, value = token.partition("=")
    return f"{name}={model}" if eq and name == "--model" and value == written else token


def compare(result: Mapping[str, Any], mode: Mode, launcher: Launcher) -> tuple[set[str], str | None]:
    """The rules that applied to one launch, and how the doors disagree on it (None: they agree)."""
    launch = result["launch"]
    rules: set[str] = set()
    env = {name: value for name, value in launch["env"].items() if isinstance(value, str)}
    if set(env) & CONTAINER_ENV:
        rules.add("container-env")
    hardware = [] if "--hardware" in launch["wrapper"] else ["--hardware", node_for(launch, mode)]
    argv = [*hardware, *launch["wrapper"], "--", *engine_argv(result, launcher.root, rules)]
    versions = launcher_versions(result, mode)
    if versions != [None] and not mode.engine_version:
        rules.add("stated-version")
    for version in versions:
        code, report, err = launcher.run(argv, env, version)
        problem = disagreement(result, mode, code, report, err, rules)
        if problem is None and version is not None and report.get("engine_version") != version:
            problem = f"the launcher read vLLM {report.get('engine_version')}, not the stand-in {version}"
        if problem is not None:
            return rules, f"[{mode.name}, vLLM {version or 'unknown'}] {problem}"
    return rules, None


def disagreement(
    result: Mapping[str, Any], mode: Mode, code: int, report: Mapping[str, Any], err: str, rules: set[str]
) -> str | None:
    if code not in (0, EXIT_REFUSED) or not report:
        return f"check {result['verdict'].upper()}, the launcher exited {code}: {err.strip()[-400:]}"
    launch, why = result["launch"], (result.get("hardware") or {}).get("why") or ""
    refused = refusals(report["findings"])
    facts_unknown = [f["message"] for f in report["findings"] if f["origin"] == "vllm-rule:facts-unknown"]
    resolver_ran = mode.hardware is not None and not why.startswith(RESOLVER_NOT_RUN)
    if "container-path" in rules:
        if not facts_unknown:
            return "the launcher knows the model's facts from a stand-in config.json that says nothing"
        if resolver_ran and "is a path inside the container" not in why:
            return f"the check does not say the model is a path inside the container ({why or 'evaluated'})"
    elif resolver_ran:  # the model's facts matter to the resolver only
        check_blind = "config is not known here" in why or "is a path inside the container" in why
        launcher_blind = any("unknown model" in message for message in facts_unknown)
        rules.update(["model-unknown-here"] if check_blind else [])
        if check_blind != launcher_blind:
            knew, not_knew = ("the launcher", "the check") if check_blind else ("the check", "the launcher")
            return f"{knew} knew the model's facts, {not_knew} did not ({why or 'evaluated'})"
    if why.startswith(RESOLVER_NOT_RUN):
        # The resolver's rules the check evaluates without it (a pre-quantized method's checkpoint) stay compared.
        judged = {f["origin"] for f in result["findings"]}
        kept = [f for f in refused if f["origin"].partition(":")[0] not in RESOLVERS or f["origin"] in judged]
        rules.update(["resolver-not-run"] if len(kept) < len(refused) else [])
        refused = kept
    unexpanded = {token.partition("=")[2] if token.startswith("--") else token for token in launch["args"]}
    unexpanded = {value for value in unexpanded if "$" in value}
    kept = [f for f in refused if not any(value in f["message"] for value in unexpanded)]
    if len(kept) < len(refused):
        rules.add("value-at-start")
        said = " ".join([*launch["notes"], *result["notes"]])
        named = set(_VARIABLE.findall(said))
        if not any(value in said or set(_VARIABLE.findall(value)) & named for value in unexpanded):
            return f"the check passes {sorted(unexpanded)} without saying the value is not in the file"
    refused = kept
    ours, theirs = refusal_keys(refusals(result["findings"])), refusal_keys(refused)
    if (result["verdict"] == "fail") != bool(refused):
        side = "refuses" if refused else "would exec"
        said = "; ".join(f["message"] for f in (refused or refusals(result["findings"])))[:500]
        return f"check {result['verdict'].upper()}, the launcher {side}: {said}"
    if ours != theirs:
        return f"refused for other reasons: check {sorted(ours)}, launcher {sorted(theirs)}"
    return None


def no_model_declined(result: Mapping[str, Any], launcher: Launcher) -> str | None:
    """A launch that names no model (a Dockerfile's `vllm serve` whose model comes with `docker run`): the check
    cannot evaluate it, and the launcher stops on it too (a usage error), never one door passing it."""
    launch = result["launch"]
    code, _, err = launcher.run(["--hardware", HARDWARE, "--", launch["engine"], "serve", *launch["args"]], {}, None)
    if code != EXIT_USAGE or "no model given" not in err:
        return f"check: not evaluated (no model); the launcher exited {code}: {err.strip()[-300:]}"
    return None


def run_mode(mode: Mode, launcher: Launcher) -> Tally:
    code, out, err = run_cli(mode.check_argv(), launcher.base_env)
    assert code in (EXIT_PASS, EXIT_FAIL, 3) and "Traceback" not in err, err
    tally = Tally()
    for result in json.loads(out)["results"]:
        launch = result["launch"]
        where = f"{launch['file'].removeprefix(CORPUS + '/')}:{launch['line']}"
        tally.verdicts[result["verdict"]] += 1
        if result["verdict"] == "error":
            if (launch["model_why"] or "").startswith("no model argument"):
                tally.by_rule["no-model-both-decline"] += 1
                problem = no_model_declined(result, launcher)
                tally.problems += [f"{where} [{mode.name}] {problem}"] if problem else []
            continue
        rules, problem = compare(result, mode, launcher)
        tally.compared += 1
        tally.by_rule.update(rules)
        if problem is None:
            tally.agree += 1
        else:
            tally.problems.append(f"{where} {problem}")
    return tally


def run_corpus(root: Path, base_env: Mapping[str, str]) -> dict[str, Tally]:
    launcher = Launcher(root, base_env)
    return {mode.name: run_mode(mode, launcher) for mode in MODES}


def table(tallies: Mapping[str, Tally]) -> str:
    lines = ["check --deploy-file and the launcher's dry run, per launch of the corpus:"]
    lines.append(
        f"  {'mode':<10}{'launches':>9}{'pass':>6}{'fail':>6}{'n/e':>5}{'compared':>10}{'agree':>7}{'disagree':>10}"
    )
    for name, tally in tallies.items():
        v = tally.verdicts
        lines.append(
            f"  {name:<10}{sum(v.values()):>9}{v['pass']:>6}{v['fail']:>6}{v['error']:>5}{tally.compared:>10}"
            f"{tally.agree:>7}{tally.compared - tally.agree:>10}"
        )
    lines.append("  launches under each documented rule (docs/deploy-checks.md):")
    lines.append(f"    {'rule':<24}" + "".join(f"{name:>10}" for name in tallies))
    for rule in sorted({rule for tally in tallies.values() for rule in tally.by_rule}):
        counts = "".join(f"{tally.by_rule[rule]:>10}" for tally in tallies.values())
        lines.append(f"    {rule:<24}{counts}")
    problems = [problem for tally in tallies.values() for problem in tally.problems]
    lines += ["disagreements:", *(f"  {problem}" for problem in problems)] if problems else []
    return "\n".join(lines)


@pytest.fixture
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """The launcher writes its artifacts durably; hundreds of dry runs need not wait for the disk."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of parsed registries for the module's tests (each test's own HOME would start it cold)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def base_env(recipes_layer_on: None, no_fsync: None, module_cache: Path) -> dict[str, str]:
    """This test's environment (conftest's, with the shipped recipes layer as users get it), offline."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "KGC_NO_HUB": "1", "XDG_CACHE_HOME": str(module_cache)}


def test_check_and_launcher_agree_on_every_launch_of_the_corpus(tmp_path: Path, base_env: dict[str, str]) -> None:
    tallies = run_corpus(tmp_path, base_env)
    print("\n" + table(tallies))
    for tally in tallies.values():
        assert tally.compared >= 70 and tally.verdicts["fail"] >= 4
    assert tallies["hardware"].by_rule["stated-version"] >= 10
    assert [problem for tally in tallies.values() for problem in tally.problems] == []


# ---- the reverse: command lines the launcher refuses fail in a deploy file, with the same fixes -------------------

LLAMA, QWEN36, QWEN3_NEXT = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen3.6-27B-FP8",
    "Qwen/Qwen3-Next-80B-A3B-Instruct",
)


@dataclass(frozen=True)
class Refused:
    """A launch the launcher refuses: on `gpus` GPUs of `node`, beside vLLM `version` (None: not installed)."""

    name: str
    node: str
    gpus: int
    args: str
    version: str | None = None


REFUSED = [
    Refused("registry-missing-flag", "H100-SXM", 1, f"{QWEN36} --max-model-len 32768"),
    Refused("registry-missing-flag-pinned", "H100-SXM", 1, f"{QWEN36} --max-model-len 32768", "0.11.2"),
    Refused("registry-scoped-to-blackwell", "B200", 4, f"{QWEN3_NEXT} -tp 4", "0.24.0"),
    Refused("registry-by-alias", "B200", 4, f"{QWEN3_NEXT}-FP8 -tp 4", "0.24.0"),
    Refused("tp-over-gpus", "H100-SXM", 2, f"{LLAMA} -tp 4"),
    Refused("tp-times-pp-over-gpus", "H100-SXM", 2, f"{LLAMA} -tp 2 -pp 2"),
    Refused("tp-over-gpus-pinned", "L40S", 2, f"{LLAMA} --tensor-parallel-size=4", "0.13.0"),
    Refused("bf16-on-t4", "T4", 1, "Qwen/Qwen3-1.7B --dtype bfloat16"),
    Refused("bf16-on-t4-pinned", "T4", 1, "Qwen/Qwen3-1.7B --dtype bfloat16", "0.11.2"),
    Refused("bf16-on-v100", "V100-SXM2-32GB", 1, "Qwen/Qwen3-1.7B --dtype=bfloat16"),
    Refused("fp8-on-t4", "T4", 1, "Qwen/Qwen3-1.7B --quantization fp8 --dtype float16", "0.11.2"),
    Refused(
        "flash-attn-on-t4-pinned", "T4", 1, "Qwen/Qwen3-1.7B --dtype float16 --attention-backend FLASH_ATTN", "0.13.0"
    ),
    Refused("misspelled-flag", "H100-SXM", 1, f"{LLAMA} --tensor-paralel-size 1"),
    Refused("misspelled-flag-pinned", "H100-SXM", 1, f"{LLAMA} --max-model-length 4096", "0.11.2"),
    Refused("misspelled-flag-with-value", "H100-SXM", 1, f"{LLAMA} --gpu-memory-utilisation=0.8", "0.13.0"),
    Refused("removed-flag", "H100-SXM", 1, f"{LLAMA} --task generate", "0.13.0"),
    Refused("removed-flag-older", "H100-SXM", 1, f"{LLAMA} --num-scheduler-steps 8", "0.11.2"),
    Refused("removed-flag-newer", "H100-SXM", 1, f"{LLAMA} --disable-log-requests", "0.20.0"),
    Refused("not-an-integer", "H100-SXM", 1, f"{LLAMA} --max-num-seqs many"),
    Refused("context-over-the-model", "H100-SXM", 1, f"{LLAMA} --max-model-len 1000000"),
    Refused("weights-do-not-fit", "L4", 1, "meta-llama/Llama-3.1-70B-Instruct"),
    Refused("tp-does-not-divide-heads", "H100-SXM", 3, f"{LLAMA} -tp 3", "0.11.2"),
]


def deployment(case: Refused) -> str:
    """A minimal Deployment: vLLM's own image (its tag states the version), the command, its GPUs."""
    tag = f"v{case.version}" if case.version else "latest"
    command = json.dumps(["vllm", "serve", *case.args.split()])
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {case.name}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:{tag}
          command: {command}
          resources:
            limits:
              nvidia.com/gpu: {case.gpus}
"""


def script(case: Refused) -> str:
    """A shell script: the pinned install (it states the version), then the launch on the host's GPUs."""
    pin = f"pip install vllm=={case.version}\n" if case.version else ""
    return f"#!/bin/sh\nset -e\n{pin}exec vllm serve {case.args} --port 8000\n"


@pytest.mark.parametrize("case", REFUSED, ids=[case.name for case in REFUSED])
def test_a_launch_the_launcher_refuses_fails_in_a_deployment_and_a_script_with_the_same_fixes(
    tmp_path: Path, base_env: dict[str, str], case: Refused
) -> None:
    launcher = Launcher(tmp_path, base_env)
    node = f"{case.gpus}x{case.node}"
    code, report, err = launcher.run(["--hardware", node, "--", "vllm", "serve", *case.args.split()], {}, case.version)
    assert code == EXIT_REFUSED, err
    assert report["engine_version"] == case.version
    expected = fixes(report["findings"])
    assert expected, "a refusal with nothing to paste: the case says nothing about fix texts"
    for name, text, hardware in (("deploy.yaml", deployment(case), f"8x{case.node}"), ("serve.sh", script(case), node)):
        path = tmp_path / name
        path.write_text(text)
        code, out, err = run_cli(["check", "--deploy-file", str(path), "--hardware", hardware, "--json"], base_env)
        (result,) = json.loads(out)["results"]
        assert (code, result["verdict"]) == (EXIT_FAIL, "fail"), f"{name}: {err}{result}"
        assert fixes(result["findings"]) == expected, name
        assert refusal_keys(refusals(result["findings"])) == refusal_keys(refusals(report["findings"])), name


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        os.fsync = lambda fd: None  # as the `no_fsync` fixture: dry runs need not wait for the disk
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KGC_", "VLLM_", "HF_"))}
        env |= {"HOME": scratch, "HF_HUB_OFFLINE": "1", "KGC_NO_HUB": "1"}
        print(table(run_corpus(Path(scratch), env)))
