"""Split a shell script into commands of words, as a POSIX shell reads it, without running anything.

The quoting rules are POSIX's (the ones `shlex.split(..., posix=True)` applies): single quotes are literal,
double quotes keep `$` expansions and honour `\\` before `$ ` " \\` and newline, a backslash outside quotes
escapes the next character, backslash-newline joins lines, `#` starts a comment at the start of a word.
Unlike `shlex`, each word keeps which of its parts were quoted and where its expansions are, because that
decides what a shell expands and splits later (`$ARGS` splits into flags, `"$ARGS"` stays one word).

Also read: `;` `&` `&&` `||` `|` `(` `)` and newlines as command separators, redirections (dropped with
their target), heredocs (their bodies are skipped), bash arrays `NAME=(a b)`, `$'...'` strings. Command
substitutions and arithmetic are kept as opaque text: nothing is executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kgc_launch.errors import InputError

_SPECIAL_PARAMS = "@*#?-$!0123456789"
_OPERATOR_START = ";&|()<>"
_ANSI_C = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class Text:
    """Literal characters; `quoted` ones are not split or expanded."""

    text: str
    quoted: bool


@dataclass(frozen=True)
class Param:
    """A parameter expansion: `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME[@]}`, `$1`, `$@`."""

    name: str
    raw: str
    quoted: bool
    op: str | None = None
    """One of `-` `:-` `=` `:=` `+` `:+` `?` `:?`, or None."""
    operand: tuple[Part, ...] = ()
    index: str | None = None


@dataclass(frozen=True)
class Opaque:
    """Something a shell would compute when it runs: `$(...)`, backticks, `$((...))`, `${#X}`, `${X/a/b}`."""

    raw: str
    quoted: bool
    what: str


Part = Text | Param | Opaque


@dataclass
class Word:
    parts: list[Part]
    line: int
    array: list[Word] | None = None
    """For `NAME=(a b c)`: the element words (the word's own parts hold `NAME=`)."""
    offset: int = 0
    """Where the word starts in the script text (0-based): a caller maps it to a line of its own file."""

    def literal(self) -> str | None:
        """The word's text when it is all unquoted literal text (reserved words, builtins), else None."""
        if self.array is not None or not all(isinstance(part, Text) and not part.quoted for part in self.parts):
            return None
        return "".join(part.text for part in self.parts if isinstance(part, Text))


@dataclass
class RawCommand:
    """The words of one simple command (redirections removed) and the line of its first word."""

    words: list[Word]
    line: int
    notes: list[str] = field(default_factory=list)
    offset: int = 0
    """Where the command's first word starts in the script text (0-based)."""


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0
        self.line = 1
        self.commands: list[RawCommand] = []
        self.words: list[Word] = []
        self.notes: list[str] = []
        self.heredocs: list[tuple[str, bool]] = []

    # -- helpers --
    def peek(self, offset: int = 0) -> str:
        position = self.index + offset
        return self.text[position] if position < len(self.text) else ""

    def finish_command(self) -> None:
        if self.words:
            first = self.words[0]
            self.commands.append(RawCommand(self.words, first.line, self.notes, first.offset))
        self.words, self.notes = [], []

    # -- top level --
    def run(self) -> list[RawCommand]:
        while self.index < len(self.text):
            char = self.peek()
            if char in " \t":
                self.index += 1
            elif char == "\\" and self.peek(1) == "\n":
                self.index += 2
                self.line += 1
            elif char == "\n":
                self.index += 1
                self.line += 1
                self.finish_command()
                self.skip_heredoc_bodies()
            elif char == "#":
                while self.index < len(self.text) and self.peek() != "\n":
                    self.index += 1
            elif char in _OPERATOR_START:
                self.operator()
            else:
                self.word_or_fd()
        self.finish_command()
        return self.commands

    def operator(self) -> None:
        text = self.text[self.index : self.index + 3]
        for op in ("<<<", "<<-", "&>>", "<<", ">>", "<&", ">&", "<>", ">|", "&>", "<", ">"):
            if text.startswith(op):
                self.index += len(op)
                self.redirection(op)
                return
        for op in ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")"):
            if text.startswith(op):
                self.index += len(op)
                self.finish_command()
                return

    def redirection(self, op: str) -> None:
        """Drop the redirection's target word; for a heredoc, remember its delimiter."""
        while self.peek() in (" ", "\t"):
            self.index += 1
        if self.peek() in ("", "\n") or self.peek() in _OPERATOR_START:
            return
        target = self.read_word()
        if op in ("<<", "<<-"):
            delimiter = "".join(part.text if isinstance(part, Text) else part.raw for part in target.parts)
            self.heredocs.append((delimiter, op == "<<-"))

    def skip_heredoc_bodies(self) -> None:
        for delimiter, strip_tabs in self.heredocs:
            while self.index < len(self.text):
                end = self.text.find("\n", self.index)
                end = len(self.text) if end < 0 else end
                body_line = self.text[self.index : end]
                self.index = min(end + 1, len(self.text))
                self.line += 1
                if (body_line.lstrip("\t") if strip_tabs else body_line) == delimiter:
                    break
        self.heredocs = []

    def word_or_fd(self) -> None:
        word = self.read_word()
        # `2>&1`: a word of digits right before a redirection is its file descriptor, not an argument.
        fd = word.literal()
        if fd is not None and fd.isdigit() and self.peek() in ("<", ">"):
            return
        if word.parts or word.array is not None:
            self.words.append(word)

    # -- words --
    def read_word(self) -> Word:
        word = Word([], self.line, offset=self.index)
        buffer: list[str] = []

        def flush() -> None:
            if buffer:
                word.parts.append(Text("".join(buffer), False))
                buffer.clear()

        while self.index < len(self.text):
            char = self.peek()
            if char in " \t\n":
                break
            if char in _OPERATOR_START:
                if char == "(" and not word.parts and _is_array_start("".join(buffer)):
                    flush()
                    self.index += 1
                    word.array = self.read_array()
                    return word
                break
            if char == "\\":
                if self.peek(1) == "\n":
                    self.index += 2
                    self.line += 1
                    continue
                flush()
                if self.peek(1):
                    word.parts.append(Text(self.peek(1), True))
                self.index += 2
            elif char == "'":
                flush()
                word.parts.append(Text(self.read_until("'"), True))
            elif char == '"':
                flush()
                self.index += 1
                word.parts.extend(self.read_double_quoted())
            elif char == "$":
                flush()
                word.parts.append(self.read_dollar(quoted=False))
            elif char == "`":
                flush()
                word.parts.append(Opaque(self.read_backticks(), False, "command substitution"))
            else:
                buffer.append(char)
                self.index += 1
        flush()
        return word

    def read_array(self) -> list[Word]:
        elements: list[Word] = []
        while self.index < len(self.text):
            char = self.peek()
            if char == ")":
                self.index += 1
                break
            if char in " \t":
                self.index += 1
            elif char == "\n":
                self.index += 1
                self.line += 1
            elif char == "\\" and self.peek(1) == "\n":
                self.index += 2
                self.line += 1
            elif char == "#":
                while self.index < len(self.text) and self.peek() != "\n":
                    self.index += 1
            else:
                element = self.read_word()
                if not element.parts:  # an operator character inside the parentheses: keep it as text
                    element.parts.append(Text(char, True))
                    self.index += 1
                elements.append(element)
        return elements

    def read_until(self, closing: str) -> str:
        """From an opening quote to `closing` (exclusive), counting newlines; no escapes (single quotes)."""
        start = self.index + 1
        end = self.text.find(closing, start)
        if end < 0:
            raise _unterminated(closing, self.line)
        content = self.text[start:end]
        self.line += content.count("\n")
        self.index = end + 1
        return content

    def read_double_quoted(self) -> list[Part]:
        parts: list[Part] = [Text("", True)]  # `""` is still a word
        buffer: list[str] = []
        opened_on = self.line

        def flush() -> None:
            if buffer:
                parts.append(Text("".join(buffer), True))
                buffer.clear()

        while self.index < len(self.text):
            char = self.peek()
            if char == '"':
                self.index += 1
                break
            if char == "\\" and self.peek(1) in ("$", "`", '"', "\\", "\n"):
                if self.peek(1) == "\n":
                    self.line += 1
                else:
                    buffer.append(self.peek(1))
                self.index += 2
            elif char == "$":
                flush()
                parts.append(self.read_dollar(quoted=True))
            elif char == "`":
                flush()
                parts.append(Opaque(self.read_backticks(), True, "command substitution"))
            else:
                if char == "\n":
                    self.line += 1
                buffer.append(char)
                self.index += 1
        else:
            raise _unterminated('"', opened_on)
        flush()
        return parts

    def read_backticks(self) -> str:
        start = self.index
        self.index += 1
        while self.index < len(self.text) and self.peek() != "`":
            if self.peek() == "\\":
                self.index += 1
            if self.peek() == "\n":  # also after a backslash: the continuation is still a line of the file
                self.line += 1
            self.index += 1
        self.index += 1
        return self.text[start : self.index]

    def read_dollar(self, *, quoted: bool) -> Part:
        start = self.index
        nxt = self.peek(1)
        if nxt == "'" and not quoted:
            self.index += 1
            return Text(self.read_ansi_c(), True)
        if nxt == "(":
            what = "arithmetic" if self.peek(2) == "(" else "command substitution"
            self.index += 1
            self.skip_balanced("(", ")")
            return Opaque(self.text[start : self.index], quoted, what)
        if nxt == "{":
            self.index += 1
            self.skip_balanced("{", "}")
            return _braced(self.text[start : self.index], quoted)
        if nxt and (nxt.isalpha() or nxt == "_"):
            end = self.index + 1
            while end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
                end += 1
            self.index = end
            return Param(self.text[start + 1 : end], self.text[start:end], quoted)
        if nxt and nxt in _SPECIAL_PARAMS:
            self.index += 2
            return Param(nxt, self.text[start : self.index], quoted)
        self.index += 1
        return Text("$", quoted)

    def read_ansi_c(self) -> str:
        """`$'...'`: bash's C-style string (the common escapes)."""
        self.index += 1  # the opening quote
        out: list[str] = []
        while self.index < len(self.text) and self.peek() != "'":
            char = self.peek()
            if char == "\\" and self.peek(1):
                escaped = self.peek(1)
                self.line += escaped == "\n"
                out.append(_ANSI_C.get(escaped, escaped))
                self.index += 2
                continue
            if char == "\n":
                self.line += 1
            out.append(char)
            self.index += 1
        self.index += 1
        return "".join(out)

    def skip_balanced(self, opening: str, closing: str) -> None:
        """From the opening bracket to just past its match, stepping over quotes (nothing is evaluated)."""
        depth = 0
        while self.index < len(self.text):
            char = self.peek()
            if char == "\\":
                if self.peek(1) == "\n":  # a continuation inside `$( ... )` is still a line of the file
                    self.line += 1
                self.index += 2
                continue
            if char == "'" and opening == "(":
                self.read_until("'")
                continue
            if char == '"':
                self.index += 1
                self.read_double_quoted()
                continue
            if char == "\n":
                self.line += 1
            if char == opening:
                depth += 1
            elif char == closing:
                depth -= 1
                if depth == 0:
                    self.index += 1
                    return
            self.index += 1


def _is_array_start(prefix: str) -> bool:
    name = prefix[:-2] if prefix.endswith("+=") else prefix[:-1] if prefix.endswith("=") else ""
    return bool(name) and (name[0].isalpha() or name[0] == "_") and all(c.isalnum() or c == "_" for c in name)


_PARAM_OPS = (":-", ":=", ":+", ":?", "-", "=", "+", "?")


def _braced(raw: str, quoted: bool) -> Part:
    """`${...}`: a plain parameter, an index, or one of the default/alternative operators."""
    inner = raw[2:-1]
    if not inner or inner[0] in "#!":
        if inner in ("#", "!"):
            return Param(inner, raw, quoted)
        return Opaque(raw, quoted, "parameter length or indirection")
    end = 0
    if inner[0] in _SPECIAL_PARAMS:
        end = 1
        while inner[0].isdigit() and end < len(inner) and inner[end].isdigit():
            end += 1
    else:
        while end < len(inner) and (inner[end].isalnum() or inner[end] == "_"):
            end += 1
    if end == 0:
        return Opaque(raw, quoted, "parameter expansion")
    name, rest = inner[:end], inner[end:]
    index: str | None = None
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            return Opaque(raw, quoted, "parameter expansion")
        index, rest = rest[1:close], rest[close + 1 :]
    if not rest:
        return Param(name, raw, quoted, index=index)
    for op in _PARAM_OPS:
        if rest.startswith(op):
            return Param(name, raw, quoted, op, tuple(_operand(rest[len(op) :], quoted)), index)
    return Opaque(raw, quoted, "pattern substitution")


def _operand(text: str, quoted: bool) -> list[Part]:
    """The word after `:-` etc., read with the same quoting rules (inside double quotes it stays quoted)."""
    lexer = _Lexer(text)
    parts: list[Part] = []
    while lexer.index < len(text):
        if text[lexer.index] in " \t\n" + _OPERATOR_START:
            # Unquoted blanks stay splittable: `${X:-a b}` expands to two words, as in a shell.
            parts.append(Text(text[lexer.index], text[lexer.index] not in " \t\n"))
            lexer.index += 1
            continue
        parts.extend(lexer.read_word().parts)
    if quoted:
        parts = [Text(p.text, True) if isinstance(p, Text) else _quoted(p) for p in parts]
    return parts or [Text("", True)]


def _quoted(part: Param | Opaque) -> Part:
    if isinstance(part, Param):
        return Param(part.name, part.raw, True, part.op, part.operand, part.index)
    return Opaque(part.raw, True, part.what)


def _unterminated(quote: str, line: int) -> InputError:
    # A shell refuses such a script outright ("unterminated quoted string"), so it launches nothing.
    return InputError(f"unterminated quoted string: the {quote} opened here is never closed", line=line)


def lex_script(text: str) -> list[RawCommand]:
    """The simple commands of a script, in order, each with the words it is made of."""
    return _Lexer(text).run()
