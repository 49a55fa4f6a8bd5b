"""The launch grammar: `kgc-launch [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS...`.

Each launch option can also come from a `KGC_*` environment variable or a launcher config file
(`--kgc-config FILE` / `$KGC_CONFIG`, JSON or YAML), for container images. Precedence: command line,
then environment, then the config file, then the default. Everything from ENGINE on belongs to the
engine and is passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgc_launch.errors import InputError, UsageError

# option -> (environment variable, takes a value)
_OPTIONS: dict[str, tuple[str, bool]] = {
    "--registry": ("KGC_REGISTRY", True),
    "--artifacts-dir": ("KGC_ARTIFACTS_DIR", True),
    "--hardware": ("KGC_HARDWARE", True),
    "--workload": ("KGC_WORKLOAD", True),
    "--set": ("KGC_SET", True),
    "--ferrum-features": ("KGC_FERRUM_FEATURES", True),
    "--engine": ("KGC_ENGINE", True),
    "--kgc-config": ("KGC_CONFIG", True),
    "--require-registered": ("KGC_REQUIRE_REGISTERED", False),
    "--no-recipes": ("KGC_NO_RECIPES", False),
    "--dry-run": ("KGC_DRY_RUN", False),
    "--json": ("KGC_JSON", False),
    "--quiet": ("KGC_QUIET", False),
    "--debug": ("KGC_DEBUG", False),
}
_REPEATABLE = {"--set"}
VALUE_OPTIONS = frozenset(name for name, (_, takes_value) in _OPTIONS.items() if takes_value)
"""Launch options that take a value (the deploy check reads a manifest's `kgc-launch ...` with these)."""
FLAG_OPTIONS = frozenset(name for name, (_, takes_value) in _OPTIONS.items() if not takes_value)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
ENGINES = ("vllm", "ferrum")

LAUNCH_HELP = """\
usage: kgc-launch [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS...
  e.g. kgc-launch vllm serve Qwen/Qwen3-8B --max-model-len 32768
       kgc-launch --hardware 8xH100-SXM --dry-run vllm serve meta-llama/Llama-3.1-70B-Instruct -tp 8

Probes the GPUs, reads the model, resolves and checks the config, writes the artifacts, then execs
ENGINE with exactly what was resolved, or refuses (exit 78) saying what to change.

launch options (each also set by the KGC_* variable shown, or a key of the --kgc-config file):
  --registry PATH          known-good registry (KGC_REGISTRY; else $KNOWN_GOOD_CONFIG_REGISTRY, a walk up
                           from the current directory, then the shipped one)
  --artifacts-dir DIR      where the artifacts go (KGC_ARTIFACTS_DIR; default
                           ./kgc-artifacts/<UTC time>-<model slug>)
  --hardware NAME|FILE     a preset (H100, 8xH100-SXM) or a 'probe --save' file instead of the probe
                           (KGC_HARDWARE)
  --workload PRESET|FILE   ferrum workload profile (KGC_WORKLOAD)
  --set KEY=VALUE          a ferrum runtime entry, source cli; repeatable (KGC_SET: space-separated)
  --ferrum-features LIST   cargo features the ferrum binary was built with, comma-separated
                           (KGC_FERRUM_FEATURES)
  --engine vllm|ferrum     the engine, when ENGINE is not spelled vllm/ferrum (KGC_ENGINE)
  --kgc-config FILE        launcher config file, JSON or YAML (KGC_CONFIG)
  --require-registered     refuse a model the registry does not know (KGC_REQUIRE_REGISTERED=1)
  --no-recipes             do not read the shipped recipes layer under the registry (KGC_NO_RECIPES=1)
  --dry-run                do everything but exec; print what would run (KGC_DRY_RUN=1)
  --json                   with --dry-run: print JSON (KGC_JSON=1)
  --quiet                  no summary line on success (KGC_QUIET=1)
  --debug                  tracebacks for internal errors (KGC_DEBUG=1)
"""


@dataclass
class LaunchOptions:
    registry: str | None = None
    artifacts_dir: str | None = None
    hardware: str | None = None
    workload: str | None = None
    set_entries: dict[str, str] = field(default_factory=dict)
    ferrum_features: list[str] = field(default_factory=list)
    engine: str | None = None
    kgc_config: str | None = None
    require_registered: bool = False
    no_recipes: bool = False
    dry_run: bool = False
    json: bool = False
    quiet: bool = False
    debug: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    """Option name -> where its value came from: `cli`, `env`, `config_file`."""


def split_launch_argv(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Separate our options (as given on the command line) from ENGINE and its arguments."""
    given: dict[str, list[str]] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return given, argv[index + 1 :]
        if token in ("-h", "--help"):
            raise _HelpRequested
        if not token.startswith("--"):
            return given, argv[index:]
        name, eq, inline = token.partition("=")
        if name not in _OPTIONS:
            raise UsageError(
                f"unknown launch option {name}",
                hint="launch options come before the engine (e.g. kgc-launch --dry-run vllm serve MODEL); "
                "see 'kgc-launch --help-launch'",
            )
        takes_value = _OPTIONS[name][1]
        if takes_value:
            if eq:
                value = inline
            elif index + 1 < len(argv):
                index += 1
                value = argv[index]
            else:
                raise UsageError(f"{name} needs a value")
            given.setdefault(name, []).append(value)
        else:
            if eq:
                raise UsageError(f"{name} takes no value")
            given[name] = ["1"]
        index += 1
    raise UsageError("no engine given", hint="e.g. kgc-launch vllm serve MODEL; see 'kgc-launch --help-launch'")


class _HelpRequested(Exception):
    pass


def parse_launch_argv(argv: list[str], environ: Mapping[str, str]) -> tuple[LaunchOptions, list[str]] | None:
    """Options and the engine argv; None when help was asked for (already printed)."""
    try:
        given, engine_argv = split_launch_argv(argv)
    except _HelpRequested:
        print(LAUNCH_HELP)
        return None
    config_path = _first(given.get("--kgc-config")) or environ.get("KGC_CONFIG") or None
    from_file = _read_kgc_config(config_path) if config_path else {}
    options = LaunchOptions(kgc_config=config_path)
    for name, (variable, takes_value) in _OPTIONS.items():
        if name == "--kgc-config":
            continue
        values, source = _pick(name, variable, given, environ, from_file)
        if values is None:
            continue
        attribute = name[2:].replace("-", "_")
        options.sources[attribute] = source
        if name == "--set":
            options.set_entries = _set_entries(values, source)
        elif name == "--ferrum-features":
            options.ferrum_features = [f.strip() for value in values for f in value.split(",") if f.strip()]
        elif takes_value:
            setattr(options, attribute, values[-1])
        else:
            setattr(options, attribute, _truth(values[-1], name, variable, source))
    if options.engine is not None and options.engine not in ENGINES:
        raise UsageError(f"--engine {options.engine!r} is not supported", hint=f"supported: {', '.join(ENGINES)}")
    return options, engine_argv


def _pick(
    name: str, variable: str, given: dict[str, list[str]], environ: Mapping[str, str], from_file: dict[str, Any]
) -> tuple[list[str] | None, str]:
    if name in given:
        return given[name], "cli"
    if variable in environ:
        raw = environ[variable]
        return (raw.split() if name in _REPEATABLE else [raw]), "env"
    key = name[2:]
    if key in from_file:
        value = from_file[key]
        if isinstance(value, bool):
            return ["1" if value else "0"], "config_file"
        if isinstance(value, dict):
            return [f"{k}={v}" for k, v in value.items()], "config_file"
        if isinstance(value, list):
            return [str(item) for item in value], "config_file"
        return [str(value)], "config_file"
    return None, ""


def _truth(value: str, name: str, variable: str, source: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    where = variable if source == "env" else name
    raise UsageError(f"{where}={value!r} is not a boolean", hint="use 1/0, true/false, yes/no or on/off")


def _set_entries(values: list[str], source: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for item in values:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            where = "KGC_SET" if source == "env" else "--set"
            raise UsageError(f"{where} {item!r} is not KEY=VALUE", hint="e.g. --set FERRUM_KV_MAX_BLOCKS=1024")
        entries[key.strip()] = value
    return entries


def _first(values: list[str] | None) -> str | None:
    return values[-1] if values else None


_CONFIG_KEYS = {name[2:] for name in _OPTIONS} - {"kgc-config"}


def _read_kgc_config(path_text: str) -> dict[str, Any]:
    path = Path(path_text)
    if path.suffix in (".yaml", ".yml"):
        from kgc_launch.yamlio import load_yaml_documents

        documents = load_yaml_documents(path, what="launcher config file")
        document: Any = documents[0] if documents else {}
    else:
        from kgc_launch.json_input import read_json_file

        document = read_json_file(path, max_bytes=1024 * 1024, what="launcher config file")
    if not isinstance(document, dict):
        raise InputError("must hold a mapping of launch options", path=path)
    unknown = sorted(set(map(str, document)) - _CONFIG_KEYS)
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)}",
            path=path,
            hint=f"known keys: {', '.join(sorted(_CONFIG_KEYS))}",
        )
    return {str(key): value for key, value in document.items()}
