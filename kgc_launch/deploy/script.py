"""Shell scripts as deploy files -> the engine launches among their commands.

Each command of the script (shell.py: variables, quoting, continuations, heredocs) is a launch when it
starts an engine (`vllm serve`, `exec vllm serve "$@"`, `kgc-launch ... vllm serve`), runs a shell on one
(`bash -c "vllm serve ..."`), or runs a container that does (`docker run ... vllm/vllm-openai ARGS`). A
`docker run` of an image whose ENTRYPOINT is not known is reported as not evaluated when the image or its
args mention an engine; another engine's start is named (not checked); `eval` of a command built at run
time is said, and so is a model download (`huggingface-cli download ORG/NAME --local-dir DIR`), which names
the model of a later launch that serves DIR, and a `pip install vllm==X`, which states the vLLM version of a
later launch.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace

from kgc_launch.deploy.command import (
    ReadLaunches,
    container_argv,
    engine_after_script,
    read_launches,
    script_file_of,
)
from kgc_launch.deploy.docker_run import parse_docker_run
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.images import mentions_engine_text
from kgc_launch.deploy.launch import ModelHint, strip_wrappers
from kgc_launch.deploy.model_source import download_hint
from kgc_launch.deploy.origin import Origin, SourceText
from kgc_launch.deploy.shell import ShellCommand, split_script
from kgc_launch.deploy.stated_version import StatedVersion, from_install

SHELL_SUFFIXES = (".sh", ".bash")
_LOOKUP = re.compile(r"^(?:\$\((?:command -v|which) +|`(?:command -v|which) +)([\w.+-]+)(?:\)|`)$")


def is_shell_script(name: str, text: str) -> bool:
    """`*.sh` / `*.bash`, or a first line `#!` naming a POSIX shell."""
    if name.endswith(SHELL_SUFFIXES):
        return True
    first = text.split("\n", 1)[0]
    if not first.startswith("#!"):
        return False
    words = first[2:].split()
    program = words[1] if words and words[0].endswith("/env") and len(words) > 1 else (words[0] if words else "")
    return program.rsplit("/", 1)[-1] in ("sh", "bash", "dash", "ash", "zsh", "ksh")


def script_findings(text: str, path: str, *, mention_text: str | None = None) -> Findings:
    """The launches of a script's commands; `mention_text` is the file the script was read from, when that is
    not the script itself (a unit file's or a Makefile's commands): whether it mentions an engine is read there."""
    findings = Findings()
    hints: list[ModelHint] = []
    opaque: list[str] = []
    named: str | None = None  # an engine named by a script a command runs (`server/vllm_blackwell.sh ARGS`)
    versions: list[StatedVersion] = []
    source = SourceText(text)
    for command in split_script(text):
        download = download_hint(strip_wrappers(command.words)[0], f"line {command.line}")
        if download is not None:
            hints.append(download)
            continue
        installed = from_install(strip_wrappers(command.words)[0], f"{path}:{command.line}")
        if installed is not None:
            versions.append(installed)
            continue
        command = _located_program(command)
        hidden = _opaque(command)
        if hidden is not None:
            opaque.append(f"line {command.line}: {hidden}")
            named = named or _engine_in_script_name(command)
            continue
        read = command_launches(command, path, source)
        for launch in read.launches:
            launch.model_hints += hints
            launch.stated_versions += versions
        findings.take(read)
    engine = mentions_engine_text(_uncommented(text if mention_text is None else mention_text)) or named
    if engine is None or findings.launches or findings.unevaluated or findings.notes:
        return findings
    if opaque:  # the engine may be what these commands start
        findings.unevaluated += [f"{what}: not read as a launch" for what in opaque]
    else:
        findings.notes.append(f"it mentions {engine}, but none of its commands starts an engine")
    return findings


def _opaque(command: ShellCommand) -> str | None:
    """What a command runs when it cannot be seen from the script: `eval`, `source`, another script, a
    program whose name is built at run time."""
    words = strip_wrappers(command.words)[0] or command.words
    program = words[0] if words else ""
    text = " ".join(command.words)[:80]
    if program == "eval":
        return f"`eval` runs a command built at run time ({text})"
    if program in ("source", "."):
        return f"`{text}` runs another file's commands"
    if "$" in posixpath.basename(program):  # `"$VENV/bin/python"` still names python
        return f"`{text}` runs a program named at run time"
    script = script_file_of(words)
    if script is not None and engine_after_script(words) is None:
        return f"`{text}` runs the script {script}, which is not in this file"
    return None


def _engine_in_script_name(command: ShellCommand) -> str | None:
    """The engine a script file's name says it starts (`run_vllm.sh`, `vllm_blackwell_multimodels.sh`): `_`
    separates words in file names, though it joins them in text."""
    script = script_file_of(strip_wrappers(command.words)[0] or command.words)
    return None if script is None else mentions_engine_text(posixpath.basename(script).replace("_", " "))


def _located_program(command: ShellCommand) -> ShellCommand:
    """`$(command -v python3) -m ...` / `$(which vllm) serve ...`: the program is the one looked up on PATH."""
    start = len(command.words) - len(strip_wrappers(command.words)[0])
    found = _LOOKUP.match(command.words[start]) if start < len(command.words) else None
    if found is None:
        return command
    words = [*command.words[:start], found.group(1), *command.words[start + 1 :]]
    note = f"{found.group(0)} is where {found.group(1)} is found on PATH: read as {found.group(1)}"
    return replace(command, words=words, notes=[*command.notes, note])


def _uncommented(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def command_launches(command: ShellCommand, path: str, source: SourceText | None = None) -> ReadLaunches:
    """The launches one command of a script makes (directly, through a shell, or in a `docker run`).
    `source` is the script's text: an argument that is a variable's value (`bash -c "$CMD"`) is then placed
    where that value was written."""
    program = strip_wrappers(command.words)[0][:1] or command.words[:1]
    origins = [Origin(command.line)] * len(command.words)
    start = len(command.words) - len(strip_wrappers(command.words)[0])  # the program stays where it is run
    for index, written in enumerate(command.written):
        if source is not None and written is not None and start < index < len(origins):
            line, offset = written
            origins[index] = source.scalar_origin(line, offset - source.starts[line - 1], command.words[index])
    run = parse_docker_run(command.words, command.env)
    if run is None:
        process = container_argv(None, command.words, None, entrypoint_origins=origins)
        return read_launches(
            process,
            command.env,
            file=path,
            line=command.line,
            object=f"command `{program[0]}`",
            source="shell",
            notes=command.notes,
            quiet=True,
        )
    process = container_argv(run.image, run.entrypoint, run.args, entrypoint_origins=origins, cmd_origins=origins)
    read = read_launches(
        process,
        run.env,
        file=path,
        line=command.line,
        object=f"docker run {run.image}",
        source="shell",
        image=run.image,
        gpus=run.gpus,
        notes=[*command.notes, *run.notes],
    )
    for launch in read.launches:
        launch.accelerator = run.accelerator
    return read
