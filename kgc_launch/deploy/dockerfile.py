"""Dockerfiles -> the engine launch of the image they build (its final stage), as Docker would run it.

Docker's rules followed here:
- instructions are read after line continuations (the escape character, `\\` or the one set by a
  `# escape=` directive) and with comment lines dropped, also inside a continuation; heredoc bodies
  (`RUN <<EOF`) are skipped;
- stages: `FROM IMAGE [AS NAME]`; a stage built `FROM` an earlier one inherits its ENV, ENTRYPOINT and
  CMD; `FROM vllm/vllm-openai` inherits `ENTRYPOINT ["vllm", "serve"]`; ARGs declared before the first
  FROM are usable in FROM lines and, redeclared by name, inside a stage;
- `ENV K=V ...` (and the legacy `ENV K V`) expand `$VAR` / `${VAR:-x}` from earlier ENV and ARG;
- `ARG NAME=value` defaults are shell words (`ARG list='7.0 7.5 8.0'` is one value with spaces);
- `CMD` / `ENTRYPOINT` in exec form (a JSON array) run as given, in shell form through the `SHELL`
  (default `/bin/sh -c`), whose variables come from ENV at run time; the last of each wins, and setting
  ENTRYPOINT clears a CMD inherited from the base image (not one set earlier in the same stage).

The launch is placed on the instruction that starts the engine: the ENTRYPOINT when it names the engine
(`ENTRYPOINT ["vllm", "serve"]` with the model in CMD), else the CMD (on `FROM vllm/vllm-openai`, or after
`ENTRYPOINT ["tini", "--"]`). A final stage that runs something else says what it runs. The vLLM version
the image holds is stated by an exact release tag of vLLM's own base image or a `RUN pip install vllm==X`
of the stage or the stages it is built from (`kgc_launch.deploy.stated_version`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from kgc_launch.deploy.command import ReadLaunches, container_argv, read_launches
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.images import image_entrypoint
from kgc_launch.deploy.launch import EnvValue, Unknown, mentions_engine, strip_wrappers
from kgc_launch.deploy.origin import Origin
from kgc_launch.deploy.shell import assignments_of, expand_text, split_script
from kgc_launch.deploy.shell_lex import lex_script
from kgc_launch.deploy.stated_version import StatedVersion, from_image, from_install

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")


@dataclass
class Instruction:
    keyword: str
    rest: str
    line: int


@dataclass
class _Stage:
    name: str | None
    root_image: str | None
    """The external image at the bottom of the FROM chain (its ENTRYPOINT may be known)."""
    env: dict[str, EnvValue] = field(default_factory=dict)
    args: dict[str, EnvValue] = field(default_factory=dict)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    shell: list[str] = field(default_factory=lambda: ["/bin/sh", "-c"])
    cmd_set_here: bool = False
    entrypoint_line: int | None = None
    cmd_line: int | None = None
    notes: list[str] = field(default_factory=list)
    versions: list[StatedVersion] = field(default_factory=list)
    """The vLLM version its base image's tag or a `RUN pip install vllm...` states."""


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions with the line each starts on."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines:  # parser directives: only at the very top, before any instruction or blank line
        match = _DIRECTIVE.match(line)
        if match is None:
            break
        if match.group(1).lower() == "escape":
            escape = match.group(2)[:1] or "\\"
    found: list[Instruction] = []
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start = index
        parts: list[str] = []
        while index < len(lines):
            body = lines[index].rstrip()
            index += 1
            if index - 1 != start and (not body.strip() or body.lstrip().startswith("#")):
                continue  # comment and empty lines inside a continuation are dropped, as Docker does
            continued = body.endswith(escape)
            parts.append(body[: -len(escape)] if continued else body)
            if not continued:
                break
        logical = "".join(parts).strip()  # the escape and the line break go; the next line's text follows as is
        keyword, _, rest = logical.partition(" ")
        found.append(Instruction(keyword.upper(), rest.strip(), start + 1))
        heredoc = _HEREDOC.search(rest) if keyword.upper() in ("RUN", "COPY", "ADD") else None
        if heredoc is not None:
            while index < len(lines) and lines[index].strip() != heredoc.group(1):
                index += 1
            index += 1
    return found


def dockerfile_findings(text: str, path: str) -> Findings:
    """The launch of the image's final stage, if it starts an engine."""
    findings = Findings()
    stages: list[_Stage] = []
    global_args: dict[str, EnvValue] = {}
    for instruction in instructions(text):
        keyword, rest = instruction.keyword, instruction.rest
        if keyword == "FROM":
            stages.append(_from(rest, stages, global_args))
            tagged = from_image(stages[-1].root_image, f"{path}:{instruction.line}")
            stages[-1].versions = [*stages[-1].versions, *([tagged] if tagged else [])]
        elif keyword == "ARG":
            target = stages[-1].args if stages else global_args
            _arg(rest, target, global_args if stages else {})
        elif stages:
            _stage_instruction(stages[-1], instruction, path)
    if stages:
        findings.take(_final_launches(stages[-1], path, len(stages)))
    return findings


def _from(rest: str, stages: list[_Stage], global_args: dict[str, EnvValue]) -> _Stage:
    words = [word for word in rest.split() if not word.startswith("--")]
    image, notes = expand_text(words[0] if words else "", global_args)
    name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    for stage in stages:
        if stage.name is not None and stage.name.lower() == image.lower():
            return replace(
                stage, name=name, args={}, cmd_set_here=False, notes=[*stage.notes, *notes], env=dict(stage.env)
            )
    stage = _Stage(name=name, root_image=image, notes=notes)
    if image_entrypoint(image) is None and "$" in image:
        stage.notes.append(f"the base image {image} is built from an ARG not known here")
    return stage


def _arg(rest: str, target: dict[str, EnvValue], defaults: dict[str, EnvValue]) -> None:
    """`ARG A B=1 C='two words'`: each word a name, or a name and its default (a shell word, unsplit)."""
    assigned = {name: value for name, value, _ in assignments_of(rest, {**defaults, **target})}
    for raw in lex_script(rest.replace("\n", " ")):
        for word in raw.words:
            literal = word.literal()
            if literal is not None and "=" not in literal:
                target[literal] = defaults.get(
                    literal, Unknown(f"ARG {literal} has no default (a --build-arg may set it)")
                )
    target.update(assigned)


def _stage_instruction(stage: _Stage, instruction: Instruction, path: str) -> None:
    keyword, rest = instruction.keyword, instruction.rest
    if keyword == "ENV":
        variables = {**stage.args, **stage.env}
        if "=" in rest.split(" ", 1)[0]:
            for name, value, notes in assignments_of(rest, variables):
                stage.env[name] = value
                stage.notes += notes
        else:  # legacy `ENV NAME value with spaces`
            name, _, value = rest.partition(" ")
            stage.env[name] = expand_text(value.strip(), variables)[0]
    elif keyword == "RUN":
        for command in split_script(rest, {**stage.args, **stage.env}):
            installed = from_install(strip_wrappers(command.words)[0], f"{path}:{instruction.line}")
            stage.versions += [installed] if installed is not None else []
    elif keyword == "SHELL":
        shell = _exec_form(rest)
        if shell is not None:
            stage.shell = shell
    elif keyword == "ENTRYPOINT":
        stage.entrypoint = _command(stage, rest)
        stage.entrypoint_line = instruction.line
        if not stage.cmd_set_here:
            stage.cmd, stage.cmd_line = None, None
    elif keyword == "CMD":
        stage.cmd = _command(stage, rest)
        stage.cmd_line = instruction.line
        stage.cmd_set_here = True


def _exec_form(rest: str) -> list[str] | None:
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _command(stage: _Stage, rest: str) -> list[str]:
    exec_form = _exec_form(rest)
    return exec_form if exec_form is not None else [*stage.shell, rest]


def _final_launches(stage: _Stage, path: str, count: int) -> ReadLaunches:
    obj = "final stage" + (f" {stage.name}" if stage.name else "") + (f" (of {count})" if count > 1 else "")
    image = stage.root_image if stage.entrypoint is None else None
    entrypoint_origin = None if stage.entrypoint_line is None else Origin(stage.entrypoint_line)
    cmd_origin = None if stage.cmd_line is None else Origin(stage.cmd_line)
    process = container_argv(
        image,
        stage.entrypoint,
        stage.cmd,
        entrypoint_origins=[entrypoint_origin] * len(stage.entrypoint or []),
        cmd_origins=[cmd_origin] * len(stage.cmd or []),
    )
    line = max((n for n in (stage.entrypoint_line, stage.cmd_line) if n is not None), default=None)
    read = read_launches(
        process,
        stage.env,
        file=path,
        line=line,
        object=obj,
        source="dockerfile",
        image=stage.root_image,
        notes=stage.notes,
        mentioned=mentions_engine(stage.cmd or [], stage.root_image),
    )
    for launch in read.launches:
        launch.stated_versions += stage.versions
    if not read.launches and not read.unevaluated and not read.notes:
        if process.argv is not None:
            read.notes.append(f"{obj}: runs `{' '.join(process.argv)[:120]}`, not an engine launch")
        elif stage.cmd:
            read.notes.append(
                f"{obj}: CMD `{' '.join(stage.cmd)[:120]}` on {stage.root_image or 'a base image'}, whose ENTRYPOINT "
                "is not known here: not an engine start unless that ENTRYPOINT is one"
            )
    return read
