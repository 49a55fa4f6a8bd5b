"""The registry's format, `schema: known_good_config_v1`, as dataclasses (the JSON Schema comes from here).

The layout is the original tool's (`models:` -> entries with `required_flags`, `champion`, ...): files it
wrote load unchanged, with `match` defaulting to the flag itself and `severity` to `boot-blocker`. The
extensions (`aliases`, `equivalents`, `env`, `applies_when`) are optional and validated like the rest.

Validation (pydantic, through `records.from_plain`; the checks below are `Check` metadata it alone reads)
runs only when a registry file changed; the launch path rebuilds these objects from a validated cache
with their constructors (see `entry_from_plain`), and imports no pydantic.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from kgc_launch.knowngood.spelling import parse_env, parse_flags, parse_spelling
from kgc_launch.records import Check, to_plain

SCHEMA_ID = "known_good_config_v1"
Severity = Literal["boot-blocker", "crash-high-c", "deploy-correctness", "perf"]
SEVERITIES: tuple[Severity, ...] = ("boot-blocker", "crash-high-c", "deploy-correctness", "perf")
FAILING_SEVERITIES: frozenset[str] = frozenset({"boot-blocker", "crash-high-c", "deploy-correctness"})
"""A missing flag of these severities fails a check; `perf` is a warning."""

_VERDICT = re.compile(r"^(DRAFT|VERDICT) \S")


class _Model:
    __slots__ = ()
    # Field docstrings become schema descriptions in `registry_json_schema` only: pydantic's
    # `use_attribute_docstrings` parses this module's source at import, ~60 ms on every launch.
    __pydantic_config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid",
        "coerce_numbers_to_str": True,  # `campaign: 42` in a hand-edited file means the text "42"
    }


def _specifier(value: str | None) -> str | None:
    if value is not None:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            raise ValueError(f"{value!r} is not a PEP 440 version specifier (e.g. '>=0.22,<0.26')") from None
    return value


def _patterns(value: list[str] | None) -> list[str] | None:
    if value is not None and (not value or any(not pattern.strip() for pattern in value)):
        raise ValueError("must list at least one non-empty GPU name pattern such as '*H100*'")
    return value


@dataclass(slots=True, frozen=True, kw_only=True)
class AppliesWhen(_Model):
    """Where a requirement applies. Every condition given must hold; one that cannot be decided (no GPU
    information, engine version unknown) counts as holding, and the check says so: fail-closed."""

    engine_version: Annotated[str | None, Check(_specifier)] = None
    """PEP 440 specifier on the engine's version, e.g. `>=0.22` or `>0.21.0,<0.26`. Pre-releases and dev
    builds count (`0.22.0rc1`, `0.22.1.dev30+g1234` are versions like any other)."""
    compute_capability: Annotated[str | None, Check(_specifier)] = None
    """PEP 440 specifier on the GPUs' compute capability `major.minor`, e.g. `>=10.0,<11` (SM10x Blackwell)
    or `==9.0`. It applies when any visible GPU matches."""
    gpus: Annotated[list[str] | None, Check(_patterns)] = None
    """GPU name patterns (shell-style, case-insensitive) matched against the device name as NVML reports it,
    e.g. `*H100*` or `NVIDIA B200`. It applies when any visible GPU matches one pattern (and, where both are
    given, the same GPU matches `compute_capability`)."""
    not_gpus: Annotated[list[str] | None, Check(_patterns)] = None
    """GPU name patterns that exclude: it does not apply when any visible GPU matches one of them, e.g.
    `['AMD *', '*Instinct*']` for "not on AMD GPUs", or `['*GB10']` for "not on a DGX Spark"."""


def _flag_text(value: str | None) -> str | None:
    if value is not None:
        parse_flags(value)
    return value


def _env_text(value: str | None) -> str | None:
    if value is not None:
        parse_env(value)
    return value


def _equivalent_texts(value: list[str]) -> list[str]:
    for text in value:
        parse_spelling(text)
    return value


def _match_regex(value: str | None) -> str | None:
    if value is not None:
        from kgc_launch.knowngood.regexguard import compile_pattern, dangerous_reason

        compile_pattern(value)
        reason = dangerous_reason(value)
        if reason is not None:
            raise ValueError(
                f"dangerous regex {value!r}: {reason}; it can take exponential time. Use a possessive "
                "quantifier (`a++`), an atomic group, or a simpler pattern"
            )
    return value


def _flag_or_env(flag: RequiredFlag) -> RequiredFlag:
    given = [name for name in ("flag", "env", "refuse") if getattr(flag, name) is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of `flag` (serve flags), `env` (NAME=VALUE) or `refuse` (what is wrong)")
    if flag.refuse is not None and (flag.equivalents or flag.match is not None):
        raise ValueError("a `refuse` requirement has no `equivalents` or `match`: no flag satisfies it")
    if flag.fix is not None and flag.refuse is None:
        raise ValueError("`fix` goes with `refuse`; a flag's fix is the flag itself")
    return flag


@dataclass(slots=True, frozen=True, kw_only=True)
class RequiredFlag(_Model):
    """A flag (or environment variable) the model needs to serve correctly, and why; or, with `refuse`, a
    launch that cannot work where the requirement applies (no flag fixes it)."""

    flag: Annotated[str | None, Check(_flag_text)] = None
    """The flag as you would type it after `vllm serve`, e.g. `--max-num-seqs 512` or
    `--additional-config '{"gdn_prefill_backend":"triton"}'`. Read exactly as vLLM reads its arguments, so
    any spelling vLLM treats as the same setting satisfies it (`--max_num_seqs=512`, dotted JSON keys, JSON
    in any key order). Also the text a failing check tells you to add. Required unless `env` is given."""
    match: Annotated[str | None, Check(_match_regex)] = None
    """A regex applied to the canonical rendering of the serve arguments (`--name=value`, JSON compact with
    sorted keys); when it matches, the requirement is met. Default: none beyond the flag itself (the
    original tool's default, the escaped flag text, means the same). Nested repetition such as `(a+)+` is
    refused; every match runs under a time limit."""
    severity: Severity = "boot-blocker"
    """`boot-blocker`, `crash-high-c` and `deploy-correctness` fail a check when missing; `perf` warns."""
    why: str | None = None
    """What goes wrong without it (the bug it avoids)."""
    affected: str | None = None
    """Which versions, hardware or workloads are affected, in words."""
    evidence: str | None = None
    """Where the evidence is: public issue/PR links, a private run log path."""
    equivalents: Annotated[list[str], Check(_equivalent_texts)] = field(default_factory=list)
    """Other spellings of the same setting, each satisfying the requirement: flag text
    (`--gdn-prefill-backend triton`) or an environment assignment (`NAME=VALUE`)."""
    env: Annotated[str | None, Check(_env_text)] = None
    """The requirement is an environment variable `NAME=VALUE` of the launch, instead of a flag."""
    refuse: str | None = None
    """Instead of a flag: where this requirement applies, the launch is wrong whatever its flags (an engine
    release that does not know the architecture, hardware the model does not run on); the text says what is
    wrong. With a failing severity such a launch is refused; a `refuse` whose scope cannot be decided here
    (engine version unknown, no GPU information) is never a refusal: the check reports it as not evaluated."""
    fix: str | None = None
    """With `refuse`: what to do instead, in words (e.g. `install vLLM >= 0.11.0`)."""
    applies_when: AppliesWhen | None = None
    """Limits where the requirement applies (engine version, compute capability, GPU names)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """The fields' validators, then `_flag_or_env` on the whole (pydantic's `model_validator(mode="after")`)."""
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(_flag_or_env, handler(source))

    @property
    def text(self) -> str:
        """The requirement as written: the flag text, the environment assignment, or what is wrong."""
        if self.flag is not None:
            return self.flag
        return str(self.env) if self.env is not None else str(self.refuse)


def _verdict(value: str | None) -> str | None:
    if value is not None and not _VERDICT.match(value):
        raise ValueError(f"bad verdict {value!r}: write 'DRAFT <n>' or 'VERDICT <n>'")
    return value


@dataclass(slots=True, frozen=True, kw_only=True)
class Champion(_Model):
    """A pointer to the best known config (never the config itself)."""

    config_ref: str | None = None
    """Where the full champion config lives (`my-values-<slug>.yaml`, a deploy file)."""
    verdict: Annotated[str | None, Check(_verdict)] = None
    """`DRAFT <n>` until variance-controlled (same node, >= 3 trials, mean+/-std), then `VERDICT <n>`."""
    campaign: str | None = None
    """The tuning campaign that found it."""


def _option_name(value: str) -> str:
    if not value.strip():
        raise ValueError("an option needs a name")
    return value


def _env_texts(value: list[str]) -> list[str]:
    for text in value:
        parse_env(text)
    return value


@dataclass(slots=True, frozen=True, kw_only=True)
class Option(_Model):
    """Something a launch may turn on (an opt-in feature of a recipe, another variant): shown, never required."""

    name: Annotated[str, Check(_option_name)]
    """Its name, e.g. `tool_calling` or `spec_decoding: mtp`."""
    description: str | None = None
    flag: Annotated[str | None, Check(_flag_text)] = None
    """The flags that turn it on, as typed after `vllm serve`."""
    env: Annotated[list[str], Check(_env_texts)] = field(default_factory=list)
    """Environment assignments (`NAME=VALUE`) it needs."""
    default_on: bool = False
    """On by default where it comes from (a recipe's command builder); still never required here."""
    applies_when: AppliesWhen | None = None
    """Where these flags are the ones to use (a feature may have other flags on other hardware)."""


def _model_id(value: str) -> str:
    if not value.strip():
        raise ValueError("model must not be empty")
    return value


def _alias_ids(value: list[str]) -> list[str]:
    if any(not alias.strip() for alias in value):
        raise ValueError("aliases must not be empty")
    return value


def _engine_name(value: str) -> str:
    if not value.strip():
        raise ValueError("engine must not be empty")
    return value


@dataclass(slots=True, frozen=True, kw_only=True)
class ModelEntry(_Model):
    """One model's known-good config: its REQUIRED flags, with the bug each avoids, and its champion."""

    model: Annotated[str, Check(_model_id)]
    """The Hugging Face id or served model name: the registry key (compared case-insensitively)."""
    slug: str | None = None
    """The short name used in bundle and values-file names."""
    arch: str | None = None
    """An architecture note (e.g. `hybrid GDN + MoE, interleaved GQA`)."""
    hardware: str | None = None
    """The hardware the entry was established on (e.g. `8xB200`)."""
    engine: Annotated[str, Check(_engine_name)] = "vllm"
    """The engine the flags are for: `vllm` or `ferrum`. Entries for another engine do not apply."""
    aliases: Annotated[list[str], Check(_alias_ids)] = field(default_factory=list)
    """Other ids of the same model (a quantized repo, a mirror, a served name) that find this entry."""
    required_flags: list[RequiredFlag] = field(default_factory=list)
    """The flags the model needs (not its whole champion config)."""
    champion: Champion | None = None
    """Pointer to the champion config, its verdict tier and campaign."""
    fallback: str | None = None
    """A known-working alternative when the champion cannot be used."""
    grind_frontier: str | None = None
    """Cross-reference into `value-findings.yaml` (`<model> next_lever`): the GRIND half of closure."""
    notes: str | None = None
    """Free prose."""
    source: str | None = None
    """Where the entry comes from, when it was imported (`vllm-project/recipes models/Org/Name.yaml@<commit>`)."""
    verified_hardware: list[str] = field(default_factory=list)
    """Hardware the source says it was verified on (e.g. `h200`): shown, never required."""
    vram_minimum_gb: float | None = None
    """GPU memory the model needs in all, in GB (10^9 bytes). Compared with the total memory of the visible
    GPUs: less is a warning (the memory plan decides whether it fits)."""
    options: list[Option] = field(default_factory=list)
    """What a launch may turn on (opt-in features, other variants): shown by `show`, never required."""

    def ids(self) -> list[str]:
        """The model id and its aliases."""
        return [self.model, *self.aliases]


def _empty_models(value: Any) -> Any:
    return [] if value is None else value  # `models:` with nothing under it is an empty registry


@dataclass(slots=True, frozen=True, kw_only=True)
class LayerInfo(_Model):
    """What a generated registry layer was made from (its file is regenerated, never edited by hand)."""

    name: str
    """The layer's name in every output, e.g. `recipes`."""
    source: str
    """What it was generated from, e.g. `vllm-project/recipes`."""
    commit: str | None = None
    """The source's commit, when known."""
    generated_by: str | None = None
    """The command that generated it."""


@dataclass(slots=True, frozen=True, kw_only=True)
class RegistryDocument(_Model):
    """A known-good registry file."""

    schema: Literal["known_good_config_v1"] = "known_good_config_v1"
    """Always `known_good_config_v1`."""
    layer: LayerInfo | None = None
    """Set in a generated layer (such as the recipes layer shipped with kgc-launch), absent in a registry."""
    models: Annotated[list[ModelEntry], Check(_empty_models, before=True)] = field(default_factory=list)
    """The registered models, one entry per model (and engine)."""


def entry_to_plain(entry: ModelEntry) -> dict[str, Any]:
    """Plain data (dicts, lists, strings, None) that `entry_from_plain` turns back into the same entry."""
    plain: dict[str, Any] = to_plain(entry)
    return plain


def entry_from_plain(data: dict[str, Any]) -> ModelEntry:
    """Rebuild a validated entry without validating it again (the constructors check nothing)."""
    flags = []
    for flag in data["required_flags"]:
        scope = flag["applies_when"]
        flags.append(RequiredFlag(**{**flag, "applies_when": None if scope is None else AppliesWhen(**scope)}))
    champion = data["champion"]
    options = []
    for option in data.get("options") or ():
        scope = option["applies_when"]
        options.append(Option(**{**option, "applies_when": None if scope is None else AppliesWhen(**scope)}))
    return ModelEntry(
        **{
            **data,
            "required_flags": flags,
            "champion": None if champion is None else Champion(**champion),
            "options": options,
        }
    )


def registry_json_schema() -> dict[str, Any]:
    """The JSON Schema of a registry file, for editors (`# yaml-language-server: $schema=...`)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(RegistryDocument).json_schema(by_alias=True)
    models = {cls.__name__: cls for cls in _all_models(_Model)}
    _describe(schema, RegistryDocument)
    for name, definition in schema.get("$defs", {}).items():
        if name in models:
            _describe(definition, models[name])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "kgc-launch known-good registry (known_good_config_v1)",
    }


def _all_models(base: type[_Model]) -> list[type[_Model]]:
    found = []
    for cls in base.__subclasses__():
        found += [cls, *_all_models(cls)]
    return found


def _describe(definition: dict[str, Any], cls: type[_Model]) -> None:
    """Put each field's docstring (the string literal under it) into the schema as its description."""
    docs = _attribute_docstrings(cls)
    properties = definition.get("properties", {})
    for declared in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = declared.name
        prop = properties.get(name)
        if prop is not None and declared.default_factory is not dataclasses.MISSING:
            # pydantic writes no default for a dataclass field's default factory (a model's `= []` it did)
            prop = properties[name] = dict(sorted({**prop, "default": declared.default_factory()}.items()))
        if prop is not None and name in docs:
            prop.setdefault("description", docs[name])
    if cls.__doc__ and "description" not in definition:
        definition["description"] = inspect.cleandoc(cls.__doc__)


def _attribute_docstrings(cls: type) -> dict[str, str]:
    import ast
    import itertools
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(following.value.value)
    return docs
