"""Score `check --deploy-file` on the corpus of real deploy files (tests/data/deploy_corpus, truth.json).

The whole corpus is scanned at once (as a CI job scans a repository) and checked twice: without and with
`--hardware 8xH100-SXM`. Every launch the truth counts for our engines (vLLM, ferrum) is paired with the
launch the checker reports in the same file, by line first, then in order. Printed per kind and split:

- found/expected: launches paired (literal commands; `implied_by_operator` launches in their own column);
- extra: launches reported that the truth does not count (another engine's, a router's, a comment's);
- lines: paired launches reported on the truth's line;
- false PASS: a launch vLLM would reject that is judged PASS (or not reported at all);
- false FAIL: a launch vLLM accepts that is judged FAIL (with --hardware: the resolver's refusals);
- silent: a file that launches or mentions an engine with neither a launch nor a 'not evaluated' status.

    .venv/bin/python -m pytest tests/test_deploy_corpus.py -s     (prints the table)
    .venv/bin/python tests/test_deploy_corpus.py                  (the same, without pytest)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kgc_launch.deploy.check import CheckSettings, DeployChecker  # noqa: E402
from kgc_launch.deploy.launch import Launch  # noqa: E402
from kgc_launch.deploy.report import LaunchResult  # noqa: E402
from kgc_launch.deploy.scan import ScanResult, scan_paths  # noqa: E402
from kgc_launch.hardware.select import hardware_from_spec  # noqa: E402
from kgc_launch.knowngood.load import load_registry  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "deploy_corpus"
OUR_ENGINES = frozenset(["vllm", "ferrum"])
HARDWARE = "8xH100-SXM"


@dataclass
class Tally:
    expected: int = 0
    found: int = 0
    expected_implied: int = 0
    found_implied: int = 0
    extra: int = 0
    lines: int = 0
    unevaluated: int = 0
    """Found launches the check could not evaluate (an unknown ENTRYPOINT, an unknown model): exit 3."""
    false_pass: int = 0
    false_fail: int = 0
    files: int = 0
    silent: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        names = (
            "expected",
            "found",
            "expected_implied",
            "found_implied",
            "extra",
            "lines",
            "unevaluated",
            "false_pass",
        )
        for name in names:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.false_fail += other.false_fail
        self.files += other.files
        self.silent += other.silent
        self.problems += other.problems


@dataclass
class Run:
    scan: ScanResult
    plain: list[LaunchResult]
    """Checked without --hardware."""
    hardware: list[LaunchResult]
    """Checked with --hardware."""
    tracebacks: list[str]


def truth() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CORPUS / "truth.json").read_text())
    return document


def run_corpus() -> Run:
    registry = load_registry(ROOT / "registry" / "known-good-configs.yaml")
    scan = scan_paths([str(CORPUS / "files")])
    tracebacks: list[str] = []
    results: list[list[LaunchResult]] = []
    for hardware in (None, hardware_from_spec(HARDWARE)):
        checker = DeployChecker(CheckSettings(registry=registry, hardware=hardware, engine_version=None))
        checked: list[LaunchResult] = []
        for launch in scan.launches:
            try:
                checked.append(checker.check(launch))
            except Exception as error:  # a traceback is a finding of the score, not a crash of it
                tracebacks.append(f"{launch.location}: {type(error).__name__}: {error}")
        results.append(checked)
    return Run(scan, results[0], results[1], tracebacks)


def _relative(path: str) -> str:
    return Path(path).resolve().relative_to(CORPUS).as_posix()


def _pair(
    expected: Sequence[dict[str, Any]], found: Sequence[Launch]
) -> list[tuple[dict[str, Any] | None, Launch | None]]:
    """Truth launches and reported ones of one file, by line first, then in order."""
    left = list(expected)
    right = list(found)
    pairs: list[tuple[dict[str, Any] | None, Launch | None]] = []
    for item in list(left):
        match = next((launch for launch in right if launch.line == item["line"]), None)
        if match is not None:
            pairs.append((item, match))
            left.remove(item)
            right.remove(match)
    for item, launch in zip(left, right, strict=False):
        pairs.append((item, launch))
    pairs += [(item, None) for item in left[len(right) :]]
    pairs += [(None, launch) for launch in right[len(left) :]]
    return pairs


def score(run: Run) -> dict[tuple[str, str], Tally]:
    """Per (split, kind)."""
    by_file: dict[str, list[Launch]] = {}
    for launch in run.scan.launches:
        by_file.setdefault(_relative(launch.file), []).append(launch)
    verdict_plain = {id(result.launch): result for result in run.plain}
    verdict_hardware = {id(result.launch): result for result in run.hardware}
    statuses = {_relative(status.path): status for status in run.scan.files}
    tallies: dict[tuple[str, str], Tally] = {}
    for record in truth()["files"]:
        tally = tallies.setdefault((record["split"], record["kind"]), Tally())
        tally.files += 1
        name = record["file"]
        ours = [item for item in record["launches"] if item["engine"] in OUR_ENGINES]
        found = by_file.get(name, [])
        for item, launch in _pair(ours, found):
            implied = bool(item and item.get("implied_by_operator"))
            if item is not None:
                if implied:
                    tally.expected_implied += 1
                else:
                    tally.expected += 1
            if item is None and launch is not None:
                tally.extra += 1
                tally.problems.append(f"extra: {name}:{launch.line} {launch.object}")
                continue
            if item is None:
                continue
            rejected = bool(item.get("would_vllm_reject"))
            if launch is None:
                said = statuses.get(name)
                why = "" if said is None else f" ({said.status}: {said.why})"
                tally.problems.append(f"missed: {name}:{item['line']}{why}")
                tally.false_pass += rejected
                continue
            if implied:
                tally.found_implied += 1
            else:
                tally.found += 1
            if launch.line == item["line"]:
                tally.lines += 1
            else:
                tally.problems.append(f"line: {name}: reported {launch.line}, truth {item['line']}")
            plain = verdict_plain.get(id(launch))
            tally.unevaluated += plain is None or plain.verdict == "error"
            for results in (verdict_plain, verdict_hardware):
                result = results.get(id(launch))
                verdict = result.verdict if result is not None else "error"
                if rejected and verdict == "pass":
                    tally.false_pass += 1
                    tally.problems.append(f"false PASS: {name}:{item['line']}")
                    break
                if not rejected and verdict == "fail":
                    tally.false_fail += 1
                    tally.problems.append(f"false FAIL: {name}:{item['line']}: {_why(result)}")
                    break
        mentions = bool(record.get("mentions_engine_without_launch"))
        if (ours or mentions) and not found:
            status = statuses.get(name)
            if status is None or (status.status == "no launch" and not status.why):
                tally.silent += 1
                tally.problems.append(f"silent: {name}")
    return tallies


def _why(result: LaunchResult | None) -> str:
    if result is None:
        return "?"
    return "; ".join(refusal.message for refusal in result.refusals) or "; ".join(m.rule_id for m in result.missing)


COLUMNS = ("found", "implied", "not eval.", "extra", "lines", "false PASS", "false FAIL", "silent")


def table(tallies: dict[tuple[str, str], Tally]) -> str:
    lines: list[str] = []
    for split in ("calibration", "validation"):
        lines.append(f"{split}:")
        lines.append(f"  {'kind':<22}" + "".join(f"{column:>12}" for column in COLUMNS))
        total = Tally()
        for (part, kind), tally in sorted(tallies.items()):
            if part != split:
                continue
            total.add(tally)
            lines.append(_row(kind, tally))
        lines.append(_row("total", total))
    return "\n".join(lines)


def _row(kind: str, tally: Tally) -> str:
    cells = [
        f"{tally.found}/{tally.expected}",
        f"{tally.found_implied}/{tally.expected_implied}",
        str(tally.unevaluated),
        str(tally.extra),
        f"{tally.lines}/{tally.found + tally.found_implied}",
        str(tally.false_pass),
        str(tally.false_fail),
        f"{tally.silent}/{tally.files}",
    ]
    return f"  {kind:<22}" + "".join(f"{cell:>12}" for cell in cells)


def totals(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return total


def report(run: Run) -> tuple[str, Tally]:
    tallies = score(run)
    total = totals(tallies.values())
    text = table(tallies)
    if run.tracebacks:
        text += "\ntracebacks:\n" + "\n".join(f"  {line}" for line in run.tracebacks)
    if total.problems:
        text += "\nproblems:\n" + "\n".join(f"  {line}" for line in total.problems)
    return text, total


def test_the_corpus_score() -> None:
    run = run_corpus()
    text, total = report(run)
    print("\n" + text)
    assert not run.tracebacks
    assert total.found >= 0.95 * total.expected
    assert total.found_implied == total.expected_implied
    assert total.extra == 0
    assert total.false_fail == 0
    assert total.lines == total.found + total.found_implied  # every reported launch on the truth's line
    assert total.silent == 0
    assert total.false_pass == 0, [problem for problem in total.problems if "false PASS" in problem]


if __name__ == "__main__":
    print(report(run_corpus())[0])
