"""The registry's format, `schema: known_good_config_v1`, as pydantic models (the JSON Schema comes from here).

The layout is the original tool's (`models:` -> entries with `required_flags`, `champion`, ...): files it
wrote load unchanged, with `match` defaulting to the flag itself and `severity` to `boot-blocker`. The
extensions (`aliases`, `equivalents`, `env`, `applies_when`) are optional and validated like the rest.

Validation (`model_validate`) runs only when a registry file changed; the launch path rebuilds these
objects from a validated cache with `model_construct` (see `entry_from_plain`).
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kgc_launch.knowngood.spelling import parse_env, parse_flags, parse_spelling

SCHEMA_ID = "known_good_config_v1"
Severity = Literal["boot-blocker", "crash-high-c", "deploy-correctness", "perf"]
SEVERITIES: tuple[Severity, ...] = ("boot-blocker", "crash-high-c", "deploy-correctness", "perf")
FAILING_SEVERITIES: frozenset[str] = frozenset({"boot-blocker", "crash-high-c", "deploy-correctness"})
"""A missing flag of these severities fails a check; `perf` is a warning."""

_VERDICT = re.compile(r"^(DRAFT|VERDICT) \S")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        # Field docstrings become schema descriptions in `registry_json_schema` only: pydantic's
        # `use_attribute_docstrings` parses this module's source at import, ~60 ms on every launch.
        coerce_numbers_to_str=True,  # `campaign: 42` in a hand-edited file means the text "42"
    )


class AppliesWhen(_Model):
    """Where a requirement applies. Every condition given must hold; one that cannot be decided (no GPU
    information, engine version unknown) counts as holding, and the check says so: fail-closed."""

    engine_version: str | None = None
    """PEP 440 specifier on the engine's version, e.g. `>=0.22` or `>0.21.0,<0.26`. Pre-releases and dev
    builds count (`0.22.0rc1`, `0.22.1.dev30+g1234` are versions like any other)."""
    compute_capability: str | None = None
    """PEP 440 specifier on the GPUs' compute capability `major.minor`, e.g. `>=10.0,<11` (SM10x Blackwell)
    or `==9.0`. It applies when any visible GPU matches."""
    gpus: list[str] | None = None
    """GPU name patterns (shell-style, case-insensitive) matched against the device name as NVML reports it,
    e.g. `*H100*` or `NVIDIA B200`. It applies when any visible GPU matches one pattern (and, where both are
    given, the same GPU matches `compute_capability`)."""
    not_gpus: list[str] | None = None
    """GPU name patterns that exclude: it does not apply when any visible GPU matches one of them, e.g.
    `['AMD *', '*Instinct*']` for "not on AMD GPUs", or `['*GB10']` for "not on a DGX Spark"."""

    @field_validator("engine_version", "compute_capability")
    @classmethod
    def _specifier(cls, value: str | None) -> str | None:
        if value is not None:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet

            try:
                SpecifierSet(value)
            except InvalidSpecifier:
                raise ValueError(f"{value!r} is not a PEP 440 version specifier (e.g. '>=0.22,<0.26')") from None
        return value

    @field_validator("gpus", "not_gpus")
    @classmethod
    def _patterns(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not pattern.strip() for pattern in value)):
            raise ValueError("must list at least one non-empty GPU name pattern such as '*H100*'")
        return value


class RequiredFlag(_Model):
    """A flag (or environment variable) the model needs to serve correctly, and why; or, with `refuse`, a
    launch that cannot work where the requirement applies (no flag fixes it)."""

    flag: str | None = None
    """The flag as you would type it after `vllm serve`, e.g. `--max-num-seqs 512` or
    `--additional-config '{"gdn_prefill_backend":"triton"}'`. Read exactly as vLLM reads its arguments, so
    any spelling vLLM treats as the same setting satisfies it (`--max_num_seqs=512`, dotted JSON keys, JSON
    in any key order). Also the text a failing check tells you to add. Required unless `env` is given."""
    match: str | None = None
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
    equivalents: list[str] = []
    """Other spellings of the same setting, each satisfying the requirement: flag text
    (`--gdn-prefill-backend triton`) or an environment assignment (`NAME=VALUE`)."""
    env: str | None = None
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

    @field_validator("flag")
    @classmethod
    def _flag_text(cls, value: str | None) -> str | None:
        if value is not None:
            parse_flags(value)
        return value

    @field_validator("env")
    @classmethod
    def _env_text(cls, value: str | None) -> str | None:
        if value is not None:
            parse_env(value)
        return value

    @field_validator("equivalents")
    @classmethod
    def _equivalent_texts(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_spelling(text)
        return value

    @field_validator("match")
    @classmethod
    def _match_regex(cls, value: str | None) -> str | None:
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

    @model_validator(mode="after")
    def _flag_or_env(self) -> RequiredFlag:
        given = [name for name in ("flag", "env", "refuse") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `flag` (serve flags), `env` (NAME=VALUE) or `refuse` (what is wrong)")
        if self.refuse is not None and (self.equivalents or self.match is not None):
            raise ValueError("a `refuse` requirement has no `equivalents` or `match`: no flag satisfies it")
        if self.fix is not None and self.refuse is None:
            raise ValueError("`fix` goes with `refuse`; a flag's fix is the flag itself")
        return self

    @property
    def text(self) -> str:
        """The requirement as written: the flag text, the environment assignment, or what is wrong."""
        if self.flag is not None:
            return self.flag
        return str(self.env) if self.env is not None else str(self.refuse)


class Champion(_Model):
    """A pointer to the best known config (never the config itself)."""

    config_ref: str | None = None
    """Where the full champion config lives (`my-values-<slug>.yaml`, a deploy file)."""
    verdict: str | None = None
    """`DRAFT <n>` until variance-controlled (same node, >= 3 trials, mean+/-std), then `VERDICT <n>`."""
    campaign: str | None = None
    """The tuning campaign that found it."""

    @field_validator("verdict")
    @classmethod
    def _verdict(cls, value: str | None) -> str | None:
        if value is not None and not _VERDICT.match(value):
            raise ValueError(f"bad verdict {value!r}: write 'DRAFT <n>' or 'VERDICT <n>'")
        return value


class Option(_Model):
    """Something a launch may turn on (an opt-in feature of a recipe, another variant): shown, never required."""

    name: str
    """Its name, e.g. `tool_calling` or `spec_decoding: mtp`."""
    description: str | None = None
    flag: str | None = None
    """The flags that turn it on, as typed after `vllm serve`."""
    env: list[str] = []
    """Environment assignments (`NAME=VALUE`) it needs."""
    default_on: bool = False
    """On by default where it comes from (a recipe's command builder); still never required here."""
    applies_when: AppliesWhen | None = None
    """Where these flags are the ones to use (a feature may have other flags on other hardware)."""

    @field_validator("name")
    @classmethod
    def _option_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("an option needs a name")
        return value

    @field_validator("flag")
    @classmethod
    def _option_flags(cls, value: str | None) -> str | None:
        if value is not None:
            parse_flags(value)
        return value

    @field_validator("env")
    @classmethod
    def _option_env(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_env(text)
        return value


class ModelEntry(_Model):
    """One model's known-good config: its REQUIRED flags, with the bug each avoids, and its champion."""

    model: str
    """The Hugging Face id or served model name: the registry key (compared case-insensitively)."""
    slug: str | None = None
    """The short name used in bundle and values-file names."""
    arch: str | None = None
    """An architecture note (e.g. `hybrid GDN + MoE, interleaved GQA`)."""
    hardware: str | None = None
    """The hardware the entry was established on (e.g. `8xB200`)."""
    engine: str = "vllm"
    """The engine the flags are for: `vllm` or `ferrum`. Entries for another engine do not apply."""
    aliases: list[str] = []
    """Other ids of the same model (a quantized repo, a mirror, a served name) that find this entry."""
    required_flags: list[RequiredFlag] = []
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
    verified_hardware: list[str] = []
    """Hardware the source says it was verified on (e.g. `h200`): shown, never required."""
    vram_minimum_gb: float | None = None
    """GPU memory the model needs in all, in GB (10^9 bytes). Compared with the total memory of the visible
    GPUs: less is a warning (the memory plan decides whether it fits)."""
    options: list[Option] = []
    """What a launch may turn on (opt-in features, other variants): shown by `show`, never required."""

    @field_validator("model")
    @classmethod
    def _model_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("model must not be empty")
        return value

    @field_validator("aliases")
    @classmethod
    def _alias_ids(cls, value: list[str]) -> list[str]:
        if any(not alias.strip() for alias in value):
            raise ValueError("aliases must not be empty")
        return value

    @field_validator("engine")
    @classmethod
    def _engine_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("engine must not be empty")
        return value

    def ids(self) -> list[str]:
        """The model id and its aliases."""
        return [self.model, *self.aliases]


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


class RegistryDocument(_Model):
    """A known-good registry file."""

    schema_id: Literal["known_good_config_v1"] = Field(default="known_good_config_v1", alias="schema")
    """Always `known_good_config_v1`."""
    layer: LayerInfo | None = None
    """Set in a generated layer (such as the recipes layer shipped with kgc-launch), absent in a registry."""
    models: list[ModelEntry] = []
    """The registered models, one entry per model (and engine)."""

    @field_validator("models", mode="before")
    @classmethod
    def _empty_models(cls, value: Any) -> Any:
        return [] if value is None else value  # `models:` with nothing under it is an empty registry


def entry_to_plain(entry: ModelEntry) -> dict[str, Any]:
    """Plain data (dicts, lists, strings, None) that `entry_from_plain` turns back into the same entry."""
    return entry.model_dump(mode="python")


def entry_from_plain(data: dict[str, Any]) -> ModelEntry:
    """Rebuild a validated entry without validating it again (pydantic's `model_construct`)."""
    flags = []
    for flag in data["required_flags"]:
        scope = flag["applies_when"]
        flags.append(
            RequiredFlag.model_construct(
                **{**flag, "applies_when": None if scope is None else AppliesWhen.model_construct(**scope)}
            )
        )
    champion = data["champion"]
    options = []
    for option in data.get("options") or ():
        scope = option["applies_when"]
        options.append(
            Option.model_construct(
                **{**option, "applies_when": None if scope is None else AppliesWhen.model_construct(**scope)}
            )
        )
    return ModelEntry.model_construct(
        **{
            **data,
            "required_flags": flags,
            "champion": None if champion is None else Champion.model_construct(**champion),
            "options": options,
        }
    )


def registry_json_schema() -> dict[str, Any]:
    """The JSON Schema of a registry file, for editors (`# yaml-language-server: $schema=...`)."""
    schema = RegistryDocument.model_json_schema(by_alias=True)
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
    for name, field in cls.model_fields.items():
        prop = definition.get("properties", {}).get(field.alias or name)
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
