"""Find every engine launch under some paths: files, directories (recursive), globs and `-` (stdin).

Each file's kind comes from its name and content: `*.yaml` / `*.yml` are read as YAML and each document
as a Kubernetes object (`apiVersion` + `kind`), a compose file (`services`), Helm values of a chart that
renders an engine (production-stack `servingEngineSpec`, vLLM's example chart, llm-d modelservice) or a
SkyPilot task (`run`) or a GitHub Actions workflow / composite action (`steps[].run`); `Dockerfile`,
`Dockerfile.*`, `Dockerfile-*`, `*.Dockerfile`, `Containerfile` as
Dockerfiles; `*.sh`, `*.bash` and files whose `#!` line names a shell as shell scripts; `*.service` as
systemd units, `Makefile` / `*.mk` as Makefiles and `Procfile` as a Procfile (their commands read as a
shell script's). `-` is a YAML
stream on stdin (`helm template . | kgc-launch check --deploy-file -`); helm's `# Source: TEMPLATE`
comments name the template of each launch, in any YAML file.

A Helm chart template (Go template actions outside YAML strings, so not YAML yet) is not evaluated:
check the output of `helm template`. A values file whose strings hold `{{ ... }}` is still YAML and read.

Every file gets a status (`FileReport`), so that silence is never a pass:
- `launches`: the launches read from it (each then checked);
- `no launch`: it mentions no engine, or what it runs is known and is not one of ours (another engine,
  a shell, a disabled entry: `why` says which);
- `not evaluated`: it mentions an engine (`vllm`, `ferrum`, an engine image) but no launch could be
  read from it (`why` says why: an unknown ENTRYPOINT, a template, a script that is not in the file).

In a directory, files of other kinds are skipped and counted, and so are deploy files that never
mention an engine (`vllm`, `ferrum`, `kgc-launch`, `InferenceService`, `servingEngineSpec`, another
engine's name): such a file cannot launch one, so it is not parsed. A file named explicitly is always
parsed, unless the caller says named files are only candidates (pre-commit names every staged file). A
file that cannot be read or parsed is an `InputError` (with its line) in `errors`, and the scan goes on.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from kgc_launch.deploy import kserve
from kgc_launch.deploy.chart_values import chart_values_findings
from kgc_launch.deploy.compose import compose_findings
from kgc_launch.deploy.config_maps import ConfigMapData, config_maps_in
from kgc_launch.deploy.dockerfile import dockerfile_findings
from kgc_launch.deploy.fastyaml import read_documents
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.github_actions import github_actions_findings
from kgc_launch.deploy.helm_values import helm_values_findings
from kgc_launch.deploy.images import mentions_engine_text
from kgc_launch.deploy.kubernetes import PLAIN_KINDS, is_kubernetes, kubernetes_findings
from kgc_launch.deploy.launch import Launch, Note
from kgc_launch.deploy.makefile import is_makefile, makefile_findings
from kgc_launch.deploy.origin import SourceText
from kgc_launch.deploy.procfile import is_procfile, procfile_findings
from kgc_launch.deploy.script import is_shell_script, script_findings
from kgc_launch.deploy.skypilot import skypilot_findings
from kgc_launch.deploy.stated_version import from_image, from_project
from kgc_launch.deploy.systemd import is_systemd_unit, systemd_findings
from kgc_launch.errors import InputError
from kgc_launch.yamlio import read_text_limited

FileKind = Literal["yaml", "dockerfile", "shell", "systemd", "makefile", "procfile"]
Status = Literal["launches", "no launch", "not evaluated"]
STDIN = "-"
STDIN_NAME = "<stdin>"
HELM_TEMPLATE_WHY = "a Helm template (check the output of `helm template`)"

SKIP_DIRS = frozenset(
    [".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".nox", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", ".terraform", ".idea", ".vscode", ".direnv"]
)  # fmt: skip
# A file in a directory is parsed only when it holds one of these (lowercased): an engine's name, or the mark of a
# resource whose operator always starts one (Ray Serve LLM's `ray.serve.llm` builders name no engine at all).
_ENGINE_WORDS = (
    "vllm", "ferrum", "kgc-launch", "inferenceservice", "servingenginespec", "sglang", "llama", "ollama",
    "text-generation", "huggingfaceserver", "trtllm", "lmdeploy", "tritonserver", "ray.serve.llm",
)  # fmt: skip
_SOURCE_COMMENT = re.compile(r"^# Source: (\S.*?)\s*$", re.MULTILINE)
_LABEL_KEYS = frozenset(["metadata", "labels", "selector", "matchLabels", "annotations", "nodeSelector"])
_HELM_TEMPLATE = re.compile(
    r"\{\{-|-\}\}|\.Values\b|\.Release\b|\.Chart\b|\{\{\s*(?:include|if|range|with|define|toYaml)\b"
)
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass
class PathScan:
    """What one PATH argument covered: a caller reports a path with no launch at all."""

    path: str
    files: list[str] = field(default_factory=list)
    """The deploy files it covered (parsed or not)."""
    launches: int = 0
    exists: bool = True
    """False for a missing file or directory, or a glob that matched nothing."""


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class FileReport:
    """One file's status in a scan (see the module docstring)."""

    path: str
    status: Status
    why: str | None = None
    launches: int = 0


@dataclass
class ScanResult:
    launches: list[Launch] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    """Files that could not be read or parsed, each with its path and, where known, line."""
    notes: list[Note] = field(default_factory=list)
    """Things that mention an engine but are not a readable launch, each with its file (and line)."""
    paths: list[PathScan] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    """Files skipped for a reason worth saying (a Helm template, an unknown kind named explicitly)."""
    files_scanned: int = 0
    """Files read and parsed."""
    files_skipped: int = 0
    """Files looked at but not parsed: other kinds, or deploy files that never mention an engine."""
    files: list[FileReport] = field(default_factory=list)
    """Every deploy file looked at, with its status (launches, no launch, not evaluated: why)."""

    def count(self, status: Status) -> int:
        return sum(report.status == status for report in self.files)

    @property
    def files_with_launches(self) -> int:
        return len({launch.file for launch in self.launches})

    @property
    def empty_paths(self) -> list[PathScan]:
        """PATH arguments under which no launch was found (the caller must say so), leaving out those whose
        every file is already in `errors` (a missing path, a broken file: the error says it)."""
        failed = {error.path for error in self.errors}
        return [
            scan
            for scan in self.paths
            if scan.launches == 0 and scan.path not in failed and not (scan.files and set(scan.files) <= failed)
        ]


_SHELL_SUFFIXES = (".sh", ".bash", ".slurm", ".sbatch")  # Slurm batch scripts are bash with #SBATCH comments


def file_kind(path: Path, text: str | None = None) -> FileKind | None:
    """The kind of deploy file by name, or for a shell script by its `#!` line when `text` is given.
    Dockerfiles: `Dockerfile`, `Dockerfile.x`, `Dockerfile-x`, `Dockerfile_x`, `x.Dockerfile`,
    `x.dockerfile`, and the same with `Containerfile`."""
    name = path.name
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    for base in ("Dockerfile", "Containerfile", "dockerfile"):
        if name == base or name.startswith((f"{base}.", f"{base}-", f"{base}_")):
            return "dockerfile"
    if name.endswith((".Dockerfile", ".dockerfile", ".Containerfile", ".containerfile")):
        return "dockerfile"
    if (text is not None and is_shell_script(name, text)) or name.endswith(_SHELL_SUFFIXES):
        return "shell"
    if is_systemd_unit(name):
        return "systemd"
    if is_makefile(name):
        return "makefile"
    if is_procfile(name):
        return "procfile"
    return None


def scan_paths(
    paths: Sequence[str],
    *,
    compose_env: Mapping[str, str] | None = None,
    parse_named_files: bool = True,
    stdin: TextIO | None = None,
) -> ScanResult:
    """Every engine launch in the files under `paths` (files, directories, globs, `-` for stdin), in file
    and line order.

    `compose_env` plays the shell that runs `docker compose`: its variables win over `.env` files.
    `parse_named_files=False` treats a named file as one found in a directory: skipped unparsed when it
    never mentions an engine (pre-commit names every staged YAML file, deployment or not). `stdin` is
    what `-` reads (default `sys.stdin`).
    """
    result = ScanResult()
    seen: dict[str, Findings | None] = {}
    expanded: list[tuple[PathScan, list[tuple[str, bool]]]] = []
    for argument in paths:
        scan = PathScan(argument)
        result.paths.append(scan)
        expanded.append((scan, [] if argument == STDIN else _expand(argument, scan, result.errors)))
    # ConfigMaps first: a container's env may take values from one in another scanned file.
    maps = _config_maps([file for _, files in expanded for file, _ in files])
    for scan, files in expanded:
        if scan.path == STDIN:
            scan.files.append(STDIN_NAME)
            if STDIN_NAME not in seen:
                text = (stdin or sys.stdin).read()
                seen[STDIN_NAME] = _scan_text(STDIN_NAME, text, "yaml", True, result, compose_env, maps)
            continue
        for file, explicit in files:
            scan.files.append(file)
            if file not in seen:
                explicit = explicit and parse_named_files
                seen[file] = _scan_file(file, explicit=explicit, result=result, compose_env=compose_env, maps=maps)
    _collect(seen, result)
    return result


def _config_maps(files: Sequence[str]) -> list[ConfigMapData]:
    """The ConfigMaps of the YAML files to scan (read again when scanned; errors are said then)."""
    found: list[ConfigMapData] = []
    for file in dict.fromkeys(files):
        if file_kind(Path(file)) != "yaml":
            continue
        try:
            text = read_text_limited(Path(file), what="deploy file")
            if "ConfigMap" in text:
                found += config_maps_in(read_documents(file, text), file)
        except InputError:
            continue
    return found


def _expand(argument: str, scan: PathScan, errors: list[InputError]) -> list[tuple[str, bool]]:
    """(file, named explicitly) for a PATH argument."""
    if _GLOB_CHARS.search(argument):
        matches = sorted(glob.glob(argument, recursive=True))
        scan.exists = bool(matches)
        files: list[tuple[str, bool]] = []
        for match in matches:
            files += _walk(match) if os.path.isdir(match) else [(match, False)]
        return files
    if os.path.isdir(argument):
        return _walk(argument)
    if os.path.exists(argument):
        return [(argument, True)]
    scan.exists = False
    if os.path.islink(argument):  # exists() follows links: a loop or a dangling link reads as missing
        try:
            os.stat(argument)
        except OSError as error:
            errors.append(InputError(f"cannot read it: {error.strerror}", path=argument, hint="fix the link"))
            return []
    errors.append(InputError("no such file or directory", path=argument, hint="check the path"))
    return []


def _walk(directory: str) -> list[tuple[str, bool]]:
    files: list[tuple[str, bool]] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            files.append((os.path.join(root, name), False))
    return files


def _scan_file(
    file: str,
    *,
    explicit: bool,
    result: ScanResult,
    compose_env: Mapping[str, str] | None,
    maps: Sequence[ConfigMapData] = (),
) -> Findings | None:
    path = Path(file)
    kind = file_kind(path)
    if kind is None and path.suffix == ".py":
        _python_file(file, path, explicit, result)
        return None
    if kind is None and not explicit and not _may_be_script(path):
        result.files_skipped += 1
        return None
    try:
        text = read_text_limited(path, what="deploy file")
    except InputError as error:
        result.files_scanned += 1
        result.errors.append(error)
        result.files.append(FileReport(file, "not evaluated", error.message))
        return None
    kind = kind or file_kind(path, text)
    if kind is None:
        result.files_skipped += 1
        if explicit:
            result.skipped.append(SkippedFile(file, NOT_A_KIND))
        return None
    if not explicit and not any(word in text.lower() for word in _ENGINE_WORDS):
        result.files_skipped += 1
        result.files.append(FileReport(file, "no launch"))
        return None
    return _scan_text(file, text, kind, explicit, result, compose_env, maps)


def _scan_text(
    file: str,
    text: str,
    kind: FileKind,
    explicit: bool,
    result: ScanResult,
    compose_env: Mapping[str, str] | None,
    maps: Sequence[ConfigMapData] = (),
) -> Findings | None:
    result.files_scanned += 1
    template = kind == "yaml" and "{{" in text and _HELM_TEMPLATE.search(text) is not None
    if template and _in_chart_templates(file):
        return _template(file, text, result)
    try:
        findings = read_findings(kind, text, file, compose_env=compose_env, config_maps=maps)
    except InputError as error:
        if template:  # Go template actions outside strings: not YAML until `helm template` renders it
            return _template(file, text, result)
        if error.path is None:  # a reader deep inside (the shell lexer) knows the line, not the file
            error.path = file
        result.errors.append(error)
        result.files.append(FileReport(file, "not evaluated", f"cannot be read: {error.message}"))
        return None
    if template and any(_HELM_TEMPLATE.search(" ".join(launch.args)) for launch in findings.launches):
        return _template(file, text, result)  # parsed as YAML, but its commands are still Go templates
    _name_templates(findings, text)
    findings.mention = _mention(kind, text, findings)
    return findings


def _template(file: str, text: str, result: ScanResult) -> Findings | None:
    """A Helm chart template: not evaluated when it names an engine (nothing is read from it)."""
    mention = mentions_engine_text(_without_comments(text))
    if mention is None:
        result.files.append(FileReport(file, "no launch", "a Helm template that names no engine"))
    else:
        result.files.append(FileReport(file, "not evaluated", HELM_TEMPLATE_WHY))
        result.notes.append(Note(file, None, f"not evaluated: {HELM_TEMPLATE_WHY}", unevaluated=True))
    return None


def _in_chart_templates(file: str) -> bool:
    """A file under a chart's `templates/` directory (a `Chart.yaml` beside that directory)."""
    path = Path(file).resolve()
    for parent in path.parents:
        if parent.name == "templates":
            return (parent.parent / "Chart.yaml").is_file()
    return False


def _name_templates(findings: Findings, text: str) -> None:
    """Each launch's Helm template, from the `# Source: TEMPLATE` comment above it (`helm template` output)."""
    marks = [(text.count("\n", 0, match.start()) + 1, match.group(1)) for match in _SOURCE_COMMENT.finditer(text)]
    if not marks:
        return
    for launch in findings.launches:
        line = launch.container_line or launch.line
        if line is None:
            continue
        sources = [source for start, source in marks if start <= line]
        if sources:
            launch.template = sources[-1]


def _mention(kind: FileKind, text: str, findings: Findings) -> tuple[str, str] | None:
    """(the engine word, where) when the file mentions an engine: where is "" for a mention that may
    launch it, else `names and labels` or `comments` (which cannot)."""
    uncommented = _without_comments(text)
    if kind == "yaml":
        found = _mention_in(findings.documents, labels=False)
        if found is not None:
            return found, ""
        found = mentions_engine_text(uncommented)
        if found is not None:
            return found, "names and labels"
    else:
        found = mentions_engine_text(uncommented)
        if found is not None:
            return found, ""
    found = mentions_engine_text(text)
    return None if found is None else (found, "comments")


def _mention_in(node: Any, *, labels: bool) -> str | None:
    """An engine word in the keys and strings of loaded YAML, leaving out names, labels and selectors, and
    Kubernetes kinds that run nothing (a Service named vllm)."""
    if isinstance(node, dict):
        if is_kubernetes(node) and str(node.get("kind")) in PLAIN_KINDS:
            return None
        for key, value in node.items():
            if str(key) in _LABEL_KEYS and not labels:
                continue
            found = mentions_engine_text(str(key)) if isinstance(key, str) else None
            found = found or _mention_in(value, labels=labels)
            if found is not None:
                return found
        return None
    if isinstance(node, list):
        for item in node:
            found = _mention_in(item, labels=labels)
            if found is not None:
                return found
        return None
    return mentions_engine_text(node) if isinstance(node, str) else None


def _without_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


# An engine server started from Python (a Modal app, a launcher script): the command words as code writes them.
_PYTHON_LAUNCH = re.compile(
    r"""\b(?:vllm|ferrum)\s+serve\b|["'](?:vllm|ferrum)["']\s*,\s*["']serve["']"""
    r"""|\bvllm\.entrypoints\.(?:openai\.)?api_server\b"""
)
NOT_A_KIND = "not a kind of deploy file read here (YAML, Dockerfile, shell script, systemd unit, Makefile, Procfile)"
PYTHON_NOT_READ = (
    "a Python file that starts an engine server: a command built in Python code is not read here; run "
    "kgc-launch on the command it builds (kgc-launch --dry-run vllm serve ...), or check it as a shell script"
)


def _python_file(file: str, path: Path, explicit: bool, result: ScanResult) -> None:
    """`*.py` is no deploy-file kind, but a Python file that starts an engine server is said, not skipped."""
    try:
        text = read_text_limited(path, what="Python file")
    except InputError:
        text = ""
    if _PYTHON_LAUNCH.search(text):
        result.files_scanned += 1
        result.files.append(FileReport(file, "not evaluated", PYTHON_NOT_READ))
        return
    result.files_skipped += 1
    if explicit:
        result.skipped.append(SkippedFile(file, f"{NOT_A_KIND}; it starts no engine server"))


def _may_be_script(path: Path) -> bool:
    """Files without a known name that could be shell scripts: look at the `#!` line (cheap: 2 bytes)."""
    if path.suffix or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def read_findings(
    kind: FileKind,
    text: str,
    file: str,
    *,
    compose_env: Mapping[str, str] | None = None,
    config_maps: Sequence[ConfigMapData] = (),
) -> Findings:
    """One file's findings by its kind (raises InputError when it cannot be parsed); `config_maps` are those
    of the other scanned files."""
    if kind == "dockerfile":
        return dockerfile_findings(text, file)
    if kind == "shell":
        return script_findings(text, file)
    if kind == "systemd":
        return systemd_findings(text, file)
    if kind == "makefile":
        return makefile_findings(text, file)
    if kind == "procfile":
        return procfile_findings(text, file)
    documents = read_documents(file, text)
    source = SourceText(text)
    findings = kubernetes_findings(documents, file, source, config_maps)
    for more in (
        compose_findings(documents, file, compose_env, source),
        helm_values_findings(documents, file),
        chart_values_findings(documents, file, source),
        skypilot_findings(documents, file, source),
        github_actions_findings(documents, file, source),
    ):
        findings.merge(more)
    findings.documents = documents
    return findings


def _collect(seen: dict[str, Findings | None], result: ScanResult) -> None:
    order = {file: position for position, file in enumerate(seen)}
    runtimes: list[kserve.RuntimeTemplate] = []
    references: list[kserve.ModelReference] = []
    for file, findings in seen.items():
        if findings is None:
            continue
        result.launches += findings.launches
        result.notes += [Note(file, None, note) for note in findings.notes]
        result.notes += [Note(file, None, note, unevaluated=True) for note in findings.unevaluated]
        runtimes += findings.runtimes
        references += findings.references
    try:
        launches, notes = kserve.resolve(runtimes, references)
    except InputError as error:
        result.errors.append(error)
    else:
        result.launches += launches
        result.notes += notes
    result.launches.sort(key=lambda launch: (order.get(launch.file, len(order)), launch.line or 0))
    for launch in result.launches:
        _project_version(launch)
    counts: dict[str, int] = {}
    for launch in result.launches:
        counts[launch.file] = counts.get(launch.file, 0) + 1
    for scan in result.paths:
        scan.launches = sum(counts.get(file, 0) for file in set(scan.files))
    _statuses(seen, counts, result)


def _project_version(launch: Launch) -> None:
    """A vLLM launch whose file states no vLLM version (no pip requirement, no version tag of vLLM's image)
    takes its project's requirement, if the project states one (`stated_version.from_project`)."""
    if launch.engine != "vllm" or launch.stated_versions or from_image(launch.image, launch.file) is not None:
        return
    launch.stated_versions += from_project(launch.file)


def _statuses(seen: dict[str, Findings | None], counts: dict[str, int], result: ScanResult) -> None:
    """Each parsed file's status (the others got theirs when they were skipped or failed)."""
    notes: dict[str, list[Note]] = {}
    for note in result.notes:
        notes.setdefault(note.file, []).append(note)
    for file, findings in seen.items():
        if findings is None:
            continue
        own = notes.get(file, [])
        unevaluated = [note.text for note in own if note.unevaluated]
        if counts.get(file):
            result.files.append(FileReport(file, "launches", None, counts[file]))
        elif unevaluated:
            result.files.append(FileReport(file, "not evaluated", "; ".join(unevaluated)))
        elif own:
            result.files.append(FileReport(file, "no launch", "; ".join(note.text for note in own)))
        elif findings.mention is not None and not findings.mention[1]:
            why = f"it mentions {findings.mention[0]}, but no launch could be read from it"
            result.files.append(FileReport(file, "not evaluated", why))
            result.notes.append(Note(file, None, f"not evaluated: {why}", unevaluated=True))
        elif findings.mention is not None:
            why = f"{findings.mention[0]} appears only in {findings.mention[1]}"
            result.files.append(FileReport(file, "no launch", why))
        else:
            result.files.append(FileReport(file, "no launch"))
    position = {file: index for index, file in enumerate(seen)}
    result.files.sort(key=lambda report: position.get(report.path, len(position)))
