"""The launch options: one table (`OPTIONS`) from which everything about them is derived.

`kgc-launch [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS...`. Each option can also come from a `KGC_*`
environment variable or a key of a launcher config file (`--kgc-config FILE` / `$KGC_CONFIG`, JSON or
YAML), for container images. Precedence: command line, then environment, then the config file, then the
default. Everything from ENGINE on belongs to the engine and is passed through unchanged.

From the table come: the launch parser (`parse_launch_argv`), `--help-launch` (`launch_help`), the
environment variables and config-file keys, the options the deploy check reads in a manifest's own
`kgc-launch ...` command (`VALUE_OPTIONS`, `FLAG_OPTIONS`), and the subcommands' options of the same name
(`kgc_launch.commands._settings`): `KGC_HARDWARE` means `--hardware` for `fit` and `probe` as for a launch.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kgc_launch.errors import InputError, UsageError

Kind = Literal["value", "flag", "list", "pairs"]
"""`value`: one string (the last one given wins); `flag`: a boolean; `list`: comma-separated names, may be
repeated; `pairs`: KEY=VALUE entries, repeatable (the environment variable holds them space-separated)."""
Source = Literal["cli", "env", "config_file"]
ENGINES = ("vllm", "ferrum")


@dataclass(frozen=True)
class OptionSpec:
    """One launch option: its spelling, where else it can be set, what it holds, and its help text."""

    name: str
    """The command-line spelling, `--registry`."""
    env: str
    """The environment variable that sets it, `KGC_REGISTRY`."""
    kind: Kind
    metavar: str
    help: str
    """One sentence for `--help-launch` (and the subcommands that share the option)."""
    config_key: str | None = ""
    """The key in a `--kgc-config` file; `""` means the name without its dashes, None none."""
    choices: tuple[str, ...] = ()
    dest: str = ""
    """The `LaunchOptions` attribute; `""` means the name without dashes, `-` as `_`."""

    @property
    def key(self) -> str | None:
        return self.name[2:] if self.config_key == "" else self.config_key

    @property
    def slug(self) -> str:
        """The name as an identifier, `artifacts_dir`: the key of `LaunchOptions.sources` and `origins`."""
        return self.name[2:].replace("-", "_")

    @property
    def attribute(self) -> str:
        return self.dest or self.slug

    @property
    def takes_value(self) -> bool:
        return self.kind != "flag"

    @property
    def repeatable(self) -> bool:
        return self.kind in ("list", "pairs")

    @property
    def default(self) -> Any:
        """The value when nothing sets it (a fresh list or dict for repeatable options)."""
        return {"value": None, "flag": False, "list": [], "pairs": {}}[self.kind]

    @property
    def env_form(self) -> str:
        """How the variable is written, for the help."""
        return {
            "value": f"{self.env}={self.metavar}",
            "flag": f"{self.env}=1",
            "list": f"{self.env}=A,B",
            "pairs": f"{self.env}='K=V K2=V2'",
        }[self.kind]


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "--registry",
        "KGC_REGISTRY",
        "value",
        "PATH",
        "known-good registry (else $KNOWN_GOOD_CONFIG_REGISTRY, a walk up from the current directory, then "
        "the shipped one)",
    ),
    OptionSpec(
        "--artifacts-dir",
        "KGC_ARTIFACTS_DIR",
        "value",
        "DIR",
        "where the artifacts go (default ./kgc-artifacts/<UTC time>-<model slug>)",
    ),
    OptionSpec(
        "--hardware",
        "KGC_HARDWARE",
        "value",
        "NAME|NxNAME|FILE",
        "a preset (H100, 8xH100-SXM, H100-SXM-1g.10gb) or a 'probe --save' or HardwareCapabilities file, "
        "instead of probing the GPUs",
    ),
    OptionSpec("--workload", "KGC_WORKLOAD", "value", "PRESET|FILE", "ferrum workload profile"),
    OptionSpec("--set", "KGC_SET", "pairs", "KEY=VALUE", "a ferrum runtime entry, source cli", dest="set_entries"),
    OptionSpec(
        "--ferrum-features",
        "KGC_FERRUM_FEATURES",
        "list",
        "LIST",
        "cargo features the ferrum binary was built with, comma-separated (cuda, vllm-paged-attn, "
        "vllm-moe-marlin, cuda-graph, greedy-argmax, fa2-source, fa2-direct-ffi)",
    ),
    OptionSpec(
        "--engine",
        "KGC_ENGINE",
        "value",
        "vllm|ferrum",
        "the engine, when ENGINE is not spelled vllm or ferrum",
        choices=ENGINES,
    ),
    OptionSpec("--kgc-config", "KGC_CONFIG", "value", "FILE", "launcher config file, JSON or YAML", config_key=None),
    OptionSpec(
        "--require-registered", "KGC_REQUIRE_REGISTERED", "flag", "", "refuse a model the registry does not know"
    ),
    OptionSpec(
        "--no-recipes",
        "KGC_NO_RECIPES",
        "flag",
        "",
        "do not read the shipped recipes layer under the registry",
    ),
    OptionSpec("--dry-run", "KGC_DRY_RUN", "flag", "", "do everything but exec; print what would run"),
    OptionSpec("--json", "KGC_JSON", "flag", "", "with --dry-run: print JSON"),
    OptionSpec("--quiet", "KGC_QUIET", "flag", "", "no summary line on success"),
    OptionSpec("--debug", "KGC_DEBUG", "flag", "", "tracebacks for internal errors"),
)
BY_NAME: dict[str, OptionSpec] = {spec.name: spec for spec in OPTIONS}
VALUE_OPTIONS = frozenset(spec.name for spec in OPTIONS if spec.takes_value)
"""Launch options that take a value (the deploy check reads a manifest's `kgc-launch ...` with these)."""
FLAG_OPTIONS = frozenset(spec.name for spec in OPTIONS if not spec.takes_value)
CONFIG_KEYS: dict[str, OptionSpec] = {spec.key: spec for spec in OPTIONS if spec.key is not None}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass
class LaunchOptions:
    """The launch options' values; one attribute per row of `OPTIONS` (`attribute`), with its default."""

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
    """Option (`OptionSpec.slug`) -> where its value came from: `cli`, `env`, `config_file`."""
    origins: dict[str, str] = field(default_factory=dict)
    """Option (`OptionSpec.slug`) -> where its value came from, for people: `--hardware`, `from KGC_HARDWARE`,
    `from the --kgc-config file F`."""

    def described(self, slug: str, value: object) -> str:
        """`value (where it came from)`, or the value alone when it is the default."""
        origin = self.origins.get(slug)
        return f"{value} ({origin})" if origin else str(value)


# -- help ------------------------------------------------------------------------------------------------

_HELP_HEAD = """\
usage: kgc-launch [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS...
  e.g. kgc-launch vllm serve Qwen/Qwen3-8B --max-model-len 32768
       kgc-launch --hardware 8xH100-SXM --dry-run vllm serve meta-llama/Llama-3.1-70B-Instruct -tp 8

Probes the GPUs, reads the model, resolves and checks the config, writes the artifacts, then execs
ENGINE with exactly what was resolved, or refuses (exit 78) saying what to change. Launch options go
before ENGINE: after it, everything is the engine's. 'kgc-launch vllm serve --help' and
'kgc-launch vllm --version' run the engine's own help and version.

launch options; each can also be set by the variable shown, or by the key shown in a --kgc-config file
(command line first, then the environment, then the file):"""
_HELP_WIDTH = 104
_HELP_COLUMN = 27


def launch_help() -> str:
    """`--help-launch`: every option of `OPTIONS` with its variable and config key."""
    lines = [_HELP_HEAD]
    for spec in OPTIONS:
        usage = f"  {spec.name} {spec.metavar}".rstrip()
        text = spec.help + ("; repeatable" if spec.repeatable else "")
        where = spec.env_form + (f", config key '{spec.key}'" if spec.key else "")
        body = [*textwrap.wrap(text, _HELP_WIDTH - _HELP_COLUMN, break_on_hyphens=False), f"[{where}]"]
        if len(usage) >= _HELP_COLUMN - 1:
            lines.append(usage)
            usage = ""
        lines.append(f"{usage:<{_HELP_COLUMN}}{body[0]}")
        lines += [" " * _HELP_COLUMN + rest for rest in body[1:]]
    return "\n".join(lines) + "\n"


# -- reading the options -------------------------------------------------------------------------------


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
        spec = BY_NAME.get(name)
        if spec is None:
            raise UsageError(
                f"unknown launch option {name}",
                hint="launch options come before the engine (e.g. kgc-launch --dry-run vllm serve MODEL); "
                "see 'kgc-launch --help-launch'",
            )
        if spec.takes_value:
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
        print(launch_help(), end="")
        return None
    config = ConfigFile.find(given.get("--kgc-config"), environ)
    options = LaunchOptions(kgc_config=config.path)
    if config.path is not None:
        options.sources["kgc_config"] = config.source
        options.origins["kgc_config"] = origin(BY_NAME["--kgc-config"], config.source, config)
    for spec in OPTIONS:
        if spec.name == "--kgc-config":
            continue
        picked = pick(spec, given, environ, config)
        if picked is None:
            continue
        values, source = picked
        options.sources[spec.slug] = source
        options.origins[spec.slug] = origin(spec, source, config)
        setattr(options, spec.attribute, convert(spec, values, source))
    return options, engine_argv


@dataclass(frozen=True)
class ConfigFile:
    """The launcher config file (`--kgc-config` / `$KGC_CONFIG`) and its keys, read once."""

    path: str | None = None
    source: Source = "cli"
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def find(cls, given: list[str] | None, environ: Mapping[str, str]) -> ConfigFile:
        if given:
            return cls(given[-1], "cli", read_kgc_config(given[-1]))
        from_env = environ.get("KGC_CONFIG", "")
        if from_env:
            return cls(from_env, "env", read_kgc_config(from_env))
        return cls()

    @property
    def origin_of_path(self) -> str:
        return "--kgc-config" if self.source == "cli" else "KGC_CONFIG"

    def describe(self) -> str:
        return f"{self.origin_of_path} file {self.path}"


def pick(
    spec: OptionSpec, given: Mapping[str, list[str]], environ: Mapping[str, str], config: ConfigFile
) -> tuple[list[str], Source] | None:
    """The raw values of one option and where they came from (command line, environment, config file)."""
    if spec.name in given:
        return given[spec.name], "cli"
    raw = environ.get(spec.env)
    # An empty variable is unset for an option that takes a value (`KGC_REGISTRY=` in a compose file).
    if raw is not None and (raw or not spec.takes_value):
        return (raw.split() if spec.kind == "pairs" else [raw]), "env"
    if spec.key is not None and spec.key in config.values:
        return _config_values(config.values[spec.key]), "config_file"
    return None


def origin(spec: OptionSpec, source: Source, config: ConfigFile) -> str:
    """Where a value came from, as the outputs name it."""
    if source == "cli":
        return spec.name
    if source == "env":
        return f"from {spec.env}"
    return f"from the {config.describe()}"


def convert(spec: OptionSpec, values: list[str], source: Source) -> Any:
    """Raw values -> the option's value, or a usage error naming the option as it was given."""
    where = spec.env if source == "env" else spec.name
    if spec.kind == "flag":
        return truth(values[-1], where)
    if spec.kind == "list":
        return [item.strip() for value in values for item in value.split(",") if item.strip()]
    if spec.kind == "pairs":
        return _pairs(values, where)
    value = values[-1]
    if spec.choices and value not in spec.choices:
        raise UsageError(f"{where} {value!r} is not supported", hint=f"supported: {', '.join(spec.choices)}")
    return value


def truth(value: str, where: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(f"{where}={value!r} is not a boolean", hint="use 1/0, true/false, yes/no or on/off")


def _pairs(values: list[str], where: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for item in values:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"{where} {item!r} is not KEY=VALUE", hint="e.g. --set FERRUM_KV_MAX_BLOCKS=1024")
        entries[key.strip()] = value
    return entries


def _config_values(value: Any) -> list[str]:
    if isinstance(value, bool):
        return ["1" if value else "0"]
    if isinstance(value, dict):
        return [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def read_kgc_config(path_text: str) -> dict[str, Any]:
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
    unknown = sorted(set(map(str, document)) - set(CONFIG_KEYS))
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)}",
            path=path,
            hint=f"known keys: {', '.join(sorted(CONFIG_KEYS))}",
        )
    return {str(key): value for key, value in document.items()}


# -- the grammar around the engine's arguments --------------------------------------------------------


def engine_accepts(engine: str, option: str) -> bool:
    """Whether `engine serve` has an option spelled exactly `option` (then it is the engine's, not ours).

    vLLM's names come from the generated vocabulary (`kgc_launch.vllm.vocabulary`, vLLM's own parser per
    release): a spelling any known release accepts as written (full name, alias, `--no-` form, underscores for
    dashes), not by abbreviation; ferrum's from `kgc_launch.ferrum.args`.
    """
    name = option[2:]
    if engine == "vllm":
        from kgc_launch.vllm import vocabulary

        head = option.partition("=")[0]
        spelling = head if not head.startswith("--") else "--" + head[2:].replace("_", "-")
        return vocabulary.exact_option(spelling) is not None
    if engine == "ferrum":
        from kgc_launch.ferrum.args import BOOLEAN

        return name in BOOLEAN
    return False


def misplaced_options(engine: str, engine_args: list[str]) -> list[tuple[int, int]]:
    """Where kgc-launch's own options sit among the engine's arguments (`engine_args[begin:end]`, each with
    its value), unless the engine has an option of that name: the engine would reject them or, worse, start
    without what they asked for (`vllm serve MODEL --dry-run`)."""
    found: list[tuple[int, int]] = []
    index = 0
    while index < len(engine_args):
        name, eq, _ = engine_args[index].partition("=")
        spec = BY_NAME.get(name)
        if spec is not None and not engine_accepts(engine, name):
            width = 2 if spec.takes_value and not eq and index + 1 < len(engine_args) else 1
            found.append((index, index + width))
            index += width
            continue
        index += 1
    return found
