"""The docs run: every `console` block's commands are run and their output compared with what the doc
shows (the convention is in CONTRIBUTING.md, "Doc tests"; the runner is `testing/doc_examples.py`), and
every link and repository path a doc names exists.
"""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

import pytest

from testing.doc_examples import (
    PROMPT,
    ROOT,
    Block,
    DocFormatError,
    describe_mismatch,
    doc_files,
    fenced_blocks,
    output_matches,
    run_block,
    shown_path,
)

DOCS = doc_files()
BIN = Path(sys.executable).parent


def _blocks() -> list[Block]:
    blocks = []
    for path in DOCS:
        with contextlib.suppress(DocFormatError):  # test_every_fence_is_closed_... says so
            blocks += [block for block in fenced_blocks(path) if block.runnable]
    return blocks


CONSOLE_BLOCKS = _blocks()


# -- the examples --------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", CONSOLE_BLOCKS, ids=[block.id for block in CONSOLE_BLOCKS])
def test_console_block_prints_what_the_doc_shows(block: Block, tmp_path: Path) -> None:
    assert block.problem is None, block.problem
    assert (BIN / "kgc-launch").exists(), f"no kgc-launch beside {sys.executable}: run through scripts/test"
    results = run_block(block, tmp_path, BIN)
    mismatches = [describe_mismatch(block, result) for result in results if not result.matches]
    assert not mismatches, "\n\n".join(mismatches)


def test_there_are_examples_to_run() -> None:
    paths = {block.path.relative_to(ROOT).as_posix() for block in CONSOLE_BLOCKS}
    assert {"README.md", "CONTRIBUTING.md", "docs/launching.md", "docs/probe.md", "docs/registry.md"} <= paths
    assert len(CONSOLE_BLOCKS) >= 30


@pytest.mark.parametrize("path", DOCS, ids=[path.relative_to(ROOT).as_posix() for path in DOCS])
def test_every_fence_is_closed_and_sessions_are_console_blocks(path: Path) -> None:
    """A shown `$ command` with its output belongs in a `console` block, where it is run."""
    blocks = fenced_blocks(path)  # raises on a fence that is never closed
    for block in blocks:
        if block.runnable:
            continue
        sessions = [line for line in block.body if line.startswith(PROMPT)]
        assert not sessions, f"{block.id}: a ```{block.info} block shows a session ({sessions[0]!r}): use ```console"


def test_kgc_launch_in_a_console_block_is_always_run() -> None:
    """Every `kgc-launch` a console block shows is on a `$ ` line (or its continuation), never in output."""
    for block in CONSOLE_BLOCKS:
        for command in block.commands:
            for line in command.expected:
                assert not line.startswith("$"), f"{block.id}: {line!r} looks like a command but is output"


# -- the convention itself ------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_console_block_without_a_command_is_a_problem(tmp_path: Path) -> None:
    (block,) = fenced_blocks(_write(tmp_path, "text\n\n```console\nsome output\n```\n"))
    assert block.problem is not None and "output before the first" in block.problem
    (block,) = fenced_blocks(_write(tmp_path, "```console\n\n```\n"))
    assert block.problem is not None and "without a `$ ` command" in block.problem
    (block,) = fenced_blocks(_write(tmp_path, "```console\n$ \n```\n"))
    assert block.problem is not None


def test_commands_continuations_exit_codes_and_outputs(tmp_path: Path) -> None:
    text = (
        "  ```console\n"
        "  $ kgc-launch fit X \\\n"
        "  >     --hardware H100  # exit 3\n"
        "  error line\n"
        "  $ echo hi\n"
        "  hi\n"
        "  ```\n"
        "```sh\nkgc-launch probe\n```\n"
    )
    first, second = fenced_blocks(_write(tmp_path, text))
    assert first.runnable and not second.runnable and first.problem is None
    fit, echo = first.commands
    assert (fit.line, fit.text, fit.exit_code, fit.expected) == (
        2,
        "kgc-launch fit X \\\n    --hardware H100",
        3,
        ("error line",),
    )
    assert (echo.text, echo.exit_code, echo.expected) == ("echo hi", 0, ("hi",))


def test_wildcards() -> None:
    assert output_matches(["a <ANY> c"], ["a b b c"])
    assert output_matches(["a<ANY>"], ["a"])
    assert not output_matches(["a <ANY> c"], ["a b", "c"])  # <ANY> stays within a line
    assert output_matches(["first", "...", "last"], ["first", "x", "y", "last"])
    assert output_matches(["first", "...", "last"], ["first", "last"])
    assert not output_matches(["first", "last"], ["first", "x", "last"])
    assert output_matches(["x  ", "", ""], ["x"])  # trailing whitespace and blank lines
    assert not output_matches(["x"], ["x", "y"])
    assert not output_matches(["a.c"], ["abc"])  # everything else is literal


def test_a_block_runs_in_one_shell_and_checks_each_status(tmp_path: Path) -> None:
    text = (
        "```console\n$ cd docs && X=1\n$ echo $X; ls -d demo\n1\ndemo\n$ false  # exit 1\n$ kgc-launch --version\n```\n"
    )
    (block,) = fenced_blocks(_write(tmp_path, text))
    results = run_block(block, tmp_path / "run", BIN)
    assert [result.matches for result in results] == [True, True, True, False]
    assert results[3].exit_code == 0 and results[3].output[0].startswith("kgc-launch ")


# -- links and paths ------------------------------------------------------------------------------------

_LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE_SPAN = re.compile(r"(`+)(?P<code>.+?)\1")
_REPO_PATH = re.compile(
    r"^(?:(?:kgc_launch|docs|registry|scripts|testing|tests|\.ci)/[A-Za-z0-9_.\-/]*"
    r"|README\.md|CONTRIBUTING\.md|pyproject\.toml|\.pre-commit-hooks\.yaml)$"
)
INSTALLED_ONLY = {"kgc_launch/_registry"}  # where pip puts registry/ (pyproject.toml force-include)


def _prose(path: Path) -> list[tuple[int, str]]:
    """The lines outside fenced blocks, with their line numbers."""
    fenced: set[int] = set()
    for block in fenced_blocks(path):
        fenced.update(range(block.line, block.line + len(block.body) + 2))
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(number, line) for number, line in enumerate(lines, start=1) if number not in fenced]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for _, line in _prose(path) if re.match(r"^#{1,6} ", line)}


@pytest.mark.parametrize("path", DOCS, ids=[path.relative_to(ROOT).as_posix() for path in DOCS])
def test_links_and_paths_resolve(path: Path) -> None:
    problems = []
    for number, line in _prose(path):
        without_code = _CODE_SPAN.sub("", line)
        for link in _LINK.finditer(without_code):
            target = link["target"]
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            if not resolved.exists():
                problems.append(f"{number}: link to {target}: no such file")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                problems.append(f"{number}: link to {target}: no heading #{anchor}")
        for span in _CODE_SPAN.finditer(line):
            code = span["code"].strip()
            if _REPO_PATH.match(code) and code.rstrip("/") not in INSTALLED_ONLY and not (ROOT / code).exists():
                problems.append(f"{number}: `{code}`: no such file in the repository")
    assert not problems, f"{shown_path(path)}:\n" + "\n".join(problems)


def test_the_link_check_sees_a_broken_link(tmp_path: Path) -> None:
    doc = _write(tmp_path, "# Title\n\n[x](missing.md) [y](#title) [z](#nowhere) `docs/no-such-page.md`\n")
    with pytest.raises(AssertionError) as failure:
        test_links_and_paths_resolve(doc)
    message = str(failure.value)
    assert "missing.md: no such file" in message and "#nowhere" in message and "#title" not in message
    assert "docs/no-such-page.md" in message


# -- the README -----------------------------------------------------------------------------------------


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# ") and lines[2].startswith("```")
    assert lines[3].startswith("scripts/demo ") and lines[4].startswith("scripts/test ")


def test_readme_stays_a_five_minute_read() -> None:
    assert (ROOT / "README.md").stat().st_size <= 12 * 1024, "move detail into docs/ (README: the map of docs)"
