"""The `Launch` record (one engine start found in a deploy file) and how a command line is recognised as one.

A launch is what an engine process would receive: the tokens after `serve`, the environment it would see
and, where the deploy file says, the GPUs it is given. Values a file does not hold (a Secret, a
`valueFrom`, an unset compose variable) are kept as an explicit `Unknown` with the reason, never guessed.

Recognised command lines (`recognise_command`): the engine starts that `kgc_launch.engines.recognise` knows
(the launcher's own rule), and what runs them:
    kgc-launch [kgc options] [--] ENGINE ...        (the launch kgc-launch would exec)
    env [-i] [VAR=x]... CMD, exec CMD, nohup CMD, nice, setsid, stdbuf, numactl, tini/dumb-init -- CMD,
    srun [OPTIONS] CMD (Slurm), ray symmetric-run [OPTIONS] -- CMD, systemd-run [OPTIONS] CMD,
    uv run / poetry run / pipenv run / pdm run / conda (mamba, micromamba) run [OPTIONS] CMD
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kgc_launch.deploy.accelerators import Accelerator
from kgc_launch.deploy.images import image_entrypoint, image_repository, is_engine_image, mentions_engine_text
from kgc_launch.hardware.groups import Group
from kgc_launch.launch_options import FLAG_OPTIONS, VALUE_OPTIONS

if TYPE_CHECKING:
    from kgc_launch.deploy.stated_version import StatedVersion
    from kgc_launch.serve_args import ServeArgs

__all__ = ["image_entrypoint", "image_repository"]

Engine = Literal["vllm", "ferrum"]
SourceKind = Literal["kubernetes", "helm-values", "compose", "dockerfile", "shell"]


@dataclass(frozen=True)
class Unknown:
    """A value the deploy file does not hold (a Secret, a `valueFrom`, an unset variable): `why` says so."""

    why: str
    text: str | None = field(default=None, compare=False)
    """For a shell variable built partly from unknown values: its text with those parts as written
    (`vllm serve $MODEL --port 80`), for a command that runs it; None when nothing of it is known."""

    def __str__(self) -> str:
        return f"<unknown: {self.why}>"


EnvValue = str | Unknown


@dataclass(frozen=True)
class Note:
    """Something in a file that mentions an engine but is not a readable launch (said, not guessed)."""

    file: str
    line: int | None
    text: str
    unevaluated: bool = False
    """True when it could not be read at all (the file is then 'not evaluated' unless it has launches)."""

    def __str__(self) -> str:
        return f"{self.file}{'' if self.line is None else f':{self.line}'}: {self.text}"


@dataclass(frozen=True)
class ModelHint:
    """Something in the file that names a model: for `path` (a directory it fills), or the launch itself."""

    model: str
    path: str | None
    source: str
    """Where it is said, for the report: `init container download (line 12)`, `annotation kgc-launch.io/model`."""
    kind: str = "download"
    """`download`, `annotation` or `operator` (the choice's order)."""


@dataclass
class Launch:
    """One engine launch found in a deploy file."""

    file: str
    """The file as it was given or found (relative paths stay relative)."""
    line: int | None
    """1-based line of the container, service, instruction or command that launches the engine."""
    object: str
    """What launches it: `Deployment/name/container`, `service NAME`, `final stage`, `command`, ..."""
    source: SourceKind
    """Which reader found it."""
    engine: Engine
    args: list[str]
    """The engine's argument tokens, after `serve` (or after the api_server module)."""
    env: dict[str, EnvValue] = field(default_factory=dict)
    """The environment the engine would see, as far as the file says; unknown values are `Unknown`."""
    gpus: int | None = None
    """GPUs given to the container/service (`nvidia.com/gpu`, compose device count), None when not said."""
    image: str | None = None
    wrapper: list[str] = field(default_factory=list)
    """kgc-launch's own options when the engine is started through `kgc-launch [options] ENGINE ...`."""
    nodes: int | None = None
    """Pods in a multi-node group (a LeaderWorkerSet's size); None for a single-node launch."""
    notes: list[str] = field(default_factory=list)
    model: str | None = None
    """The model the engine is asked to serve; None when the file does not say (`model_why` says why)."""
    model_why: str | None = None
    container_line: int | None = None
    """The line of what runs the command (the Kubernetes container item, the compose service key, the
    operator resource); `line` is where the engine command itself starts."""
    accelerator: Accelerator | None = None
    """The devices each pod asks for, of any vendor (`gpus` counts NVIDIA GPUs only)."""
    group: Group | None = None
    """The pods that form one engine instance and their devices, for a multi-node launch."""
    model_source: str | None = None
    """Where the model id comes from when it is not simply the command line's (an init container's
    download, an operator's field, an annotation)."""
    model_hints: list[ModelHint] = field(default_factory=list)
    """What else in the file names the model (downloads into a directory, annotations, storage URIs)."""
    rejections: list[str] = field(default_factory=list)
    """Why the engine would reject the command as written, before starting (read from the file itself)."""
    unevaluated: str | None = None
    """Why this launch cannot be evaluated at all (the ENTRYPOINT of its image is unknown)."""
    template: str | None = None
    """The Helm template this launch was rendered from (`# Source:` in `helm template` output)."""
    stated_versions: list[StatedVersion] = field(default_factory=list)
    """What the file says of the vLLM version it runs (a `pip install vllm==X` before it, its base image's
    tag); see `kgc_launch.deploy.stated_version`."""

    def __post_init__(self) -> None:
        if self.model is None and self.model_why is None:
            self.model, self.model_why = model_of(self.engine, self.args)
        if self.container_line is None:
            self.container_line = self.line

    @property
    def location(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"

    @property
    def wrapped(self) -> bool:
        return bool(self.wrapper)

    def command_line(self) -> str:
        """The engine command as a shell would read it (for messages, not for running)."""
        import shlex

        return shlex.join([self.engine, "serve", *self.args])

    def known_env(self) -> dict[str, str]:
        return {name: value for name, value in self.env.items() if isinstance(value, str)}

    def unknown_env(self) -> dict[str, str]:
        """Variables set to values the file does not hold, with the reason."""
        return {name: value.why for name, value in self.env.items() if isinstance(value, Unknown)}

    def serve_args(self) -> ServeArgs:
        """The arguments as the engine reads them (its adapter's `registry_args`)."""
        from kgc_launch.engines import engine_adapter

        return engine_adapter(self.engine).registry_args(self.args)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON reports; unknown environment values become `{"unknown": why}`."""
        return {
            "file": self.file,
            "line": self.line,
            "object": self.object,
            "source": self.source,
            "engine": self.engine,
            "model": self.model,
            "model_why": self.model_why,
            "args": list(self.args),
            "env": {
                name: value if isinstance(value, str) else {"unknown": value.why} for name, value in self.env.items()
            },
            "gpus": self.gpus,
            "nodes": self.nodes,
            "image": self.image,
            "wrapper": list(self.wrapper),
            "notes": list(self.notes),
            "container_line": self.container_line,
            "accelerator": None
            if self.accelerator is None
            else {"kind": self.accelerator.kind, "count": self.accelerator.count, "source": self.accelerator.source},
            "group": None
            if self.group is None
            else {"kind": self.group.kind, "pods": self.group.pods, "devices": self.group.devices},
            "model_source": self.model_source,
            "rejections": list(self.rejections),
            "unevaluated": self.unevaluated,
            "template": self.template,
            "stated_versions": [
                {"specifier": v.specifier, "evidence": v.evidence, "where": v.where} for v in self.stated_versions
            ],
        }


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else an empty one: for reading optional parts of other tools' files."""
    return value if isinstance(value, dict) else {}


def has_unexpanded(token: str) -> bool:
    """True when a token still holds a `$VAR`, `${VAR}` or `$(VAR)` that could not be expanded here."""
    return "$" in token


def model_of(engine: Engine, args: Sequence[str]) -> tuple[str | None, str | None]:
    """The model an engine's arguments name, or None with the reason."""
    if engine == "ferrum":
        model, why = _ferrum_model(args)
    else:
        model, why = _vllm_model(args)
    if model is not None and has_unexpanded(model):
        return None, f"the model is built from {model!r}, whose value is not known here"
    if model is not None and not model.strip():
        return None, "the model argument is empty in the file (a variable with an empty value or default)"
    return model, why


def _vllm_model(args: Sequence[str]) -> tuple[str | None, str | None]:
    from kgc_launch.vllm.args import parse_serve_args

    parsed = parse_serve_args(args)
    if parsed.model is not None:
        return parsed.model, None
    if parsed.config_file is not None:
        return None, f"no model on the command line; --config {parsed.config_file} may set it (not read here)"
    return None, "no model argument: vLLM would serve its built-in default model"


# ferrum's serve options that take a value (docs: /work/shared/reference/ferrum.md, "Launching ferrum").
_FERRUM_VALUE_FLAGS = frozenset(
    [
        "--host",
        "-p",
        "--port",
        "--gpu-memory-utilization",
        "--kv-dtype",
        "--runtime-preset",
        "--effective-config-json",
        "--decision-trace-jsonl",
        "--profile-jsonl",
    ]
)


def _ferrum_model(args: Sequence[str]) -> tuple[str | None, str | None]:
    positional: str | None = None
    index = 0
    while index < len(args):
        token = args[index]
        if token in ("-m", "--model") and index + 1 < len(args):
            return args[index + 1], None
        if token.startswith("--model="):
            return token.removeprefix("--model="), None
        if token in _FERRUM_VALUE_FLAGS:
            index += 2
            continue
        if positional is None and not token.startswith("-"):
            positional = token
        index += 1
    if positional is None:
        return None, "no model argument (ferrum serve MODEL or -m MODEL)"
    return positional, None


def mentions_engine(tokens: Sequence[str], image: str | None = None) -> bool:
    """Whether a command or image even mentions an engine (used to decide if silence deserves a note)."""
    return is_engine_image(image) or mentions_engine_text(" ".join(tokens)) is not None


# --- Command lines ----------------------------------------------------------------------------------------


@dataclass
class EngineCommand:
    """An engine start recognised in an argv: the engine, its serve tokens and what wrapped it."""

    engine: Engine
    args: list[str]
    env: dict[str, EnvValue] = field(default_factory=dict)
    """Variables set for this command only (`env VAR=x ...`, `VAR=x cmd` in a shell)."""
    wrapper: list[str] = field(default_factory=list)
    """kgc-launch's options when wrapped by kgc-launch."""
    notes: list[str] = field(default_factory=list)


# Slurm's `srun [OPTIONS] CMD` runs CMD as a job step (`man srun`): its options that take a value when written
# as a separate word (`-p gpu`, `--gres gpu:8`); `--opt=value` and `-n1` are one word.
# fmt: off
_SRUN_VALUE_OPTIONS = frozenset([
    "-A", "-c", "-C", "-D", "-d", "-e", "-G", "-i", "-J", "-L", "-m", "-M", "-n", "-N", "-o", "-p", "-q", "-r", "-S",
    "-t", "-T", "-w", "-W", "-x", "--account", "--chdir", "--comment", "--constraint", "--container-image",
    "--container-mounts", "--container-name", "--container-workdir", "--cpu-bind", "--cpus-per-gpu",
    "--cpus-per-task", "--dependency", "--distribution", "--error", "--exclude", "--export", "--gpu-bind", "--gpus",
    "--gpus-per-node", "--gpus-per-task", "--gres", "--het-group", "--input", "--job-name", "--jobid", "--licenses",
    "--mem", "--mem-per-cpu", "--mem-per-gpu", "--mpi", "--network", "--nodelist", "--nodes", "--ntasks",
    "--ntasks-per-gpu", "--ntasks-per-node", "--output", "--partition", "--qos", "--reservation", "--time",
])
# `systemd-run [OPTIONS] CMD` runs CMD as a transient unit (`--scope -p MemoryMax=90%`, `man systemd-run`).
_SYSTEMD_RUN_VALUE_OPTIONS = frozenset([
    "-p", "--property", "-u", "--unit", "--description", "--slice", "-E", "--setenv", "--uid", "--gid",
    "--nice", "-M", "--machine", "-H", "--host", "--working-directory", "-D", "--service-type",
    "--on-active", "--on-boot", "--on-startup", "--on-unit-active", "--on-unit-inactive", "--on-calendar",
    "--timer-property", "--path-property", "--socket-property",
])
# fmt: on

# Programs that run the rest of their argv as a command, with the options of theirs that take a value.
_WRAPPERS: dict[str, frozenset[str]] = {
    "exec": frozenset(["-a"]),
    "env": frozenset(["-u", "--unset", "-C", "--chdir"]),
    "nohup": frozenset(),
    "nice": frozenset(["-n", "--adjustment"]),
    "setsid": frozenset(),
    "stdbuf": frozenset(["-i", "-o", "-e"]),
    "numactl": frozenset(["-N", "-m", "-C", "-p", "-i", "--cpunodebind", "--membind", "--physcpubind"]),
    "tini": frozenset(["-p", "-e"]),
    "dumb-init": frozenset(["--rewrite", "-r"]),
    "time": frozenset(["-f", "-o"]),
    "srun": _SRUN_VALUE_OPTIONS,
    "systemd-run": _SYSTEMD_RUN_VALUE_OPTIONS,
}
# fmt: off
# Project and environment managers whose `TOOL run [OPTIONS] CMD` runs CMD in the project's environment
# (`uv run vllm serve`, `conda run -n vllm python -m vllm...`), with their options that take a value.
_PROJECT_RUNNERS: dict[str, frozenset[str]] = {
    "uv": frozenset([
        "--with", "--with-editable", "--with-requirements", "-p", "--python", "--project", "--directory",
        "--package", "--extra", "--group", "--only-group", "--no-group", "--env-file", "--index",
        "--default-index", "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--config-file",
        "--cache-dir", "--index-strategy", "--keyring-provider", "--resolution", "--prerelease",
        "--exclude-newer", "--link-mode", "-P", "--upgrade-package", "--reinstall-package",
        "--refresh-package", "-C", "--config-setting", "--python-platform", "--no-binary-package",
        "--no-build-package", "--color", "--allow-insecure-host", "--no-extra",
    ]),
    "poetry": frozenset(["-C", "--directory", "-P", "--project"]),
    "pipenv": frozenset(),
    "pdm": frozenset(["-p", "--project"]),
    "conda": frozenset(["-n", "--name", "-p", "--prefix", "--cwd"]),
    "mamba": frozenset(["-n", "--name", "-p", "--prefix", "--cwd"]),
    "micromamba": frozenset(["-n", "--name", "-p", "--prefix", "--cwd"]),
}
# fmt: on
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def engine_launch_from_argv(argv: Sequence[str]) -> tuple[Engine, list[str]] | None:
    """`(engine, serve tokens)` when `argv` starts an engine (see the module docstring), else None."""
    command = recognise_command(argv)
    return None if command is None else (command.engine, command.args)


def recognise_command(argv: Sequence[str], forced: str | None = None) -> EngineCommand | None:
    """The engine start in an argv, with the environment and kgc-launch options that wrap it, or None.
    `forced` is kgc-launch's `--engine` (the engine of an executable with another name)."""
    tokens, env = strip_wrappers(argv)
    if not tokens:
        return None
    program = posixpath.basename(tokens[0])
    if program == "kgc-launch":
        return _kgc_wrapped(tokens, env)
    notes: list[str] = []
    found = _engine_start(tokens, notes, forced)
    if found is None:
        return None
    engine, args = found
    return EngineCommand(engine, args, env, [], notes)


def strip_wrappers(argv: Sequence[str]) -> tuple[list[str], dict[str, EnvValue]]:
    """The command that `exec`, `env VAR=x`, `nohup`, `tini --`, ... run, and the variables `env` sets."""
    env: dict[str, EnvValue] = {}
    tokens = list(argv)
    for _ in range(16):  # wrappers nest (`exec env X=1 nohup vllm serve`), never this deep in practice
        if tokens[:2] == ["ray", "symmetric-run"] and "--" in tokens:
            # `ray symmetric-run [OPTIONS] -- CMD` starts Ray on every node, then runs CMD on the head (the vLLM
            # docs' multi-node recipe): the command after `--` is the launch.
            tokens = tokens[tokens.index("--") + 1 :]
            continue
        program = posixpath.basename(tokens[0]) if tokens else ""
        if program in _PROJECT_RUNNERS and tokens[1:2] == ["run"]:
            tokens = _after_options(tokens[2:], _PROJECT_RUNNERS[program])
            continue
        if program not in _WRAPPERS:
            break
        tokens = _after_wrapper(program, tokens, env)
    return tokens, env


def _after_wrapper(program: str, tokens: list[str], env: dict[str, EnvValue]) -> list[str]:
    value_options = _WRAPPERS[program]
    index = 1
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            return tokens[index + 1 :]
        if program == "env" and _ASSIGNMENT.match(token):
            name, _, value = token.partition("=")
            env[name] = value
        elif token in value_options:
            index += 1
        elif not token.startswith("-") or (token == "-" and program != "env"):
            return tokens[index:]
        index += 1
    return []


def _after_options(tokens: list[str], value_options: frozenset[str]) -> list[str]:
    """The command after a runner's options (`--with x`, `-n env`, `--no-sync`; `--opt=value` is one word)."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            return tokens[index + 1 :]
        if not token.startswith("-"):
            return tokens[index:]
        index += 2 if token in value_options else 1
    return []


def _engine_start(tokens: list[str], notes: list[str], forced: str | None = None) -> tuple[Engine, list[str]] | None:
    from kgc_launch.engines import LEGACY_SERVER, recognise

    command = recognise(tokens, forced)
    if command is None:
        return None
    if command.prefix[-1] == LEGACY_SERVER:
        notes.append(
            f"started as vLLM's legacy demo server (`python -m {LEGACY_SERVER}`): it reads vLLM's engine "
            "arguments (the model as --model) and --host/--port/--ssl-*/--root-path, not the OpenAI server's "
            "own options (--api-key, --chat-template, ...), which are checked here as `vllm serve` reads them"
        )
    elif command.prefix[-1].endswith(".api_server"):
        notes.append(f"started as `python -m {command.prefix[-1]}`: it reads the same flags as `vllm serve`")
    engine: Engine = "ferrum" if command.engine == "ferrum" else "vllm"
    return engine, command.serve_args


def _kgc_wrapped(tokens: list[str], env: dict[str, EnvValue]) -> EngineCommand | None:
    notes: list[str] = []
    forced: str | None = None
    index = 1
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            index += 1
            break
        if not token.startswith("-"):
            break
        name, eq, inline = token.partition("=")
        if name in VALUE_OPTIONS:
            value = inline if eq else tokens[index + 1] if index + 1 < len(tokens) else None
            forced = value if name == "--engine" and value in ("vllm", "ferrum") else forced
            index += 1 if eq else 2
            continue
        if name not in FLAG_OPTIONS:
            notes.append(f"kgc-launch option {token!r} is not one this scanner knows: read as a flag")
        index += 1
    inner = recognise_command(tokens[index:], forced)
    if inner is None:
        return None
    inner.env = {**env, **inner.env}
    # `kgc-launch vllm serve ...` has no options, but it is a launch through kgc-launch all the same.
    inner.wrapper = tokens[1:index] or ["--"]
    inner.notes = notes + inner.notes
    return inner


def merged_env(*layers: Mapping[str, EnvValue]) -> dict[str, EnvValue]:
    """Later layers win, as a process environment built up from image, container and command would."""
    result: dict[str, EnvValue] = {}
    for layer in layers:
        result.update(layer)
    return result
