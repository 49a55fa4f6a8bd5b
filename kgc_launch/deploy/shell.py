"""Read a shell script (a file, or the text of `sh -c "..."`) into the commands it would run, variables expanded.

Commands come from `shell_lex.lex_script`; this module walks them in order as a shell would, keeping the
variables: `VAR=x` and `export VAR=x` (also `readonly`, `declare`, `local`), bash arrays, `unset`, and
`VAR=x cmd` (set for that command only). `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`, `${A[@]}`
expand from them; an unquoted expansion splits into words. What cannot be known without running the
script (a variable that is never set, a command substitution, `$1` and `"$@"`, a value from a Secret) is
left visibly unexpanded in the words and said in the command's notes. Nothing is executed.

Conditions are not evaluated: the commands of every branch are read. An assignment under a condition (`if`,
`while`, `for`, `case`) fills a variable that has no value yet (the `[ -z "$X" ] && X=default` idiom), but
does not replace one set unconditionally: whether it runs is not known here, so it is noted instead
(`if ...; then CMD="$CMD --flag"; fi` keeps the unconditional CMD). `eval WORDS` reads its words, joined by
blanks, as a script run at that point (as a shell does), and a command that is built in a variable and
run through it (`eval "$CMD"`, `exec $CMD`, `$CMD`) is placed where that variable's text was written
(the assignment that started it), not where it is run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kgc_launch.deploy.launch import EnvValue, Unknown, strip_wrappers
from kgc_launch.deploy.shell_lex import Opaque, Param, Part, RawCommand, Text, Word, lex_script

_RESERVED = frozenset(["if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}", "!", "time"])
_CLAUSES = frozenset(["for", "case", "select", "function", "esac", "in"])
_DECLARATIONS = frozenset(["export", "readonly", "declare", "typeset", "local"])
# Words that open and close a compound command whose body may or may not run.
_OPENERS = frozenset(["if", "while", "until", "for", "case", "select"])
_CLOSERS = frozenset(["fi", "done", "esac"])
# Programs that run their arguments as a command: the word after them may be the command's text in a variable.
_RUNNERS = frozenset(["exec", "eval", "command", "nohup", "time", "setsid"])
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
    written: list[tuple[int, int] | None] = field(default_factory=list)
    """For each word that is one variable's whole value (`bash -c "$CMD"`), where that value's text was
    written in the script ((line, offset) of its assignment), else None."""


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
    runs_text: bool = False
    """While the word a command runs is expanded (`$CMD` in `exec $CMD`): a variable built partly from unknown
    values gives its text, so that the command it holds is read; elsewhere such a variable stays as written."""
    depth: int = 0
    """How many compound commands (`if`, `while`, `for`, `case`) enclose the command being read."""
    written: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Where each variable's text was written: (line, offset) of the assignment that started it; an
    assignment that begins with the variable's own value (`CMD="$CMD --flag"`) keeps the earlier place."""

    def assign(self, name: str, value: Value, caveats: list[str], where: tuple[int, int] | None = None) -> None:
        self.variables[name] = value
        self.caveats[name] = caveats
        if where is not None:
            self.written[name] = where

    def conditional(self, name: str, value: Value, notes: list[str], line: int) -> bool:
        """Under a condition, whether the assignment applies: it fills an unset variable and makes one unknown
        when it computes the value at run time; a known alternative to a value the variable already has
        (`CMD="$CMD --flag"` under `if`) is only noted: whether the branch runs is not known here."""
        current = self.variables.get(name)
        if self.depth == 0 or current is None or (isinstance(current, Unknown) and current.text is None):
            return True
        if isinstance(value, Unknown) and not _text(value).startswith(_text(current) or "\0"):
            return True  # computed at run time (`X=$(...)` in a loop): what it holds is not known here
        notes.append(f"line {line}: under a condition, {name} {_change(current, value)} (not applied)")
        return False


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
            commands += _evaluated(command, shell)
    return commands


def _evaluated(command: ShellCommand, shell: _Shell) -> list[ShellCommand]:
    """`eval WORDS` as a shell runs it: the words joined by blanks, read again as a script at this point (its
    quotes and `$VAR`s count now). A command whose words are not all known stays `eval ...` (said, not read)."""
    if command.words[:1] != ["eval"] or len(command.words) < 2:
        return [command]
    found: list[ShellCommand] = []
    for raw in lex_script(" ".join(command.words[1:])):
        inner = _run(raw, shell)
        if inner is None:
            continue
        inner.line, inner.offset = command.line, command.offset
        inner.env = {**command.env, **inner.env}
        inner.notes = [f"run by `eval` (line {command.line})", *command.notes, *inner.notes]
        found.append(inner)
    return found


def _run(raw: RawCommand, shell: _Shell) -> ShellCommand | None:
    words = list(raw.words)
    while words and words[0].literal() in _RESERVED | _CLOSERS:
        shell.depth += 1 if words[0].literal() in _OPENERS else -1 if words[0].literal() in _CLOSERS else 0
        shell.depth = max(shell.depth, 0)
        words.pop(0)
    if words and words[0].literal() in _OPENERS:
        shell.depth += 1
    if not words or words[0].literal() in _CLAUSES or (words[0].literal() or "") in _CLOSERS:
        if words and words[0].literal() in _CLOSERS:
            shell.depth = max(shell.depth - 1, 0)
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
        for word in raw.words:
            assignment = _assignment(word)
            if assignment is None or assignment[0] not in prefix:
                continue
            name = assignment[0]
            if shell.conditional(name, prefix[name], shell.caveats.setdefault(name, []), word.line):
                shell.assign(name, prefix[name], prefix_caveats[name], _written_at(word, shell))
        return None
    for caveats in prefix_caveats.values():
        notes += caveats
    head = words[0].literal()
    if head in _DECLARATIONS:
        _declare(head or "", words[1:], shell, notes)
        return None
    owners: list[Word] = []
    argv = _expand_words(
        words, shell, notes, command=True, owners=owners
    )  # before VAR=x: `VAR=x cmd $VAR` uses the old VAR
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
    # `VAR=x \` on one line, `vllm serve` on the next: the command starts at its program's word
    line, offset = (
        _command_written_at(words, shell, owners)
        or _program_written_at(argv, owners)
        or (words[0].line, words[0].offset)
    )
    written = [_value_written_at(owner, shell) for owner in owners]
    return ShellCommand(argv, line, {k: v for k, v in env.items() if v is not None}, notes, offset, written)


def _value_written_at(word: Word, shell: _Shell) -> tuple[int, int] | None:
    """Where the text of a word that is one variable's value was written (`"$CMD"`, `"${CMD}"`), else None."""
    parts = [part for part in word.parts if not (isinstance(part, Text) and not part.text)]
    if len(parts) == 1 and isinstance(parts[0], Param) and parts[0].op is None and parts[0].index is None:
        return shell.written.get(parts[0].name)
    return None


def _written_at(word: Word, shell: _Shell) -> tuple[int, int]:
    """Where an assignment's text starts: the assignment, or, when its value begins with a variable whose
    text was written earlier (`CMD="$CMD --flag"`), where that was written."""
    assignment = _assignment(word)
    if word.array is not None:  # `A=(vllm serve ...)`: where its first element is; `A+=(...)` keeps it
        if assignment is not None and assignment[1] and assignment[0] in shell.written:
            return shell.written[assignment[0]]
        return (word.array[0].line, word.array[0].offset) if word.array else (word.line, word.offset)
    parts = assignment[2] if assignment is not None else []
    first = next((part for part in parts if not (isinstance(part, Text) and not part.text)), None)
    if isinstance(first, Param) and first.name in shell.written:
        return shell.written[first.name]
    return word.line, word.offset


def _program_written_at(argv: Sequence[str], owners: Sequence[Word]) -> tuple[int, int] | None:
    """Where the program that wrappers run is written (`srun --gres=gpu:8 \\` on one line, `vllm serve` on the
    next): the launch starts at its engine's word, not at the wrapper's."""
    start = len(argv) - len(strip_wrappers(argv)[0])
    if 0 < start < len(owners):
        return owners[start].line, owners[start].offset
    return None


def _command_written_at(words: Sequence[Word], shell: _Shell, owners: Sequence[Word]) -> tuple[int, int] | None:
    """For a command run from a variable (`$CMD`, `exec $CMD`, `eval "$CMD"`), where the variable's text was
    written; None for a command written where it is run, or whose variable names only its program
    (`exec "$PYTHON_BIN" -m vllm...`: the command is the line that runs it)."""
    evaluated = False
    for word in words:
        if word.literal() in _RUNNERS:
            evaluated = evaluated or word.literal() == "eval"
            continue
        first = next((part for part in word.parts if not (isinstance(part, Text) and not part.text)), None)
        if not isinstance(first, Param) or first.name not in shell.written:
            return None
        if evaluated or sum(owner is word for owner in owners) > 1:
            return shell.written[first.name]
        return None
    return None


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
        value = _assigned_value(word, parts, append, shell, caveats, None)
        if shell.conditional(name, value, shell.caveats.setdefault(name, []), word.line):
            shell.assign(name, value, caveats, _written_at(word, shell))
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


def _expand_words(
    words: Sequence[Word], shell: _Shell, notes: list[str], *, command: bool = False, owners: list[Word] | None = None
) -> list[str]:
    """The fields of `words`; `command`: they are a command's, whose program word may be a variable's text.
    `owners` gets, for each field, the word it came from."""
    out = _Fields()
    program = next((w for w in words if w.literal() not in _RUNNERS), None) if command else None
    for word in words:
        before = len(out.fields)
        shell.runs_text = word is program
        for part in word.parts:
            _expand_part(part, shell, notes, out)
        shell.runs_text = False
        out.end()
        if _only_all_arguments(word) and out.fields[before:] == [""]:
            del out.fields[before:]  # "$@" with no arguments is no word at all, not an empty one
        if owners is not None:
            owners += [word] * (len(out.fields) - before)
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
        if isinstance(value, _Partial):
            unknown.append(part.raw)
            out.add(value.text, split=False)
        elif value is None or isinstance(value, Unknown):
            unknown.append(part.raw)
            out.add(part.raw, split=False)
        else:
            out.add(" ".join(value) if isinstance(value, list) else value, split=False)
    text = out.current or ""
    if unknown:
        return Unknown(f"built from {', '.join(unknown)}, not known here", text)
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
    if isinstance(value, _Partial) and shell.runs_text:  # a command built in a variable: known words kept
        out.add(value.text, split=not part.quoted)
        return
    if isinstance(value, _Partial):
        out.add(part.raw, split=False)
        return
    if isinstance(value, list):
        for position, element in enumerate(value):
            if position:
                out.end()
            out.add(element, split=not part.quoted)
        return
    out.add(value, split=not part.quoted)


def _change(current: Value, value: Value) -> str:
    """`may get ' --flag' appended` or `may be set to 'x'`, for a note."""
    before, after = (_text(item) for item in (current, value))
    if before and after.startswith(before) and after != before:
        return f"may get {after[len(before) :][:120]!r} appended"
    return f"may be set to {after[:120]!r}"


def _text(value: Value) -> str:
    if isinstance(value, list):
        return " ".join(value)
    return value.text or "" if isinstance(value, Unknown) else value


@dataclass(frozen=True)
class _Partial:
    """A variable's text with its unknown parts as written (see `Unknown.text`)."""

    text: str


def _lookup(param: Param, shell: _Shell, notes: list[str]) -> str | list[str] | Unknown | _Partial | None:
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
    if isinstance(value, Unknown) and value.text is not None and param.op is None:
        notes.append(f"{param.raw}: {param.name} is {value.why} (those parts left as written)")
        return _Partial(value.text)
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
