"""From a container's process argv (ENTRYPOINT + CMD, `command` + `args`) to the engine launches it makes.

The argv is either an engine start itself (`vllm serve ...`, possibly wrapped by `exec`, `tini --`,
`kgc-launch`), or a shell running a script (`sh -c "..."`, `bash -ec "..."`) in which each command is read
with shell.py, the container's environment being the shell's starting variables.

Each token may carry its `Origin` in the file, so a launch is placed on the line where its engine command
starts: the line of the engine's program word (or, when the program is the image's ENTRYPOINT, of the
first argument the file gives it), or for a script, the line of the script's command.

Two things are said about a container's process before any engine reads it:
- args that repeat an image's engine ENTRYPOINT (`args: ["serve", MODEL]` or `["vllm", "serve", MODEL]`
  on `vllm/vllm-openai`, whose ENTRYPOINT is already `vllm serve`): the engine receives `vllm serve serve
  MODEL` and rejects it ('unrecognized arguments'). The launch is checked as meant, with the rejection;
  its model is never read from the engine's own words;
- args alone on an image whose ENTRYPOINT is not known: what runs cannot be read; when the image or the
  args mention an engine, the launch is reported as not evaluated, never guessed nor dropped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kgc_launch.deploy.images import image_entrypoint, image_repository, is_engine_image, known_image
from kgc_launch.deploy.launch import (
    Engine,
    EngineCommand,
    EnvValue,
    Launch,
    SourceKind,
    mentions_engine,
    merged_env,
    recognise_command,
    strip_wrappers,
)
from kgc_launch.deploy.origin import Origin
from kgc_launch.deploy.others import other_engine
from kgc_launch.deploy.shell import split_script

SHELLS = frozenset(["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"])
_SHELL_VALUE_OPTIONS = frozenset(["-o", "+o", "-O", "+O", "--rcfile", "--init-file"])


@dataclass
class FoundCommand:
    """An engine start found in an argv: the command, the environment it gets, and where in a script."""

    command: EngineCommand
    env: dict[str, EnvValue]
    script_line: int | None = None
    """1-based line inside the `sh -c` script, when the launch is one of the script's commands."""
    notes: list[str] = field(default_factory=list)
    line: int | None = None
    """The line of the file where the engine command starts, when the argv's tokens know their origin."""


@dataclass
class ArgvScan:
    """What an argv starts: our engines' launches, and other engines (named, not checked) with their lines."""

    found: list[FoundCommand] = field(default_factory=list)
    others: list[tuple[str, int | None]] = field(default_factory=list)


def shell_script_of(argv: Sequence[str]) -> str | None:
    """The script text of `sh -c SCRIPT` / `bash -euc SCRIPT` / `/bin/bash -o pipefail -c SCRIPT`, else None."""
    found = _shell_invocation(argv)
    return None if found is None else found[0]


def _shell_invocation(argv: Sequence[str]) -> tuple[str, list[str], int] | None:
    """(script, the words after it: `$0`, `$1`, ..., the script's index in argv) for a shell running `-c`."""
    tokens, _ = strip_wrappers(argv)
    skipped = len(argv) - len(tokens)
    if not tokens or posixpath.basename(tokens[0]) not in SHELLS:
        return None
    index = 1
    reads_string = False
    while index < len(tokens):
        token = tokens[index]
        if token in _SHELL_VALUE_OPTIONS:
            index += 2
            continue
        if token == "--":
            index += 1
            break
        if token.startswith("--"):
            index += 1
            continue
        if token[:1] in ("-", "+") and len(token) > 1:
            reads_string = reads_string or "c" in token[1:]
            index += 1
            continue
        break
    if reads_string and index < len(tokens):
        # no words after the script: $0 is the shell
        return tokens[index], tokens[index + 1 :] or [tokens[0]], skipped + index
    return None


def engine_commands(
    argv: Sequence[str],
    env: Mapping[str, EnvValue],
    *,
    env_is_complete: bool = False,
    origins: Sequence[Origin | None] | None = None,
) -> list[FoundCommand]:
    """Every engine start the argv makes, directly or as a command of its `sh -c` script."""
    return scan_argv(argv, env, env_is_complete=env_is_complete, origins=origins).found


def scan_argv(
    argv: Sequence[str],
    env: Mapping[str, EnvValue],
    *,
    env_is_complete: bool = False,
    origins: Sequence[Origin | None] | None = None,
) -> ArgvScan:
    """Our engines' starts in an argv (directly or in its `sh -c` script), and the other engines it starts."""
    scan = ArgvScan()
    direct = recognise_command(argv)
    if direct is not None:
        program = len(argv) - len(strip_wrappers(argv)[0])
        line = _first_line(origins, program)
        scan.found.append(FoundCommand(direct, merged_env(env, direct.env), None, list(direct.notes), line))
        return scan
    invocation = _shell_invocation(argv)
    forwarded = engine_after_script(argv)
    if invocation is None and forwarded is not None:
        runner, start = forwarded
        inner = recognise_command(argv[start:])
        if inner is not None:
            notes = [
                f"run through the script {runner}, which is not in this file, with the engine command as its "
                'arguments: read as the command it runs (an entrypoint script\'s `exec "$@"`)',
                *inner.notes,
            ]
            scan.found.append(FoundCommand(inner, merged_env(env, inner.env), None, notes, _first_line(origins, start)))
            return scan
    if invocation is None:
        other = other_engine(strip_wrappers(argv)[0])
        if other is not None:
            scan.others.append((other, _first_line(origins, len(argv) - len(strip_wrappers(argv)[0]))))
        return scan
    script, arguments, index = invocation
    origin = origins[index] if origins is not None and index < len(origins) else None
    for command in split_script(script, env, env_is_complete=env_is_complete, arguments=arguments):
        line = None if origin is None else origin.line_at(command.offset)
        engine = recognise_command(command.words)
        if engine is None:
            other = other_engine(strip_wrappers(command.words)[0])
            if other is not None:
                scan.others.append((other, line))
            continue
        notes = [f"started by a shell script (line {command.line} of the script)", *command.notes, *engine.notes]
        found = FoundCommand(engine, merged_env(env, command.env, engine.env), command.line, notes, line)
        scan.found.append(found)
    return scan


def _first_line(origins: Sequence[Origin | None] | None, start: int) -> int | None:
    """The line of the first token from `start` on that has an origin (the image's ENTRYPOINT has none)."""
    for origin in (origins or [])[start:]:
        if origin is not None:
            return origin.line
    return None


@dataclass
class ContainerArgv:
    """A container's process as the file gives it: its argv, each token's origin, and what was said."""

    argv: list[str] | None
    origins: list[Origin | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    """Why the engine rejects the process as written (args repeating the image's engine ENTRYPOINT)."""
    unknown: str | None = None
    """Why the process cannot be read although it mentions an engine (an unknown image ENTRYPOINT)."""
    unknown_args: list[str] = field(default_factory=list)
    unknown_origins: list[Origin | None] = field(default_factory=list)


def container_argv(
    image: str | None,
    entrypoint: Sequence[str] | None,
    cmd: Sequence[str] | None,
    *,
    entrypoint_origins: Sequence[Origin | None] | None = None,
    cmd_origins: Sequence[Origin | None] | None = None,
) -> ContainerArgv:
    """The process of a container: an explicit entrypoint (`command`) replaces the image's ENTRYPOINT,
    `args`/CMD follow it; with args alone, the image's ENTRYPOINT must be known (or empty) to say what runs."""
    args = list(cmd or [])
    arg_origins = _origins(cmd_origins, len(args))
    if entrypoint is not None:
        return ContainerArgv([*entrypoint, *args], [*_origins(entrypoint_origins, len(entrypoint)), *arg_origins])
    known = image_entrypoint(image)
    if known is not None:
        repository = image_repository(image or "")
        notes = [f"the image's ENTRYPOINT is `{' '.join(known)}` (known for {repository})"]
        repeated = _repeated_entrypoint(known, args)
        if repeated == 0:
            return ContainerArgv([*known, *args], [*([None] * len(known)), *arg_origins], notes)
        said = " ".join(args[:repeated])
        rejection = (
            f"the image's ENTRYPOINT is already `{' '.join(known)}` and the args begin with `{said}`: the engine "
            f"receives `{' '.join([*known, *args[:repeated]])} ...`, which vLLM rejects ('unrecognized arguments'); "
            f"drop `{said}` from the args"
        )
        rest = args[repeated:]
        return ContainerArgv([*known, *rest], [*([None] * len(known)), *arg_origins[repeated:]], notes, [rejection])
    if not args:
        what = f"image {image}" if image else "the image"
        return ContainerArgv(None, notes=[f"runs the ENTRYPOINT and CMD of {what}, which are not known here"])
    starts = recognise_command(args) is not None or other_engine(strip_wrappers(args)[0]) is not None
    if starts or shell_script_of(args) is not None:
        note = f"the ENTRYPOINT of image {image or '(none)'} is not known here: assumed empty"
        return ContainerArgv(args, arg_origins, [note])
    if is_engine_image(image):
        why = f"the entrypoint of {image} is unknown: its args cannot be read as a launch"
        return ContainerArgv(None, unknown=why, unknown_args=args, unknown_origins=arg_origins)
    unknown = f"only args are given, and the ENTRYPOINT of image {image or '(none)'} is not known here"
    return ContainerArgv(None, notes=[unknown])


def _origins(origins: Sequence[Origin | None] | None, count: int) -> list[Origin | None]:
    given = list(origins or [])[:count]
    return given + [None] * (count - len(given))


def _repeated_entrypoint(entrypoint: Sequence[str], args: Sequence[str]) -> int:
    """How many leading args repeat the engine start the ENTRYPOINT already makes (`serve`, `vllm serve`,
    `python3 -m vllm.entrypoints.openai.api_server`), 0 when they do not."""
    engine = recognise_command(entrypoint)
    if engine is None or not args:
        return 0
    own = recognise_command(args)
    if own is not None:
        return len(args) - len(own.args)
    last = entrypoint[-1]
    if args[0] == last and last == "serve":
        return 1
    return 0


def why_not_a_launch(argv: Sequence[str]) -> str:
    """For an argv that mentions an engine but starts none: what it runs, and the classic mistake if seen."""
    import shlex

    text = " ".join(shlex.join(argv).split())
    text = text if len(text) <= 160 else text[:157] + "..."
    tokens, _ = strip_wrappers(argv)
    script = shell_script_of(argv)
    if script is not None and tokens and tokens[-1] != script:
        return (
            f"runs `{text}`: a shell's -c takes only the next word (`{script}`) as the script, the words "
            "after it become $0, $1, ...; pass the whole command line as one string"
        )
    return f"mentions an engine, but runs `{text}`, which is not a recognised launch"


@dataclass
class ReadLaunches:
    """The launches a container (service, stage, command) makes, and what the file should be told."""

    launches: list[Launch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Said about the file: another engine's start, a command that mentions an engine but is none."""
    unevaluated: list[str] = field(default_factory=list)
    """What mentions an engine but cannot be read at all (the file is 'not evaluated' without a launch)."""


def read_launches(
    process: ContainerArgv,
    env: Mapping[str, EnvValue],
    *,
    file: str,
    line: int | None,
    object: str,
    source: SourceKind,
    image: str | None = None,
    gpus: int | None = None,
    nodes: int | None = None,
    notes: Sequence[str] = (),
    env_is_complete: bool = False,
    mentioned: bool | None = None,
    quiet: bool = False,
) -> ReadLaunches:
    """One `Launch` per engine start of the process, placed on the line where its engine command starts
    (`line`, the container's, when the tokens do not know theirs); what is not a launch is said (unless
    `quiet`: a shell script's commands, most of which are not launches, only say other engines' starts)."""
    read = ReadLaunches()
    if process.unknown is not None:
        launch = Launch(
            file=file,
            line=_first_line(process.unknown_origins, 0) or line,
            object=object,
            source=source,
            engine=_engine_of_image(image),
            args=list(process.unknown_args),
            env=dict(env),
            gpus=gpus,
            image=image,
            nodes=nodes,
            notes=[*notes, *process.notes],
            model_why=process.unknown,
            container_line=line,
            unevaluated=process.unknown,
        )
        read.launches.append(launch)
        return read
    if process.argv is None:
        said = [f"{object}: {note}" for note in process.notes] or [f"{object}: no command to read"]
        if is_engine_image(image):
            read.unevaluated += said  # an engine image whose process cannot be read
        elif mentions_engine([], image) if mentioned is None else mentioned:
            read.notes += said
        return read
    scan = scan_argv(process.argv, env, env_is_complete=env_is_complete, origins=process.origins)
    for found in scan.found:
        read.launches.append(
            Launch(
                file=file,
                line=found.line or line,
                object=object,
                source=source,
                engine=found.command.engine,
                args=found.command.args,
                env=found.env,
                gpus=gpus,
                image=image,
                wrapper=found.command.wrapper,
                nodes=nodes,
                notes=[*notes, *process.notes, *found.notes],
                container_line=line,
                rejections=list(process.rejections),
            )
        )
    for name, other_line in scan.others:
        where = f" (line {other_line})" if other_line is not None and other_line != line else ""
        read.notes.append(f"{object}: starts {name}{where}: engine {name} is not checked")
    if read.launches or scan.others or quiet:
        return read
    script = script_file_of(process.argv)
    mention = mentions_engine(process.argv, image) or bool(mentioned)
    if script is not None and mention:
        read.unevaluated.append(
            f"{object}: runs the script {script} from the image, which is not in this file: its launch cannot be "
            "read here (scan that script too: its launches are checked as a shell script's)"
        )
    elif mentions_engine(process.argv, image):
        read.notes.append(f"{object}: {why_not_a_launch(process.argv)}")
    return read


def engine_after_script(argv: Sequence[str]) -> tuple[str, int] | None:
    """(script, index in argv) when an argv runs a script file whose arguments are themselves an engine
    start (`/entrypoint.sh python -m vllm.entrypoints.openai.api_server ...`, `bash run.sh vllm serve ...`)."""
    script = script_file_of(argv)
    if script is None:
        return None
    tokens, _ = strip_wrappers(argv)
    start = len(argv) - len(tokens) + tokens.index(script) + 1
    return (script, start) if recognise_command(argv[start:]) is not None else None


def script_file_of(argv: Sequence[str]) -> str | None:
    """The script file an argv runs (`bash /start.sh`, `sh -e run.sh ARGS`, `/entrypoint.sh`), else None."""
    tokens, _ = strip_wrappers(argv)
    if not tokens:
        return None
    program = posixpath.basename(tokens[0])
    if program.endswith((".sh", ".bash")):
        return tokens[0]
    if program not in SHELLS:
        return None
    for token in tokens[1:]:
        if token in ("-c", "--"):
            return None
        if token.startswith(("-", "+")) and len(token) > 1:
            if "c" in token[1:]:
                return None
            continue
        return token
    return None


def _engine_of_image(image: str | None) -> Engine:
    known = known_image(image)
    if known is not None and known.engine == "ferrum":
        return "ferrum"
    return "ferrum" if image and "ferrum" in image_repository(image).lower() else "vllm"


def launches_in(
    argv: Sequence[str],
    env: Mapping[str, EnvValue],
    *,
    file: str,
    line: int | None,
    object: str,
    source: SourceKind,
    image: str | None = None,
    gpus: int | None = None,
    nodes: int | None = None,
    notes: Sequence[str] = (),
    env_is_complete: bool = False,
) -> list[Launch]:
    """One `Launch` per engine start the argv makes, placed where the reader found the argv."""
    return read_launches(
        ContainerArgv(list(argv), [None] * len(argv)),
        env,
        file=file,
        line=line,
        object=object,
        source=source,
        image=image,
        gpus=gpus,
        nodes=nodes,
        notes=notes,
        env_is_complete=env_is_complete,
    ).launches
