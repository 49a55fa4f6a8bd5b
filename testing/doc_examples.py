"""Runnable examples in the Markdown docs: find them, run them, compare what they print.

A fenced block whose info string is `console` is a terminal session (CONTRIBUTING.md, "Doc tests"):

    ```console
    $ kgc-launch fit meta-llama/Llama-3.1-8B-Instruct --hardware L4  # exit 1
    > (a line starting with "> " continues the command above, as bash's PS2 prompt shows it)
    the output, stdout and stderr together, as a terminal shows them
    ...            <- a line that is only "..." matches any number of lines (none included)
    artifacts: <ANY>/kgc-artifacts/run-1    <- "<ANY>" matches any text within one line
    ```

The commands of one block run in order in one `bash` process (so `cd` and variables carry over), in a
scratch directory that stands for the repository's root. Each command must exit with the status its
`# exit N` comment gives (0 without one). Lines are compared without trailing whitespace, and blank lines
at the end of a command's output are ignored; everything else must match exactly.

`python -m testing.doc_examples FILE.md...` prints what each block's commands print now (for writing a
block); `--update` writes that output into the files where a command's shown output does not match.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = ("README.md", "CONTRIBUTING.md", "docs/**/*.md")
# What the scratch directory holds: copies of these repository paths, so that a block runs as it would at
# the repository's root (the examples' files, the fake NVML descriptions, the registry a walk up finds).
SANDBOX_COPIES = ("registry", "docs", "testing/nvml")
PROMPT = "$ "
CONTINUATION = "> "
ANY = "<ANY>"
ANY_LINES = "..."
RUNNABLE = "console"
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_EXIT = re.compile(r"\s+# exit (?P<code>\d+)$")
BLOCK_TIMEOUT_S = 300


@dataclass(frozen=True)
class Command:
    line: int  # line number (1-based) of the `$ ` line in its file
    text: str  # the command as bash gets it; continuation lines joined with newlines
    exit_code: int
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # line number (1-based) of the opening fence
    info: str  # the fence's info string (`console`, `sh`, ...)
    body: tuple[str, ...]  # the lines between the fences, the fence's indentation removed
    commands: tuple[Command, ...] = field(default=())
    problem: str | None = None  # why a `console` block cannot be run as written

    @property
    def id(self) -> str:
        return f"{shown_path(self.path)}:{self.line}"

    @property
    def runnable(self) -> bool:
        return bool(self.info.split()) and self.info.split()[0] == RUNNABLE


def shown_path(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


class DocFormatError(ValueError):
    pass


def doc_files(root: Path = ROOT) -> list[Path]:
    found: set[Path] = set()
    for pattern in DOC_FILES:
        found.update(path for path in root.glob(pattern) if path.is_file())
    return sorted(found)


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown file (CommonMark fences: ``` or ~~~, possibly indented)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence, info = len(opening["indent"]), opening["fence"], opening["info"].strip()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if closing and closing["fence"].startswith(fence[0] * len(fence)) and not closing["info"].strip():
                break
            line = lines[index]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            index += 1
        else:
            raise DocFormatError(f"{path}:{start + 1}: a fenced block is never closed")
        block = Block(path=path, line=start + 1, info=info, body=tuple(body))
        if block.runnable:
            try:
                block = Block(path, block.line, info, block.body, commands=tuple(_commands(block)))
            except DocFormatError as error:
                block = Block(path, block.line, info, block.body, problem=str(error))
        blocks.append(block)
        index += 1
    return blocks


def _commands(block: Block) -> Iterator[Command]:
    command: list[str] | None = None
    line_number = 0
    output: list[str] = []

    def finish() -> Command:
        assert command is not None
        text = "\n".join(command)
        exit_code = 0
        found = _EXIT.search(command[-1])
        if found:
            exit_code = int(found["code"])
            text = "\n".join([*command[:-1], command[-1][: found.start()]])
        return Command(line=line_number, text=text, exit_code=exit_code, expected=tuple(output))

    for offset, line in enumerate(block.body, start=block.line + 1):
        if line.startswith(PROMPT) or line == PROMPT.rstrip():
            if command is not None:
                yield finish()
            if not line[len(PROMPT) :].strip():
                raise DocFormatError(f"{block.id}: line {offset}: a `$` without a command")
            command, line_number, output = [line[len(PROMPT) :]], offset, []
        elif command is not None and not output and line.startswith(CONTINUATION):
            command.append(line[len(CONTINUATION) :])
        elif command is None:
            if line.strip():
                raise DocFormatError(f"{block.id}: line {offset}: output before the first `$ ` command")
        else:
            output.append(line)
    if command is None:
        raise DocFormatError(f"{block.id}: a `console` block without a `$ ` command (use ```text for output)")
    yield finish()


def runnable_blocks(paths: Iterable[Path]) -> list[Block]:
    return [block for path in paths for block in fenced_blocks(path) if block.runnable]


# -- running ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    command: Command
    exit_code: int
    output: tuple[str, ...]

    @property
    def matches(self) -> bool:
        return self.exit_code == self.command.exit_code and output_matches(self.command.expected, self.output)


def environment(home: Path, bin_dir: Path) -> dict[str, str]:
    """A controlled environment: the project's kgc-launch first on PATH, HOME in the scratch area, none of
    the developer's KGC_*, FERRUM_*, VLLM_*, HF_* or CUDA variables (nothing of the caller's is passed), and
    no Hugging Face Hub (HF_HUB_OFFLINE=1): an example's output never depends on the network."""
    return {
        "PATH": os.pathsep.join([str(bin_dir), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "TERM": "dumb",
        "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave in the order they were written
        "PYTHONDONTWRITEBYTECODE": "1",
        "HF_HUB_OFFLINE": "1",
    }


def make_sandbox(directory: Path, root: Path = ROOT) -> Path:
    for relative in SANDBOX_COPIES:
        source, target = root / relative, directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return directory


def run_block(block: Block, scratch: Path, bin_dir: Path | None = None) -> list[Result]:
    """Run a block's commands in one bash, in `scratch/repo` (made here); one Result per command."""
    bin_dir = bin_dir or Path(sys.executable).parent
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    workdir = make_sandbox(scratch / "repo")
    marker = f"@@doc-test-{uuid.uuid4().hex}@@"
    script = ["exec 2>&1 </dev/null"]
    for command in block.commands:
        script.append(command.text)
        script.append(f"printf '\\n{marker} %d\\n' $?")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
        cwd=workdir,
        env=environment(home, bin_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=BLOCK_TIMEOUT_S,
        check=False,
    )
    text = done.stdout.decode("utf-8", errors="replace")
    pieces = re.split(rf"\n?{re.escape(marker)} (\d+)\n", text)
    outputs, codes = pieces[0:-1:2], [int(code) for code in pieces[1::2]]
    results = [
        Result(command, code, _normalise(output.splitlines()))
        for command, output, code in zip(block.commands, outputs, codes, strict=False)
    ]
    if len(results) < len(block.commands):  # the shell stopped early (`exit`, a crash): say what it printed
        missing = block.commands[len(results)]
        results.append(Result(missing, done.returncode, _normalise(pieces[-1].splitlines())))
    return results


# -- comparing ----------------------------------------------------------------------------------------


def _normalise(lines: Iterable[str]) -> tuple[str, ...]:
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return tuple(out)


def _line_pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(part) for part in expected.split(ANY)), re.DOTALL)


def output_matches(expected: Iterable[str], actual: Iterable[str]) -> bool:
    """`expected` (wildcards: a `...` line, `<ANY>` in a line) against `actual`, both normalised."""
    patterns, lines = _normalise(expected), _normalise(actual)
    memo: dict[tuple[int, int], bool] = {}

    def match(p: int, a: int) -> bool:
        key = (p, a)
        if key not in memo:
            if p == len(patterns):
                memo[key] = a == len(lines)
            elif patterns[p] == ANY_LINES:
                memo[key] = any(match(p + 1, later) for later in range(a, len(lines) + 1))
            else:
                memo[key] = (
                    a < len(lines)
                    and _line_pattern(patterns[p]).fullmatch(lines[a]) is not None
                    and match(p + 1, a + 1)
                )
        return memo[key]

    return match(0, 0)


def describe_mismatch(block: Block, result: Result) -> str:
    command = result.command
    lines = [f"{shown_path(block.path)}:{command.line}: $ {command.text}"]
    if result.exit_code != command.exit_code:
        lines.append(f"  exit status {result.exit_code}, the doc says {command.exit_code}")
    if not output_matches(command.expected, result.output):
        lines.append("  the doc shows:")
        lines.extend(f"    | {line}" for line in _normalise(command.expected))
        lines.append("  the command printed:")
        lines.extend(f"    | {line}" for line in result.output)
    return "\n".join(lines)


# -- writing blocks -----------------------------------------------------------------------------------


def _update_file(path: Path, results: list[tuple[Block, list[Result]]]) -> int:
    """Replace the shown output (and `# exit N`) of every command that does not match; returns how many."""
    lines = path.read_text(encoding="utf-8").splitlines()
    edits: list[tuple[int, int, list[str]]] = []  # (first line index, end index, replacement)
    for block, block_results in results:
        fence_line = lines[block.line - 1]
        indent = fence_line[: len(fence_line) - len(fence_line.lstrip())]
        ends = [command.line for command in block.commands[1:]] + [block.line + len(block.body) + 1]
        for result, end in zip(block_results, ends, strict=False):
            if result.matches:
                continue
            command = result.command
            cmd_lines = command.text.split("\n")
            suffix = f"  # exit {result.exit_code}" if result.exit_code else ""
            shown = [indent + PROMPT + cmd_lines[0]] + [indent + CONTINUATION + line for line in cmd_lines[1:]]
            shown[-1] += suffix
            shown += [(indent + line).rstrip() for line in result.output]
            edits.append((command.line - 1, end - 1, shown))
    for start, end, replacement in sorted(edits, reverse=True):
        lines[start:end] = replacement
    if edits:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(edits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.doc_examples", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="Markdown files (default: every doc)")
    parser.add_argument("--update", action="store_true", help="write the actual output where it differs")
    args = parser.parse_args(argv)
    files = [path.resolve() for path in args.files] or doc_files()
    failed = 0
    for path in files:
        results: list[tuple[Block, list[Result]]] = []
        for block in runnable_blocks([path]):
            if block.problem:
                print(f"BAD  {block.problem}")
                failed += 1
                continue
            with tempfile.TemporaryDirectory() as scratch:
                block_results = run_block(block, Path(scratch))
            results.append((block, block_results))
            for result in block_results:
                status = "ok  " if result.matches else "DIFF"
                failed += not result.matches
                print(f"{status} {block.id} $ {result.command.text.splitlines()[0]}  (exit {result.exit_code})")
                if not result.matches and not args.update:
                    print(describe_mismatch(block, result))
        if args.update:
            changed = _update_file(path, results)
            if changed:
                print(f"{shown_path(path)}: {changed} command output(s) rewritten")
    return 1 if failed and not args.update else 0


if __name__ == "__main__":
    sys.exit(main())
