"""Where a token read from a deploy file sits in that file: the line of each of its characters.

A launch is reported on the line where its engine command starts. When the command is a YAML scalar
(`args: ["sh", "-c", "..."]`, a `|` or `>` block, a compose `command: >`, a SkyPilot `run: |`), the engine
may start many lines below the scalar's first line, and a folded (`>`) or plain multi-line scalar has lost
its line breaks. `SourceText.scalar_origin` maps each character of the scalar's value back to its line by
walking the value and the file text side by side (every non-blank character of a scalar's value appears
in the source in order; blanks, line breaks, quotes, block indicators and escapes are what differ). A
value changed after reading (Kubernetes' `$(VAR)` expansion) still maps: characters that cannot be
found nearby are taken as inserted and keep the line of the character before them.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

_LOOKAHEAD = 96
"""How far ahead (characters of the file) one character of the value is looked for before it is taken as
inserted: longer than any `$(VAR)` reference a value expansion removes, shorter than a line of a script."""


@dataclass(frozen=True)
class Origin:
    """The lines of one token's characters: `marks` are (offset in the token, line) where the line changes."""

    line: int
    """1-based line of the token's first character."""
    marks: tuple[tuple[int, int], ...] = ()

    def line_at(self, offset: int) -> int:
        """1-based line of the token's character at `offset` (0-based)."""
        if not self.marks:
            return self.line
        position = bisect_right([mark for mark, _ in self.marks], offset) - 1
        return self.marks[position][1] if position >= 0 else self.line


class SourceText:
    """A file's text with its line starts, for mapping YAML scalars back to lines."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        index = text.find("\n")
        while index >= 0:
            self.starts.append(index + 1)
            index = text.find("\n", index + 1)

    def offset(self, line: int, col: int) -> int:
        """The text offset of a 1-based line and 0-based column."""
        if line < 1 or line > len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + col, len(self.text))

    def line_of(self, offset: int) -> int:
        return bisect_right(self.starts, offset)

    def scalar_origin(self, line: int, col: int, value: str) -> Origin:
        """The origin of a scalar `value` whose node starts at (1-based `line`, 0-based `col`)."""
        text = self.text
        position = self.offset(line, col)
        if position < len(text) and text[position] in "|>":
            newline = text.find("\n", position)
            position = len(text) if newline < 0 else newline + 1  # a block's content starts on the next line
        elif position < len(text) and text[position] in "\"'":
            position += 1
        marks: list[tuple[int, int]] = []
        current = line
        for index, char in enumerate(value):
            if char in " \t\n\r":
                continue
            found = text.find(char, position, position + _LOOKAHEAD)
            if found < 0:
                continue  # inserted after reading (an expanded reference): the line of the one before
            found_line = self.line_of(found)
            if not marks or found_line != current:
                marks.append((index, found_line))
                current = found_line
            position = found + 1
        first = marks[0][1] if marks else line
        return Origin(first, tuple(marks))

    def item_origin(self, sequence: Any, index: int, value: str) -> Origin | None:
        """The origin of item `index` of a loaded YAML sequence (ruamel's or the fast reader's)."""
        position = _position(sequence, "item", index)
        return None if position is None else self.scalar_origin(position[0] + 1, position[1], value)

    def value_origin(self, mapping: Any, key: Any, value: str) -> Origin | None:
        """The origin of the scalar value of `key` in a loaded YAML mapping."""
        position = _position(mapping, "key", key)
        if position is None:
            return None
        start = self.offset(position[0] + 1, position[1])
        colon = _key_end(self.text, start)
        if colon < 0:
            return None
        after = colon + 1
        while after < len(self.text) and self.text[after] in " \t":
            after += 1
        if after >= len(self.text) or self.text[after] in "\n#":
            newline = self.text.find("\n", after)  # the value starts on a later line
            after = len(self.text) if newline < 0 else newline + 1
        line = self.line_of(after)
        return self.scalar_origin(line, after - self.starts[line - 1], value)


def _position(node: Any, kind: str, key: Any) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        found = lc.item(key) if kind == "item" else lc.key(key)
        return int(found[0]), int(found[1])
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _key_end(text: str, start: int) -> int:
    """The `:` that ends a mapping key starting at `start` (plain or quoted), or -1."""
    index = start
    if index < len(text) and text[index] in "\"'":
        quote = text[index]
        index = text.find(quote, index + 1)
        while index >= 0 and quote == '"' and text[index - 1] == "\\":
            index = text.find(quote, index + 1)
        if index < 0:
            return -1
    end = text.find("\n", index)
    end = len(text) if end < 0 else end
    while index < end:
        colon = text.find(":", index, end)
        if colon < 0:
            return -1
        if colon + 1 >= len(text) or text[colon + 1] in " \t\n":
            return colon
        index = colon + 1
    return -1
