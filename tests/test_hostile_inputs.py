"""Hostile inputs: every command that reads a file, fed every kind of bad file (issue 7).

Each (bad input, reader) pair is one test. The command must exit with its documented code (3: an input
that cannot be evaluated; 2: a usage error; 78: the ferrum.toml refusal), print one error naming the file
(and the line where the format has lines, and the field where one is at fault), print no traceback and no
"internal error", and write nothing: no artifacts directory, no temporary file beside the target, every
input byte for byte and mtime for mtime as it was.

The corpus is tests/data/bad/ (its README says what each file is); `CASES` below is the table of what each
one must produce. Conditions that cannot be committed (a file over the size limit, a directory, a symlink
loop, an unreadable file, a file that disappears) are made in the test. Then: places a command cannot
write to (`probe --save`, `--artifacts-dir`), the deploy scanner on bad files, NVML faults at every call
site through `probe --json` and a dry-run launch, and a property test of the ferrum resolver.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgc_launch import cli
from kgc_launch.hardware.fake_nvml import SURFACE
from testing.nvml_scenarios import scenario

BAD = Path(__file__).resolve().parent / "data" / "bad"
GOLDEN_EFFECTIVE_CONFIG = Path(__file__).resolve().parent / "golden" / "ferrum" / "m3_preset" / "effective_config.json"
LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
QWEN3_8B = "Qwen/Qwen3-8B"
LARGEST_LIMIT = 64 * 1024 * 1024  # the registry's; every other reader's limit is lower
DEPTH = 100_000  # nesting far past Python's recursion limit

# -- the bad inputs -----------------------------------------------------------------------------------

Make = Callable[[Path], None]


def corpus(name: str) -> Make:
    def make(path: Path) -> None:
        shutil.copyfile(BAD / name, path)

    make.corpus_file = name  # type: ignore[attr-defined]
    return make


def nothing(path: Path) -> None:
    pass


def directory(path: Path) -> None:
    path.mkdir()


def symlink_loop(path: Path) -> None:
    path.symlink_to(path.name)  # a link to itself: ELOOP on open


def too_large(path: Path) -> None:
    with path.open("wb") as handle:  # sparse: no disk is spent, and reading it costs only what a reader reads
        handle.truncate(LARGEST_LIMIT + 1)


def plausible(path: Path) -> None:
    path.write_text("{}\n")  # the content is never read: opening it fails (see `Case.fault`)


def gguf_huge_string(path: Path) -> None:
    path.write_bytes(b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 2**62) + b"general.architecture")


def deeply_nested(prefix: str, opener: str) -> Make:
    def make(path: Path) -> None:
        path.write_text(prefix + opener * DEPTH + "\n")

    return make


@dataclass(frozen=True)
class Case:
    """One bad input and the error every reader of its format must give."""

    name: str
    formats: frozenset[str]
    """The formats it is bad for: registry, yaml (a mapping), json, toml, text (a deploy file), gguf."""
    make: Make
    message: str
    """A regex the error matches."""
    line: int | None = None
    """The line the error names, as `FILE:LINE`."""
    field: str | None = None
    """A regex for the field the error names."""
    fault: int | None = None
    """An errno that opening the file raises (the file exists as far as any check before the open can tell)."""
    readers: frozenset[str] | None = None
    """Only these readers (files that are wrong for one reader's schema)."""


ALL = frozenset({"registry", "yaml", "json", "toml", "text", "gguf"})
YAML = frozenset({"registry", "yaml"})
# `--hardware` is read by one function everywhere (resolve included): the same cases apply to every reader.
HARDWARE_READERS = frozenset(
    {"probe-hardware", "launch-hardware", "fit-hardware", "check-hardware", "show-hardware", "resolve-hardware"}
)
MODEL_READERS = frozenset({"model-inspect", "fit-model", "launch-model"})
EFFECTIVE_CONFIG_READERS = frozenset({"replay", "diff-a", "diff-b"})

CASES = [
    # the file system: every reader of every format
    Case("missing", ALL, nothing, r"(?i)no such|not found"),
    Case("directory", ALL, directory, r"(?i)is a directory"),
    Case("unreadable", ALL, plausible, r"(?i)permission denied", fault=errno.EACCES),
    Case("symlink-loop", ALL, symlink_loop, r"(?i)too many levels of symbolic links"),
    Case("disappears", ALL, plausible, r"(?i)no such|not found", fault=errno.ENOENT),
    Case("too-large", ALL, too_large, r"larger than \d+ bytes"),
    Case("not-utf8", ALL, corpus("not-utf8"), r"not UTF-8", line=2),
    # YAML: syntax, size of the expansion, depth, shape
    Case("yaml-malformed", frozenset({"yaml"}), corpus("malformed.yaml"), r"invalid YAML", line=3),
    Case("alias-bomb", YAML, corpus("alias-bomb.yaml"), r"alias bomb"),
    Case("yaml-deeply-nested", YAML, deeply_nested("a: ", "["), r"nested too deeply"),
    Case("yaml-not-a-mapping", YAML, corpus("scalar.yaml"), r"mapping"),
    # the registry's own format
    Case("empty-registry", frozenset({"registry"}), corpus("empty"), r"the registry is empty"),
    Case("registry-malformed", frozenset({"registry"}), corpus("registry-malformed.yaml"), r"invalid YAML", line=6),
    Case(
        "registry-models-not-a-list",
        frozenset({"registry"}),
        corpus("registry-models-not-a-list.yaml"),
        r"expected a list, got a mapping",
        line=2,
        field=r"models",
    ),
    Case(
        "registry-wrong-types",
        frozenset({"registry"}),
        corpus("registry-wrong-types.yaml"),
        r"expected text, got a list",
        line=4,
        field=re.escape("models[0].engine"),
    ),
    Case(
        "registry-unknown-severity",
        frozenset({"registry"}),
        corpus("registry-unknown-severity.yaml"),
        r"unknown severity 'nice-to-have'",
        line=7,
        field=re.escape("models[0].required_flags[0].severity"),
    ),
    Case(
        "registry-bad-regex",
        frozenset({"registry"}),
        corpus("registry-bad-regex.yaml"),
        r"does not compile",
        line=7,
        field=re.escape("models[0].required_flags[0].match"),
    ),
    Case(
        "registry-catastrophic-regex",
        frozenset({"registry"}),
        corpus("registry-catastrophic-regex.yaml"),
        re.escape("dangerous regex '(a+)+$'"),
        line=7,
    ),
    Case(
        "registry-two-documents",
        frozenset({"registry"}),
        corpus("registry-two-documents.yaml"),
        r"more than one YAML document",
    ),
    # a vLLM --config file whose mapping vLLM would pass on as JSON
    Case(
        "vllm-config-date",
        frozenset({"yaml"}),
        corpus("vllm-config-date-in-json-value.yaml"),
        r"cannot be passed as JSON",
        field=r"hf-overrides",
        readers=frozenset({"vllm-config-launch", "vllm-config-check"}),
    ),
    Case(
        "vllm-config-binary",
        frozenset({"yaml"}),
        corpus("vllm-config-binary-in-json-value.yaml"),
        r"cannot be passed as JSON",
        field=r"hf-overrides",
        readers=frozenset({"vllm-config-launch", "vllm-config-check"}),
    ),
    Case(
        "value-findings-not-a-mapping",
        frozenset({"yaml"}),
        corpus("value-findings-scalar.yaml"),
        r"value findings must be a mapping",
        readers=frozenset({"value-findings"}),
    ),
    # JSON: syntax, depth, shape, and each reader's schema
    Case("empty-json", frozenset({"json"}), corpus("empty"), r"(invalid|not valid) JSON", line=1),
    Case("json-malformed", frozenset({"json"}), corpus("malformed.json"), r"(invalid|not valid) JSON", line=4),
    Case("json-deeply-nested", frozenset({"json"}), deeply_nested("", "["), r"nested too deeply"),
    Case("json-not-an-object", frozenset({"json"}), corpus("array.json"), r"object|mapping|dictionary"),
    Case(
        "inventory-wrong-types",
        frozenset({"json"}),
        corpus("inventory-wrong-types.json"),
        r"not a hardware inventory",
        field=re.escape("devices.0.memory_total_bytes"),
        readers=HARDWARE_READERS,
    ),
    Case(
        "hardware-capabilities-wrong-types",
        frozenset({"json"}),
        corpus("hardware-capabilities-wrong-types.json"),
        r"greater than or equal to 0",
        field=r"vram_bytes",
        readers=HARDWARE_READERS,
    ),
    Case(
        "workload-wrong-types",
        frozenset({"json"}),
        corpus("workload-wrong-types.json"),
        r"valid integer",
        field=r"target_concurrency",
        readers=frozenset({"launch-workload", "resolve-workload"}),
    ),
    Case(
        "model-capabilities-wrong-types",
        frozenset({"json"}),
        corpus("model-capabilities-wrong-types.json"),
        r"valid integer",
        field=r"num_hidden_layers",
        readers=frozenset({"resolve-model-capabilities"}),
    ),
    Case(
        "effective-config-wrong-types",
        frozenset({"json"}),
        corpus("effective-config-wrong-types.json"),
        r"expected a JSON array, got an object",
        field=r"entries",
        readers=EFFECTIVE_CONFIG_READERS,
    ),
    Case(
        "model-config-wrong-types",
        frozenset({"json"}),
        corpus("model-config-wrong-types.json"),
        r"expected an integer, found '32'",
        field=r"num_hidden_layers",
        readers=MODEL_READERS,
    ),
    Case(
        "kgc-config-unknown-key",
        frozenset({"json"}),
        corpus("kgc-config-unknown-key.json"),
        re.escape("unknown key(s) registery"),
        readers=frozenset({"kgc-config-json"}),
    ),
    Case(
        "fake-nvml-unknown-error",
        frozenset({"json"}),
        corpus("fake-nvml-unknown-error.json"),
        r"'TooManyCoffees' is not an NVML error name",
        field=r"errors",
        readers=frozenset({"fake-nvml"}),
    ),
    # TOML (ferrum.toml)
    Case("toml-malformed", frozenset({"toml"}), corpus("malformed.toml"), r"does not parse"),
    Case("toml-runtime-not-a-table", frozenset({"toml"}), corpus("runtime-not-a-table.toml"), r"is not a table"),
    Case("toml-deeply-nested", frozenset({"toml"}), deeply_nested("a = ", "["), r"does not parse"),
    # GGUF headers (binary: read up to the tensors, never as text)
    Case("empty-gguf", frozenset({"gguf"}), corpus("empty"), r"not a GGUF file"),
    Case("gguf-huge-string", frozenset({"gguf"}), gguf_huge_string, r"implausible string length"),
    # deploy files (plain text)
    Case("empty-deploy-file", frozenset({"text"}), corpus("empty"), r"no engine launch found"),
    Case("deploy-no-launch", frozenset({"text"}), corpus("deploy-no-launch.sh"), r"no engine launch found"),
    Case("deploy-unclosed-quote", frozenset({"text"}), corpus("deploy-unclosed-quote.sh"), r"unterminated quoted", 3),
]

# -- the readers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    code: int
    message: str | None = None
    """Replaces the case's message when set."""
    names: str | None = None
    """What the error names instead of the file ('parent': its directory)."""


@dataclass(frozen=True)
class Reader:
    """A command (or option) that reads one file of one format."""

    name: str
    format: str
    place: str
    """Where the bad file goes, relative to the working directory."""
    argv: Callable[[Path], list[str]]
    env: Callable[[Path], dict[str, str]] = lambda path: {}
    code: int = 3
    overrides: Mapping[str, Expect] = field(default_factory=dict)
    """Case name -> what this reader does instead (by design, and tested as such)."""
    skip: frozenset[str] = frozenset()
    """Cases that are no error for this reader, by design (each tested on its own below)."""
    leaves: Callable[[Path], list[Path]] = lambda path: []
    """Files it may create even when it refuses: `record`'s lock file."""

    def expect(self, case: Case) -> Expect:
        return self.overrides.get(case.name, Expect(self.code))


def registry_reader(name: str, argv: Callable[[Path], list[str]], **extra: Any) -> Reader:
    # Not where the walk up from the working directory looks: each reader must be the one to name the file.
    return Reader(name, "registry", "in/registry.yaml", argv, **extra)


def hardware_reader(name: str, argv: Callable[[Path], list[str]]) -> Reader:
    # A --hardware value that is no file is taken for a preset name: its error is a usage error.
    missing = Expect(2, r"unknown hardware preset")
    return Reader(name, "json", "in/hardware.json", argv, overrides={"missing": missing})


def model_reader(name: str, argv: Callable[[Path], list[str]]) -> Reader:
    no_config = Expect(3, r"no config\.json in the model directory", names="parent")
    return Reader(name, "json", "in/model/config.json", argv, overrides={"missing": no_config, "directory": no_config})


def gguf_reader(name: str, argv: Callable[[Path], list[str]]) -> Reader:
    # Only the header is read, whatever the file's size; a path that does not exist as a file (a loop
    # included: read_model follows links) is "no such file", and a directory is a model directory.
    no_such = Expect(3, r"no such file or directory")
    return Reader(
        name,
        "gguf",
        "in/model.gguf",
        argv,
        overrides={
            "missing": no_such,
            "symlink-loop": no_such,
            "directory": Expect(3, r"no config\.json in the model directory"),
            "too-large": Expect(3, r"not a GGUF file"),
            "not-utf8": Expect(3, r"not a GGUF file"),
        },
    )


def resolve_reader(name: str, option: str) -> Reader:
    return Reader(
        name, "json", "in/record.json", lambda p: ["resolve", "ferrum", option, str(p), "--artifacts-dir", "a"]
    )


def _serve_args(*tokens: str) -> str:
    return shlex.join(tokens)


_REFUSED = r"ferrum\.toml (does not parse|: \[runtime\] is not a table|cannot be read)"

READERS = [
    registry_reader("registry-validate", lambda p: ["registry", "validate", str(p)]),
    registry_reader("registry-validate-option", lambda p: ["registry", "validate", "--registry", str(p)]),
    registry_reader("check", lambda p: ["check", "--model", LLAMA_8B, "--serve-args", LLAMA_8B, "--registry", str(p)]),
    registry_reader("show", lambda p: ["show", LLAMA_8B, "--registry", str(p)]),
    registry_reader("list", lambda p: ["list", "--registry", str(p)]),
    registry_reader("gate", lambda p: ["gate", "closure", "--model", LLAMA_8B, "--registry", str(p)]),
    registry_reader(
        "record",
        lambda p: [
            *("record", "--model", "org/new-model", "--required-flag=--enforce-eager"),
            *("--grind-frontier", "value-findings.yaml -> org/new-model next_lever", "--registry", str(p)),
        ],
        skip=frozenset({"missing"}),  # record creates a new registry: test_record_creates_a_missing_registry
        leaves=lambda p: [p.with_name(p.name + ".lock")],
    ),
    registry_reader(
        "launch-registry",
        lambda p: ["--dry-run", "--hardware", "H100", "--registry", str(p), "vllm", "serve", LLAMA_8B],
    ),
    registry_reader(
        "launch-registry-ferrum",
        lambda p: ["--dry-run", "--hardware", "RTX4090", "--registry", str(p), "ferrum", "serve", QWEN3_8B],
    ),
    registry_reader(
        "launch-registry-env",
        lambda p: ["--dry-run", "--hardware", "H100", "vllm", "serve", LLAMA_8B],
        env=lambda p: {"KNOWN_GOOD_CONFIG_REGISTRY": str(p)},
    ),
    Reader(
        "vllm-config-launch",
        "yaml",
        "in/serve.yaml",
        lambda p: ["--dry-run", "--hardware", "H100", "vllm", "serve", LLAMA_8B, "--config", str(p)],
    ),
    Reader(
        "vllm-config-check",
        "yaml",
        "in/serve.yaml",
        lambda p: ["check", "--model", LLAMA_8B, "--serve-args", _serve_args(LLAMA_8B, "--config", str(p))],
    ),
    Reader(
        "kgc-config-yaml",
        "yaml",
        "in/kgc.yaml",
        lambda p: ["--kgc-config", str(p), "--dry-run", "--hardware", "H100", "vllm", "serve", LLAMA_8B],
    ),
    Reader(
        "kgc-config-env",
        "yaml",
        "in/kgc.yaml",
        lambda p: ["--dry-run", "--hardware", "H100", "vllm", "serve", LLAMA_8B],
        env=lambda p: {"KGC_CONFIG": str(p)},
    ),
    Reader(
        "value-findings",
        "yaml",
        "in/value-findings.yaml",
        lambda p: ["gate", "closure", "--model", LLAMA_8B, "--value-findings", str(p)],
    ),
    Reader(
        "kgc-config-json",
        "json",
        "in/kgc.json",
        lambda p: ["--kgc-config", str(p), "--dry-run", "--hardware", "H100", "vllm", "serve", LLAMA_8B],
    ),
    hardware_reader("probe-hardware", lambda p: ["probe", "--hardware", str(p)]),
    hardware_reader("launch-hardware", lambda p: ["--dry-run", "--hardware", str(p), "vllm", "serve", LLAMA_8B]),
    hardware_reader("fit-hardware", lambda p: ["fit", LLAMA_8B, "--hardware", str(p)]),
    hardware_reader(
        "check-hardware", lambda p: ["check", "--model", LLAMA_8B, "--serve-args", LLAMA_8B, "--hardware", str(p)]
    ),
    hardware_reader("show-hardware", lambda p: ["show", LLAMA_8B, "--hardware", str(p)]),
    Reader(
        "launch-workload",
        "json",
        "in/workload.json",
        lambda p: ["--dry-run", "--hardware", "RTX4090", "--workload", str(p), "ferrum", "serve", QWEN3_8B],
        overrides={"missing": Expect(2, r"neither a preset nor a file")},
    ),
    Reader("replay", "json", "in/effective_config.json", lambda p: ["replay", str(p)]),
    Reader("diff-a", "json", "in/effective_config.json", lambda p: ["diff", str(p), str(GOLDEN_EFFECTIVE_CONFIG)]),
    Reader("diff-b", "json", "in/effective_config.json", lambda p: ["diff", str(GOLDEN_EFFECTIVE_CONFIG), str(p)]),
    model_reader("model-inspect", lambda p: ["model", "inspect", str(p.parent)]),
    model_reader("fit-model", lambda p: ["fit", str(p.parent), "--hardware", "H100"]),
    model_reader("launch-model", lambda p: ["--dry-run", "--hardware", "H100", "vllm", "serve", str(p.parent)]),
    hardware_reader("resolve-hardware", lambda p: ["resolve", "ferrum", "--hardware", str(p), "--artifacts-dir", "a"]),
    resolve_reader("resolve-model-capabilities", "--model-capabilities"),
    resolve_reader("resolve-workload", "--workload"),
    Reader("fake-nvml", "json", "in/nvml.json", lambda p: ["probe", "--json"], env=lambda p: {"KGC_FAKE_NVML": str(p)}),
    Reader(
        "ferrum-toml",
        "toml",
        "ferrum.toml",
        lambda p: ["--dry-run", "--hardware", "RTX4090", "ferrum", "serve", QWEN3_8B],
        code=78,  # ferrum silently ignores a ferrum.toml it cannot read: the launcher refuses, by design
        overrides={
            name: Expect(78, _REFUSED)
            for name in ("directory", "unreadable", "symlink-loop", "disappears", "too-large", "not-utf8")
        },
        skip=frozenset({"missing"}),  # no ferrum.toml is the common case
    ),
    Reader(
        "deploy-file",
        "text",
        "in/deploy.sh",
        lambda p: ["check", "--model", LLAMA_8B, "--deploy-file", str(p)],
        # A directory is a valid --deploy-file (scanned recursively): with nothing in it, no launch is found.
        overrides={"directory": Expect(3, r"no engine launch found")},
    ),
    gguf_reader("model-inspect-gguf", lambda p: ["model", "inspect", str(p)]),
    gguf_reader("fit-gguf", lambda p: ["fit", str(p), "--hardware", "H100"]),
]

READERS_BY_NAME = {reader.name: reader for reader in READERS}


def _pairs() -> Iterator[Any]:
    for case in CASES:
        for reader in READERS:
            if reader.format not in case.formats or case.name in reader.skip:
                continue
            if case.readers is not None and reader.name not in case.readers:
                continue
            yield pytest.param(case, reader, id=f"{case.name}-{reader.name}")


PAIRS = list(_pairs())

# -- helpers ------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under `root`: kind, and for a file its size, mtime and (when small) a digest."""
    entries: dict[str, tuple[object, ...]] = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, root)
            if stat.S_ISLNK(info.st_mode):
                entries[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entries[relative] = ("dir",)
            else:
                digest = None
                if info.st_size <= 1 << 20:
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                entries[relative] = ("file", info.st_size, info.st_mtime_ns, digest)
    return entries


def fail_open(monkeypatch: pytest.MonkeyPatch, target: Path, code: int) -> None:
    """Opening `target` raises the OSError for `code`, as the OS would (tests run as root, where chmod 0
    does not stop a read; and a file deleted between a check and the open cannot be timed)."""
    original = Path.open
    wanted = os.path.abspath(target)

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if os.path.abspath(self) == wanted:
            raise OSError(code, os.strerror(code), str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory (where a launch would put ./kgc-artifacts), inside `tmp_path`."""
    directory = tmp_path / "work"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean(text: str) -> None:
    assert "Traceback" not in text and "internal error" not in text, text


# -- every bad input, every reader ---------------------------------------------------------------------


@pytest.mark.parametrize(("case", "reader"), PAIRS)
def test_a_bad_input_is_one_clear_error_and_nothing_is_written(
    case: Case,
    reader: Reader,
    tmp_path: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = work / reader.place
    target.parent.mkdir(parents=True, exist_ok=True)
    case.make(target)
    for name, value in reader.env(target).items():
        monkeypatch.setenv(name, value)
    before = snapshot(tmp_path)
    if case.fault is not None:
        fail_open(monkeypatch, target, case.fault)

    code, out, err = run(reader.argv(target), capsys)

    expect = reader.expect(case)
    text = out + err
    assert code == expect.code, text
    assert_clean(text)
    assert re.search(expect.message or case.message, text), text
    named = str(target.parent) if expect.names == "parent" else str(target)
    assert named in text, text
    if case.line is not None and expect.message is None and expect.code != 78:
        assert f"{target}:{case.line}:" in text, text
    if case.field is not None:
        assert re.search(case.field, text), text
    if expect.code == 78:
        assert "refusing" in err, err
        return  # a refusal writes its artifacts, by design: test_a_ferrum_toml_refusal_is_recorded
    errors = err.count("kgc-launch: error:")
    # `registry validate` reports what is wrong inside a file on stdout, one problem a line, and
    # `check --deploy-file` reports each unreadable file in its report, next to the launches it did read.
    reports_inside = reader.name.startswith("registry-validate") or reader.name == "deploy-file"
    assert errors == 1 or (reports_inside and errors == 0 and f"{target}" in text), text
    after = snapshot(tmp_path)
    for left in reader.leaves(target):
        after.pop(os.path.relpath(left, tmp_path), None)
    assert after == before


def test_every_corpus_file_is_in_the_table_and_every_case_is_exercised() -> None:
    used = {getattr(case.make, "corpus_file", None) for case in CASES}
    assert {path.name for path in BAD.iterdir() if path.name != "README.md"} == used - {None}
    exercised = {param.values[0].name for param in PAIRS}  # type: ignore[attr-defined]
    assert exercised == {case.name for case in CASES}
    for case in CASES:
        assert case.readers is None or case.readers <= READERS_BY_NAME.keys(), case.name


def test_the_corpus_readme_lists_every_file() -> None:
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    for path in BAD.iterdir():
        assert path.name == "README.md" or f"`{path.name}`" in readme, path.name


# -- what is no error, by design ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "code", "output"),
    [
        ("kgc-config-yaml", 0, "would exec"),
        ("value-findings", 1, "OPEN"),  # no next_lever recorded: the gate is open, not broken
    ],
)
def test_an_empty_yaml_mapping_file_is_an_empty_mapping(
    reader: str, code: int, output: str, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = work / READERS_BY_NAME[reader].place
    target.parent.mkdir(parents=True)
    target.write_bytes(b"")
    status, out, err = run(READERS_BY_NAME[reader].argv(target), capsys)
    assert status == code and output in out + err
    assert_clean(out + err)


def test_record_creates_a_missing_registry_and_refuses_a_missing_folder(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = READERS_BY_NAME["record"].argv
    target = work / "configs" / "known-good-configs.yaml"
    target.parent.mkdir()
    code, out, _ = run(argv(target), capsys)
    assert code == 0 and "(new file)" in out and "org/new-model" in target.read_text()
    nowhere = work / "no-such-folder" / "known-good-configs.yaml"
    code, _, err = run(argv(nowhere), capsys)
    assert code == 3 and f"{nowhere.parent}: the registry's folder does not exist" in err
    assert not nowhere.parent.exists()


def test_a_ferrum_toml_refusal_is_recorded(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copyfile(BAD / "malformed.toml", work / "ferrum.toml")
    argv = ["--dry-run", "--hardware", "RTX4090", "--artifacts-dir", "run", "ferrum", "serve", QWEN3_8B]
    code, _, err = run(argv, capsys)
    assert code == 78 and "ferrum would silently ignore the whole file" in err
    record = json.loads((work / "run" / "launch.json").read_text())
    assert record["verdict"] == "refuse"
    assert any("ferrum.toml does not parse" in finding["message"] for finding in record["findings"])


# -- through a real process: nothing but the one line reaches stderr ---------------------------------


@pytest.mark.parametrize(
    ("case", "reader"),
    [
        ("alias-bomb", "registry-validate"),
        ("json-deeply-nested", "launch-hardware"),
        ("not-utf8", "deploy-file"),
        ("vllm-config-date", "vllm-config-launch"),
        ("symlink-loop", "record"),
        ("too-large", "replay"),
    ],
)
def test_in_a_real_process_no_traceback_reaches_stderr(case: str, reader: str, tmp_path: Path) -> None:
    chosen = next(c for c in CASES if c.name == case)
    chosen_reader = READERS_BY_NAME[reader]
    target = tmp_path / chosen_reader.place
    target.parent.mkdir(parents=True, exist_ok=True)
    chosen.make(target)
    root = Path(__file__).resolve().parent.parent
    process = subprocess.run(
        [sys.executable, "-m", "kgc_launch", *chosen_reader.argv(target)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 3, process.stderr
    assert "Traceback" not in process.stderr and "internal error" not in process.stderr
    error_lines = [
        line
        for line in process.stderr.splitlines()
        if not line.startswith(("  hint: ", "kgc-launch: settings not on the command line:"))
    ]
    if reader in ("registry-validate", "deploy-file"):  # they report a bad file inside their report
        assert error_lines == [] and str(target) in process.stdout
    else:
        assert len(error_lines) == 1 and error_lines[0].startswith(f"kgc-launch: error: {target}"), process.stderr
    assert not (tmp_path / "kgc-artifacts").exists()


# -- where a command writes: nothing half-written, no temporary file left, one error naming the path --------


def _existing_file(path: Path) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text("not a directory\n")


def _under_a_file(path: Path) -> None:
    path.parent.parent.mkdir(parents=True, exist_ok=True)
    path.parent.write_text("a file where a directory must be\n")


def _a_symlink_loop(path: Path) -> None:
    path.parent.mkdir()
    path.symlink_to(path.name)


def _holding_a_directory_artifact(path: Path) -> None:
    (path / "effective_config.json").mkdir(parents=True)


def _folder_of(path: Path) -> None:
    path.parent.mkdir()


def _a_directory(path: Path) -> None:
    path.mkdir(parents=True)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: None, r"cannot write the inventory: No such file or directory"),
        (_a_directory, r"cannot write the inventory: Is a directory"),
        (_under_a_file, r"cannot write the inventory: Not a directory"),
    ],
    ids=["folder-missing", "a-directory", "under-a-file"],
)
def test_probe_save_to_a_place_that_cannot_take_it(
    make: Callable[[Path], None], message: str, tmp_path: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = work / "out" / "inventory.json"
    make(target)
    before = snapshot(tmp_path)
    code, out, err = run(["probe", "--hardware", "8xH100-SXM", "--save", str(target)], capsys)
    assert code == 3 and re.search(message, err) and f"{target}:" in err, err
    assert_clean(out + err)
    assert snapshot(tmp_path) == before  # no folder made, no temporary file left beside the target


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_existing_file, r"is not a directory"),
        (_under_a_file, r"cannot create the artifacts directory: Not a directory"),
        (_a_symlink_loop, r"is a symbolic link"),
        (_holding_a_directory_artifact, r"is a directory where an artifact file should be"),
    ],
    ids=["a-file", "under-a-file", "a-symlink-loop", "holding-a-directory"],
)
@pytest.mark.parametrize(
    "argv",
    [
        ["--dry-run", "--hardware", "H100", "--artifacts-dir", "{dir}", "vllm", "serve", LLAMA_8B],
        ["--dry-run", "--hardware", "RTX4090", "--artifacts-dir", "{dir}", "ferrum", "serve", QWEN3_8B],
        ["resolve", "ferrum", "--preset", "m3_qwen3_30b_a3b_int4", "--artifacts-dir", "{dir}"],
    ],
    ids=["launch-vllm", "launch-ferrum", "resolve"],
)
def test_an_artifacts_dir_that_cannot_take_the_artifacts(
    make: Callable[[Path], None],
    message: str,
    argv: list[str],
    tmp_path: Path,
    work: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = work / "out" / "run"
    make(target)
    before = snapshot(tmp_path)
    code, out, err = run([str(target) if token == "{dir}" else token for token in argv], capsys)
    assert code == 3 and re.search(message, err) and str(target) in err, err
    assert_clean(out + err)
    assert snapshot(tmp_path) == before


# -- the deploy scanner: every unreadable file is one error in the result, and the scan goes on ---------------


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("yaml-malformed", "deploy.yaml"),
        ("alias-bomb", "deploy.yaml"),
        ("yaml-deeply-nested", "deploy.yaml"),
        ("not-utf8", "deploy.yaml"),
        ("too-large", "deploy.yaml"),
        ("unreadable", "deploy.yaml"),
        ("disappears", "deploy.yaml"),
        ("symlink-loop", "deploy.yaml"),
        ("not-utf8", "deploy.sh"),
    ],
)
def test_the_deploy_scanner_reports_a_bad_file_and_goes_on(
    case: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kgc_launch.deploy.scan import scan_paths

    chosen = next(c for c in CASES if c.name == case)
    target = tmp_path / name
    chosen.make(target)
    good = tmp_path / "good.sh"
    good.write_text(f"#!/bin/sh\nexec vllm serve {LLAMA_8B} --max-model-len 8192\n")
    if chosen.fault is not None:
        fail_open(monkeypatch, target, chosen.fault)
    result = scan_paths([str(target), str(good)])
    assert [error.path for error in result.errors] == [str(target)], [str(e) for e in result.errors]
    assert [launch.file for launch in result.launches] == [str(good)]


# -- NVML faults at every call site, through `probe --json` and a dry-run launch ------------------------------

NVML_FAULTS = (
    "NotSupported",
    "FunctionNotFound",
    "Unknown",
    "GpuIsLost",
    "NoPermission",
    "DriverNotLoaded",
    "LibRmVersionMismatch",
    "Uninitialized",
    "InvalidArgument",
    "NotFound",
)
_DEVICE_FIELDS = (
    "uuid",
    "name",
    "pci_bus_id",
    "compute_capability",
    "memory_total_bytes",
    "memory_free_bytes",
    "memory_used_bytes",
    "mig_enabled",
)


def _faulty_node(function: str, fault: str, target: str) -> dict[str, Any]:
    """The 8x H100 node with MIG on its first GPU, `function` answering `fault` node-wide or on two GPUs
    (the MIG parent with its slices, and a plain one)."""
    description = scenario("eight_h100_mig")
    errors = {function: fault}
    if target == "node":
        description["errors"] = errors
    else:
        mig_parent = description["devices"][0]
        mig_parent["errors"] = errors
        for mig in mig_parent["mig_slices"]:
            mig["errors"] = errors
        description["devices"][3]["errors"] = errors
    return description


_BASELINE: dict[str, Any] = {}


def _baseline_inventory(tmp_path: Path) -> dict[str, Any]:
    if not _BASELINE:
        from kgc_launch.commands.probe import inventory_json
        from kgc_launch.hardware.probe import probe_gpus

        path = tmp_path / "baseline.json"
        path.write_text(json.dumps(scenario("eight_h100_mig")))
        _BASELINE.update(inventory_json(probe_gpus({"KGC_FAKE_NVML": str(path)})))
    return _BASELINE


def _device_key(device: Mapping[str, Any]) -> tuple[object, object]:
    return device["index"], (device["mig"] or {}).get("index")


def _assert_every_change_is_named(inventory: dict[str, Any], baseline: dict[str, Any], fault: tuple[str, str]) -> None:
    """A fault may make a field unknown (None, and named with its reason), never wrong."""
    if inventory["source"] == "none":  # no driver to ask is a fact about the machine, said as such
        assert inventory["devices"] == inventory["visible"] == [] and "SIMULATED" in inventory["source_detail"]
        return
    for field_name in ("driver_version", "cuda_driver_version"):
        if inventory[field_name] != baseline[field_name]:
            assert inventory[field_name] is None and field_name in inventory["unknown_fields"], field_name
    before = {_device_key(device): device for device in baseline["devices"]}
    for device in inventory["devices"]:
        known = before.get(_device_key(device))
        assert device["memory_total_bytes"] != 0, device
        if known is None or device["lost"] or device["unreadable"]:
            continue
        for field_name in _DEVICE_FIELDS:
            if field_name == "mig_enabled" and fault == ("nvmlDeviceGetMigMode", "NotSupported"):
                continue  # NVML's NotSupported there means the GPU cannot do MIG: MIG off, by design
            if device[field_name] != known[field_name]:
                assert device[field_name] is None or field_name == "name", (field_name, device)
                assert field_name in device["unknown_fields"], (field_name, device)
        if device["sm_count"] != known["sm_count"]:
            assert device["sm_count"] is None or device["sm_count_source"] != known["sm_count_source"], device
    uuids = {device["uuid"] for device in inventory["devices"]}
    for device in inventory["visible"]:
        assert not device["lost"] and device["unreadable"] is None and device["uuid"] in uuids, device


@pytest.mark.parametrize("target", ["node", "two-gpus"])
@pytest.mark.parametrize("fault", NVML_FAULTS)
@pytest.mark.parametrize("function", SURFACE)
def test_an_nvml_fault_anywhere_is_a_clean_result_or_one_of_our_errors(
    function: str,
    fault: str,
    target: str,
    tmp_path: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    baseline = _baseline_inventory(tmp_path)
    description = tmp_path / "node.json"
    description.write_text(json.dumps(_faulty_node(function, fault, target)))
    monkeypatch.setenv("KGC_FAKE_NVML", str(description))

    probe_code, out, err = run(["probe", "--json"], capsys)
    assert_clean(out + err)
    if probe_code == 0:
        _assert_every_change_is_named(json.loads(out)["inventory"], baseline, (function, fault))
    else:
        assert probe_code == 3 and err.count("kgc-launch: error:") == 1 and "  hint: " in err, err

    launch_code, out, err = run(["--dry-run", "--json", "vllm", "serve", LLAMA_8B], capsys)
    assert_clean(out + err)
    if probe_code == 3:
        assert launch_code == 3 and err.count("kgc-launch: error:") == 1, err  # the same hardware error
    else:
        assert launch_code in (0, 78), err
        report = json.loads(out)
        assert report["exit_code"] == launch_code and report["would_exec"] == (launch_code == 0)


def test_the_nvml_node_is_eight_gpus_with_mig_and_reads_clean(tmp_path: Path) -> None:
    inventory = _baseline_inventory(tmp_path)
    assert sum(device["mig"] is None for device in inventory["devices"]) == 8
    assert [device["mig"]["profile"] for device in inventory["devices"] if device["mig"]] == [
        "3g.40gb",
        "2g.20gb",
        "1g.10gb",
    ]
    assert all(not device["unknown_fields"] for device in inventory["devices"])


# -- property: the ferrum resolver resolves or raises its typed error, nothing else ---------------------------

_FERRUM_SOURCES = ("resolve.py", "validate.py", "sizing.py", "decisions.py")
FERRUM_KEYS = sorted(
    {
        key
        for name in _FERRUM_SOURCES
        for key in re.findall(
            r'"(FERRUM_[A-Z0-9_]+)"',
            (Path(__file__).resolve().parent.parent / "kgc_launch" / "ferrum" / name).read_text(encoding="utf-8"),
        )
    }
)
_USIZE = st.one_of(
    st.integers(min_value=0, max_value=1 << 20), st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**63, 2**64 - 1])
)
_DTYPES = st.lists(st.sampled_from(["fp16", "bf16", "fp32", "fp8", "int8", "auto", "q4"]), max_size=4)
_RAW_VALUES = st.one_of(
    st.sampled_from(
        [
            *("0", "1", "true", "False", " yes ", "off", "+64", "-1", "64", "4096", "18446744073709551616", "1.5"),
            *("fp16", "bf16", "fp8", "int8", "auto", "", "é", "\u00a01"),
        ]
    ),
    st.text(max_size=6),
)


def _record(cls: Any, data: dict[str, Any]) -> Any:
    from kgc_launch.records import from_plain

    return from_plain(cls, data)  # valid by construction: a strategy bug fails here, loudly


@st.composite
def _runtime(draw: st.DrawFn) -> Any:
    from kgc_launch.runtime import RuntimeConfigEntry, RuntimeConfigSnapshot, RuntimeConfigSource

    keys = st.one_of(st.sampled_from(FERRUM_KEYS), st.text(max_size=8).map(lambda text: "FERRUM_" + text))
    entries = draw(st.lists(st.tuples(keys, _RAW_VALUES, st.sampled_from(list(RuntimeConfigSource))), max_size=8))
    return RuntimeConfigSnapshot.from_entries(
        RuntimeConfigEntry.new(key, value, source) for key, value, source in entries
    )


@st.composite
def _capabilities(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    from kgc_launch.records import HardwareCapabilities, ModelCapabilities, WorkloadProfile

    optional = st.one_of(st.none(), _USIZE)
    moe = st.one_of(
        st.none(),
        st.fixed_dictionaries({"num_experts": _USIZE, "experts_per_token": _USIZE, "moe_intermediate_size": optional}),
    )
    model = _record(
        ModelCapabilities,
        {
            "architecture": draw(st.sampled_from(["llama", "qwen3_moe", "unknown", ""])),
            "quantization": draw(st.sampled_from([None, "gptq_int4", "awq_int4", "fp8", "weird"])),
            "moe": draw(moe),
            "max_context_len": draw(optional),
            "num_hidden_layers": draw(optional),
            "head_dim": draw(optional),
            "kv_heads": draw(optional),
            "estimated_weight_bytes": draw(optional),
            "supported_dtypes": draw(_DTYPES),
            "graph_safe_moe": draw(st.booleans()),
        },
    )
    feature_names = ("cuda", "vllm_paged_attn", "vllm_moe_marlin", "cuda_graph", "greedy_argmax", "fa2_source")
    hardware = _record(
        HardwareCapabilities,
        {
            "backend": draw(st.sampled_from(["cuda", "CUDA", "metal", "cpu", "unknown", "rocm"])),
            "cuda_runtime": draw(st.sampled_from([None, "12.4", "x"])),
            "compute_capability": draw(st.sampled_from([None, "7.5", "8.0", "8.9", "9.0", "12.1", "x.y", ""])),
            "vram_bytes": draw(optional),
            "sm_count": draw(st.one_of(st.none(), st.integers(min_value=0, max_value=2**32 - 1))),
            "supported_dtypes": draw(_DTYPES),
            "supported_kv_dtypes": draw(_DTYPES),
            "graph_support": draw(st.booleans()),
            "compiled_features": {name: draw(st.booleans()) for name in (*feature_names, "fa2_direct_ffi")},
        },
    )
    workload = _record(
        WorkloadProfile,
        {
            "preset": draw(st.sampled_from([None, "m3_qwen3_30b_a3b_int4", "other"])),
            "serving_mode": draw(st.sampled_from(["openai_chat", "bench_serve", ""])),
            "target_concurrency": draw(_USIZE),
            "prompt_length_class": draw(st.sampled_from(["unknown", "random_256", "long"])),
            "output_length_class": draw(st.sampled_from(["unknown", "random_128"])),
            "priority": draw(st.sampled_from(["latency", "throughput", "balanced"])),
        },
    )
    return model, hardware, workload


def test_the_property_covers_every_key_the_resolver_reads() -> None:
    assert len(FERRUM_KEYS) >= 20 and "FERRUM_KV_MAX_BLOCKS" in FERRUM_KEYS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runtime=_runtime(), records=_capabilities())
def test_the_ferrum_resolver_resolves_or_raises_its_typed_error(runtime: Any, records: tuple[Any, Any, Any]) -> None:
    from kgc_launch.artifacts import render_artifacts
    from kgc_launch.ferrum.errors import AutoConfigError
    from kgc_launch.ferrum.resolve import resolve_ferrum

    model, hardware, workload = records
    try:
        resolved = resolve_ferrum(runtime, model, hardware, workload)
    except AutoConfigError as error:
        assert str(error) and error.exit_code == 1
        return
    rendered = render_artifacts(resolved)  # what a launch writes: it must render too
    assert resolved.decisions and json.loads(rendered.effective_config)["env_hash"].startswith("sha256:")
