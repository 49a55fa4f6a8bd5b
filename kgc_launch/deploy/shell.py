"""Read a shell script (a file, or the text of `sh -c "..."`) into the commands it would run, variables expanded.

Commands come from `shell_lex.lex_script`; this module walks them in order as a shell would, keeping the
variables: `VAR=x` and `export VAR=x` (also `readonly`, `declare`, `local`), bash arrays, `unset`, and
`VAR=x cmd` (set for that command only). `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`, `${A[@]}`
expand from them; an unquoted expansion splits into words. What cannot be known without running the
script (a variable that is never set, a command substitution, `$1` and `"$@"`, a value from a Secret) is
left visibly unexpanded in the words and said in the command's notes. Nothing is executed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kgc_launch.deploy.launch import EnvValue, Unknown
from kgc_launch.deploy.shell_lex import Opaque, Param, Part, RawCommand, Text, Word, lex_script

_RESERVED = frozenset(["if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}", "!", "time"])
_CLAUSES = frozenset(["for", "case", "select", "function", "esac", "in"])
_DECLARATIONS = frozenset(["export", "readonly", "declare", "typeset", "local"])
_BLANKS = " \t\n"

Value = str | Unknown | list[str]
"""A shell variable: a string, an array, or a value this reading cannot know."""


@dataclass
class ShellCommand:
    """One simple command as the shell would run it."""

    words: list[str]
    """The argv after expansion and quote removal; unknown expansions stay as written (`$X`, `$(cmd)`)."""
    line: int
    """1-based line of the command's first word in the script."""
    env: dict[str, EnvValue] = field(default_factory=dict)
    """The environment the command would get: exported variables and its own `VAR=x` prefixes."""
    notes: list[str] = field(default_factory=list)
    offset: int = 0
    """Where the command's first word starts in the script text (0-based), for callers that map a script
    held in another file (a YAML block scalar) back to that file's lines."""


@dataclass
class _Shell:
    variables: dict[str, Value]
    exported: set[str]
    complete: bool
    """Whether `variables` is all there is (a container's env), or the caller's environment is unknown."""
    caveats: dict[str, list[str]] = field(default_factory=dict)
    """What was uncertain when a variable got its value; repeated where the variable is used."""
    arguments: list[str] | None = None
    """`$0` then `$1`... when known (`sh -c SCRIPT NAME ARG...`), else None."""

    def assign(self, name: str, value: Value, caveats: list[str]) -> None:
        self.variables[name] = value
        self.caveats[name] = caveats


def split_script(
    text: str,
    env: Mapping[str, EnvValue] | None = None,
    *,
    env_is_complete: bool = False,
    arguments: Sequence[str] | None = None,
) -> list[ShellCommand]:
    """The commands of a script in order, with variables from `env` (exported) and from the script itself.

    `env_is_complete` says that `env` is the whole environment (a container's `env` list): a variable it
    does not hold is then unset rather than unknown, and `${VAR:-default}` silently takes the default.
    `arguments` are `$0 $1 ...` when the caller knows them (`sh -c SCRIPT NAME ARG...`): `"$@"` then
    expands to them, as in an entrypoint that forwards its CMD.
    """
    shell = _Shell(dict(env or {}), set(env or {}), env_is_complete)
    shell.arguments = None if arguments is None else list(arguments)
    commands: list[ShellCommand] = []
    for raw in lex_script(text):
        command = _run(raw, shell)
        if command is not None:
            commands.append(command)
    return commands


def _run(raw: RawCommand, shell: _Shell) -> ShellCommand | None:
    words = list(raw.words)
    while words and words[0].literal() in _RESERVED:
        words.pop(0)
    if not words or words[0].literal() in _CLAUSES:
        return None
    notes = list(raw.notes)
    prefix: dict[str, Value] = {}
    prefix_caveats: dict[str, list[str]] = {}
    while words and _assignment(words[0]) is not None:
        name, append, value_parts = _assignment(words[0]) or ("", False, [])
        caveats: list[str] = []
        prefix[name] = _assigned_value(words[0], value_parts, append, shell, caveats, prefix.get(name))
        prefix_caveats[name] = caveats
        words.pop(0)
    if not words:
        for name, value in prefix.items():
            shell.assign(name, value, prefix_caveats[name])
        return None
    for caveats in prefix_caveats.values():
        notes += caveats
    head = words[0].literal()
    if head in _DECLARATIONS:
        _declare(head or "", words[1:], shell, notes)
        return None
    argv = _expand_words(words, shell, notes)  # before VAR=x applies: `VAR=x cmd $VAR` uses the old VAR
    if not argv:
        return None
    if argv[0] == "unset":
        for name in argv[1:]:
            shell.variables.pop(name, None)
            shell.exported.discard(name)
        return None
    if argv[0] in ("source", ".") and len(argv) > 1:
        notes.append(f"`{argv[0]} {argv[1]}` may set variables that are not known here")
    env: dict[str, EnvValue] = {name: _env_value(shell.variables[name]) for name in sorted(shell.exported)}
    env.update({name: _env_value(value) for name, value in prefix.items()})
    return ShellCommand(argv, raw.line, {k: v for k, v in env.items() if v is not None}, notes, raw.offset)


def _env_value(value: Value | None) -> EnvValue:
    if value is None:
        return Unknown("unset")
    if isinstance(value, list):  # bash cannot export an array; its first element is what `$A` gives
        return value[0] if value else ""
    return value


def _assignment(word: Word) -> tuple[str, bool, list[Part]] | None:
    """`NAME=value` / `NAME+=value` at the start of a word: (name, append, the value's parts)."""
    first = word.parts[0] if word.parts else None
    if not isinstance(first, Text) or first.quoted or "=" not in first.text:
        return None
    name, _, rest = first.text.partition("=")
    append = name.endswith("+")
    name = name.removesuffix("+")
    if not name or not (name[0].isalpha() or name[0] == "_") or not all(c.isalnum() or c == "_" for c in name):
        return None
    return name, append, ([Text(rest, False)] if rest else []) + word.parts[1:]


def _assigned_value(
    word: Word, parts: list[Part], append: bool, shell: _Shell, notes: list[str], earlier: Value | None
) -> Value:
    name = _assignment(word)
    previous = earlier if earlier is not None else shell.variables.get(name[0]) if name else None
    if word.array is not None:
        elements: list[str] = []
        for element in word.array:
            elements += _expand_words([element], shell, notes)
        if append and isinstance(previous, list):
            return previous + elements
        return elements
    value = _expand_unsplit(parts, shell, notes)
    if append and isinstance(previous, str) and isinstance(value, str):
        return previous + value
    return value


def _declare(builtin: str, words: Sequence[Word], shell: _Shell, notes: list[str]) -> None:
    """`export A=1 B`, `declare -x A=1`, `readonly A=1`: assignments that are not split into words."""
    exports = builtin == "export"
    for word in words:
        literal = word.literal()
        if literal is not None and literal.startswith("-"):
            exports = exports or "x" in literal
            continue
        assignment = _assignment(word)
        if assignment is None:
            name = literal or ""
            if exports and name:
                shell.exported.add(name)
                shell.variables.setdefault(name, Unknown(f"exported but not set in the script: {name}"))
            continue
        name, append, parts = assignment
        caveats: list[str] = []
        shell.assign(name, _assigned_value(word, parts, append, shell, caveats, None), caveats)
        if exports:
            shell.exported.add(name)


# --- Expansion ---------------------------------------------------------------------------------------------


class _Fields:
    """Builds the words of a command as a shell's field splitting does (IFS = blanks)."""

    def __init__(self) -> None:
        self.fields: list[str] = []
        self.current: str | None = None

    def add(self, text: str, *, split: bool) -> None:
        if not split:
            self.current = (self.current or "") + text
            return
        if not text:
            return
        pieces = text.split()
        if not pieces or text[0] in _BLANKS:
            self.end()
        for position, piece in enumerate(pieces):
            if position:
                self.end()
            self.current = (self.current or "") + piece
        if text[-1] in _BLANKS:
            self.end()

    def end(self) -> None:
        if self.current is not None:
            self.fields.append(self.current)
        self.current = None


def _expand_words(words: Sequence[Word], shell: _Shell, notes: list[str]) -> list[str]:
    out = _Fields()
    for word in words:
        before = len(out.fields)
        for part in word.parts:
            _expand_part(part, shell, notes, out)
        out.end()
        if _only_all_arguments(word) and out.fields[before:] == [""]:
            del out.fields[before:]  # "$@" with no arguments is no word at all, not an empty one
    return out.fields


def _only_all_arguments(word: Word) -> bool:
    params = [part for part in word.parts if isinstance(part, Param)]
    others = [part for part in word.parts if not isinstance(part, Param)]
    return (
        bool(params)
        and all(part.name == "@" or part.index == "@" for part in params)
        and all(isinstance(part, Text) and not part.text for part in others)
    )


def _expand_unsplit(parts: Sequence[Part], shell: _Shell, notes: list[str]) -> str | Unknown:
    """An assignment's value: expanded but never split (`A=$B` keeps B's blanks)."""
    out = _Fields()
    unknown: list[str] = []
    for part in parts:
        if isinstance(part, Text):
            out.add(part.text, split=False)
            continue
        value = _lookup(part, shell, notes) if isinstance(part, Param) else None
        if value is None or isinstance(value, Unknown):
            unknown.append(part.raw)
            out.add(part.raw, split=False)
        else:
            out.add(" ".join(value) if isinstance(value, list) else value, split=False)
    text = out.current or ""
    if unknown:
        return Unknown(f"built from {', '.join(unknown)}, not known here")
    return text


def _expand_part(part: Part, shell: _Shell, notes: list[str], out: _Fields) -> None:
    if isinstance(part, Text):
        out.add(part.text, split=False)
        return
    if isinstance(part, Opaque):
        notes.append(f"{part.raw}: a {part.what}, not evaluated (left as written)")
        out.add(part.raw, split=False)
        return
    value = _lookup(part, shell, notes)
    if value is None or isinstance(value, Unknown):
        out.add(part.raw, split=False)
        return
    if isinstance(value, list):
        for position, element in enumerate(value):
            if position:
                out.end()
            out.add(element, split=not part.quoted)
        return
    out.add(value, split=not part.quoted)


def _lookup(param: Param, shell: _Shell, notes: list[str]) -> str | list[str] | Unknown | None:
    """The value of a parameter expansion, None (with a note) when it cannot be known here."""
    positional = param.name in ("@", "*", "#") or param.name.isdigit()
    if positional and shell.arguments is not None:
        return _positional(param, shell.arguments)
    if positional or param.name in "?-$!":
        what = "the script's arguments" if positional else "a runtime value"
        notes.append(f"{param.raw}: {what}, not known here (left as written)")
        return None
    value = _indexed(shell.variables.get(param.name), param.index)
    notes += [note for note in shell.caveats.get(param.name, []) if note not in notes]
    if param.op is not None:
        return _with_operator(param, value, shell, notes)
    if isinstance(value, Unknown):
        notes.append(f"{param.raw}: {param.name} is {value.why} (left as written)")
        return None
    if value is None:
        if shell.complete:
            notes.append(f"{param.raw}: {param.name} is not set in the environment (a shell expands it to nothing)")
        else:
            notes.append(f"{param.raw}: {param.name} is not set here; it may come from the caller's environment")
        return None
    return value


def _positional(param: Param, arguments: list[str]) -> str | list[str]:
    """`$@` / `$*` / `$#` / `$0` / `$N` from known arguments (`arguments[0]` is `$0`)."""
    rest = arguments[1:]
    if param.name == "@":
        return rest
    if param.name == "*":
        return " ".join(rest)
    if param.name == "#":
        return str(len(rest))
    index = int(param.name)
    return arguments[index] if index < len(arguments) else ""


def _indexed(value: Value | None, index: str | None) -> str | list[str] | Unknown | None:
    if isinstance(value, list):
        if index in ("@", "*"):
            return value if index == "@" else " ".join(value)
        position = int(index) if index is not None and index.isdigit() else 0
        return value[position] if position < len(value) else None
    if index in ("@", "*", "0") or index is None:
        return value
    return None


def _with_operator(
    param: Param, value: str | list[str] | Unknown | None, shell: _Shell, notes: list[str]
) -> str | list[str] | Unknown | None:
    """`${X-d}`, `${X:-d}`, `${X=d}`, `${X:=d}`, `${X+a}`, `${X:+a}`, `${X?m}`, `${X:?m}`."""
    op = param.op or ""
    if isinstance(value, Unknown):
        notes.append(f"{param.raw}: {param.name} is {value.why} (left as written)")
        return None
    is_set = value is not None and (not op.startswith(":") or value not in ("", []))
    kind = op.lstrip(":")
    if kind in ("-", "="):
        if is_set:
            return value
        default = _expand_unsplit(param.operand, shell, notes)
        if isinstance(default, Unknown):
            notes.append(f"{param.raw}: the default is {default.why} (left as written)")
            return None
        if not shell.complete:
            notes.append(f"{param.raw}: {param.name} is not set here, so its default {default!r} was used")
        if kind == "=":
            shell.variables[param.name] = default
        return default
    if kind == "+":
        if not is_set:
            return ""
        alternative = _expand_unsplit(param.operand, shell, notes)
        return None if isinstance(alternative, Unknown) else alternative
    if is_set:  # `?`: the value, or the shell stops with the message
        return value
    notes.append(f"{param.raw}: {param.name} is not set here; the shell would stop with an error")
    return None


def assignments_of(text: str, variables: Mapping[str, EnvValue]) -> list[tuple[str, EnvValue, list[str]]]:
    """`A=1 B="two words" C=${A}`: each `NAME=value` word expanded but not split, as Docker's ENV reads it.

    Returns (name, value, notes); a value built from something unknown is `Unknown`.
    """
    shell = _Shell(dict(variables), set(), False)
    result: list[tuple[str, EnvValue, list[str]]] = []
    for raw in lex_script(text.replace("\n", " ")):
        for word in raw.words:
            assignment = _assignment(word)
            if assignment is None:
                continue
            name, _, parts = assignment
            notes: list[str] = []
            value = _expand_unsplit(parts, shell, notes)
            shell.assign(name, value, notes)
            result.append((name, value, notes))
    return result


def expand_text(text: str, variables: Mapping[str, EnvValue]) -> tuple[str, list[str]]:
    """One word's text with `$VAR` / `${VAR:-x}` expanded and quotes removed (Docker's FROM, legacy ENV)."""
    shell = _Shell(dict(variables), set(), False)
    notes: list[str] = []
    parts: list[Part] = []
    for raw in lex_script(text.replace("\n", " ")):
        for position, word in enumerate(raw.words):
            if position or parts:
                parts.append(Text(" ", True))
            parts += word.parts
    value = _expand_unsplit(parts, shell, notes)
    return (value if isinstance(value, str) else text), notes
