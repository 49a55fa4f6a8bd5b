"""One recipe -> registry entries (one per served model id), as plain data in the registry's format.

What a recipe's command builder puts on `vllm serve` for a variant on a GPU is computed the way the recipes
site computes it (`src/lib/command-synthesis.js`, `resolveCommand`; `resolveOmniCommand` for vllm-omni
recipes), without the serving strategy's own flags:

    base_args, the variant's extra_args, its exact-GPU hardware_overrides.<id>, the recipe's
    hardware_overrides.<generation> (else .nvidia on an NVIDIA GPU), the variant's
    hardware_overrides.<generation> (else .nvidia); a repeated flag: the last one wins.

That is done for every GPU profile kgc-launch can tell apart (`hardware.pattern_groups`, plus "an NVIDIA
GPU the recipes do not name"); a flag set the same everywhere becomes one unscoped requirement, a flag set
only on some GPUs becomes requirements scoped to them (`factor`). Environment variables likewise.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kgc_launch.knowngood.recipes.hardware import (
    GROUP_CC,
    GROUP_WORDS,
    NON_NVIDIA_PATTERNS,
    NOT_GPUS,
    PROFILES,
    Profile,
    pattern_groups,
    vendor_patterns,
)
from kgc_launch.knowngood.recipes.severity import ENV_RULE, SKIPPED, rule_for
from kgc_launch.serve_args import ServeArgs

SOURCE = "vllm-project/recipes"
_PLACEHOLDER = re.compile(r"\$[A-Za-z_{]|<[A-Za-z_][^>]*>")
"""`$IFACE_NAME`, `${HEAD_IP}`, `<your-host>`: values the recipe leaves to the deployment."""
NVIDIA_CLASSES = ("older-nvidia", "hopper", "blackwell")
VENDOR_CLASSES = ("amd", "intel", "huawei")
_CC_RANGE = {"older-nvidia": (None, "9.0"), "hopper": ("9.0", "10"), "blackwell": ("10.0", "13")}


@dataclass(frozen=True)
class Context:
    """One kind of GPU a requirement can be scoped to."""

    key: str
    group: str
    patterns: tuple[str, ...] | None
    """None: an NVIDIA GPU none of the recipes' profiles names (A100s, L40S, ...)."""
    profile: Profile | None
    members: tuple[str, ...] = ()


@dataclass
class Notes:
    """What an import could not use, and flags its severity table does not know."""

    skipped: list[str] = field(default_factory=list)
    unknown_flags: dict[str, list[str]] = field(default_factory=dict)
    skipped_flags: dict[str, int] = field(default_factory=dict)
    """Flags not imported (`severity.SKIPPED`), with how many entries had them."""
    downgraded: list[str] = field(default_factory=list)
    """Boot-blocking flags imported as `perf` because the recipe's own guide serves the model without them."""


@dataclass
class Unit:
    key: str
    """Canonical option name (dotted forms keep their path), or `$NAME` for an environment variable."""
    text: str
    """The flag text (`--tokenizer-mode mistral`) or `NAME=VALUE`."""
    value: str | None
    section: str
    """Where in the recipe it came from (`model.base_args`, `hardware_overrides.hopper`, ...)."""


class Recipe:
    """A recipe file's data with typed access; `where` names the file in every skipped note."""

    def __init__(self, path: str, data: dict[str, Any], commit: str | None, notes: Notes) -> None:
        self.path = path
        self.data = data
        self.notes = notes
        self.evidence = f"{SOURCE} {path}@{commit}" if commit else f"{SOURCE} {path}"
        self.meta = _mapping(data.get("meta"))
        self.model = _mapping(data.get("model"))
        self.model_id: str = str(self.model["model_id"]).strip()
        variants = _mapping(data.get("variants"))
        self.variants: dict[str, dict[str, Any]] = {str(key): _mapping(value) for key, value in variants.items()} or {
            "default": {}
        }
        self.omni = "omni" in self.tasks
        self.hardware_overrides = _mapping(data.get("hardware_overrides"))
        self.guide: list[ServeArgs] = guide_commands(data.get("guide"))

    @property
    def tasks(self) -> list[str]:
        tasks = self.meta.get("tasks")
        return [str(task) for task in tasks] if isinstance(tasks, list) else []

    def skip(self, field_name: str, why: str) -> None:
        note = f"{self.path}: {field_name}: {why}"
        if note not in self.notes.skipped:
            self.notes.skipped.append(note)


def guide_commands(guide: Any) -> list[ServeArgs]:
    """The `vllm serve` commands in the recipe's guide (its fenced code blocks), parsed as vLLM parses them."""
    from kgc_launch.vllm.args import parse_serve_args

    if not isinstance(guide, str):
        return []
    commands = []
    for block in re.findall(r"```[^\n]*\n(.*?)```", guide, flags=re.DOTALL):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            start = line.find("vllm serve ")
            if start < 0:
                continue
            try:
                tokens = shlex.split(line[start:], comments=True)[2:]
            except ValueError:
                continue
            for index, token in enumerate(tokens):
                if token in ("&", "&&", "|", "||", ";", ">", ">>", "2>&1"):
                    tokens = tokens[:index]
                    break
            args = parse_serve_args(tokens)
            if args.model and not args.model.startswith(("$", "<", ".")):
                commands.append(args)
    return commands


def _mapping(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def js_str(value: Any) -> str:
    """A YAML scalar as the recipes site (JavaScript) turns it into text: `true`, `1`, `0.9`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    if value is None:
        return "null"
    return str(value)


# -- what one variant puts on the command line on one GPU ----------------------------------------------------


def contexts_for(recipe: Recipe, variant: dict[str, Any]) -> list[Context]:
    """One context per GPU kind kgc-launch can tell apart; profiles sharing patterns are one context, the one
    the variant configures (else the first) standing for them."""
    configured = set(_mapping(variant.get("hardware_overrides")))
    contexts = []
    for group in pattern_groups():
        chosen = next((m for m in group.members if m.id in configured), group.members[0])
        contexts.append(Context(chosen.id, group.group, group.patterns, chosen, group.ids))
    contexts.append(Context("nvidia-other", "older-nvidia", None, None))
    return contexts


def effective(recipe: Recipe, key: str, variant: dict[str, Any], context: Context) -> list[Unit]:
    """The flags and environment this variant gets on this GPU (strategy flags aside), last one winning."""
    profile = context.profile
    generation = profile.generation if profile is not None else None
    nvidia = profile is None or profile.brand == "NVIDIA"
    variant_hw = _mapping(variant.get("hardware_overrides"))

    def generation_block(overrides: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
        if generation is not None and isinstance(overrides.get(generation), dict):
            return overrides[generation], f"{where}.{generation}"
        if nvidia and isinstance(overrides.get("nvidia"), dict):
            return overrides["nvidia"], f"{where}.nvidia"
        return {}, ""

    exact = _mapping(variant_hw.get(profile.id)) if profile is not None else {}
    recipe_gen, recipe_gen_where = generation_block(recipe.hardware_overrides, "hardware_overrides")
    variant_gen, variant_gen_where = generation_block(variant_hw, f"variants.{key}.hardware_overrides")
    exact_where = f"variants.{key}.hardware_overrides.{profile.id}" if profile is not None else ""
    layers: list[tuple[str, Any, Any]] = [("model.base_", recipe.model.get("base_args"), recipe.model.get("base_env"))]
    variant_layer = (f"variants.{key}.extra_", variant.get("extra_args"), variant.get("extra_env"))
    if recipe.omni:
        layers.insert(0, ("meta.tasks: omni (the site adds --omni); ", ["--omni"], None))
        if key != "default":
            layers.append(variant_layer)
        layers += [
            (recipe_gen_where + ".extra_", recipe_gen.get("extra_args"), recipe_gen.get("extra_env")),
            (variant_gen_where + ".extra_", variant_gen.get("extra_args"), variant_gen.get("extra_env")),
            (exact_where + ".extra_", exact.get("extra_args"), exact.get("extra_env")),
        ]
    else:
        layers += [
            variant_layer,
            (exact_where + ".extra_", exact.get("extra_args"), exact.get("extra_env")),
            (recipe_gen_where + ".extra_", recipe_gen.get("extra_args"), recipe_gen.get("extra_env")),
            (variant_gen_where + ".extra_", variant_gen.get("extra_args"), variant_gen.get("extra_env")),
        ]
    units: dict[str, Unit] = {}
    for section, args, env in layers:
        for unit in flag_units(
            recipe, section.removesuffix("; ") if section.endswith("; ") else section + "args", args
        ):
            units.pop(unit.key, None)  # last wins, and takes the later position
            units[unit.key] = unit
        for name, value in _mapping(env).items():
            text = f"{name}={js_str(value)}"
            units.pop(f"${name}", None)
            units[f"${name}"] = Unit(f"${name}", text, js_str(value), section + "env")
    return list(units.values())


def flag_units(recipe: Recipe, section: str, args: Any) -> Iterable[Unit]:
    """`--flag value` pairs as the recipes site groups them (a token after a flag that does not start with
    `-` is its value), keyed by vLLM's canonical name."""
    from kgc_launch.knowngood.spelling import parse_flags
    from kgc_launch.vllm.args import canonical_name
    from kgc_launch.vllm.flags import ALIASES, BOOLEAN

    if args is None:
        return
    if not isinstance(args, list):
        recipe.skip(section, "expected a list of arguments")
        return
    tokens: list[str] = []
    for item in args:
        text = js_str(item)
        # vLLM reads `-cc.key=value` as `--compilation-config.key=value` (a short alias with a dotted path).
        short, dot, rest = text.partition(".")
        if dot and short in ALIASES and not text.startswith("--"):
            text = f"--{ALIASES[short]}.{rest}"
        # `'--max-model-len auto'` as one item: vLLM would read it as a positional; meant as two tokens.
        if text.startswith("-") and " " in text.strip() and "=" not in text.split(" ", 1)[0]:
            head, _, rest = text.strip().partition(" ")
            tokens += [head, rest.strip()]
        else:
            tokens.append(text)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("-"):
            recipe.skip(section, f"{token!r} is not a flag or a flag's value")
            index += 1
            continue
        unit = [token]
        if index + 1 < len(tokens) and not tokens[index + 1].startswith("-"):
            unit.append(tokens[index + 1])
            index += 1
        index += 1
        name, eq, inline = token.partition("=")
        key = canonical_name(name)
        if key.startswith("no-") and (key[3:] in BOOLEAN or rule_for(key[3:])[1]):
            key = key[3:]
        value = inline if eq else (unit[1] if len(unit) > 1 else None)
        text = shlex.join(unit)
        try:
            parse_flags(text)
        except ValueError as error:
            recipe.skip(section, f"{text}: {error}")
            continue
        yield Unit(key, text, value, section)


# -- scopes ------------------------------------------------------------------------------------------------


def factor(included: Sequence[Context], everywhere: Sequence[Context]) -> list[dict[str, Any] | None]:
    """`applies_when` scopes that together hold exactly on the `included` contexts (None: everywhere)."""
    inside = {context.key for context in included}
    if len(inside) == len(everywhere):
        return [None]
    outside = [context for context in everywhere if context.key not in inside]
    by_class: dict[str, list[Context]] = {}
    for context in everywhere:
        by_class.setdefault(context.group, []).append(context)
    full_in = {g for g, members in by_class.items() if all(m.key in inside for m in members)}
    full_out = {g for g, members in by_class.items() if not any(m.key in inside for m in members)}
    exclusion = _exclusion(outside, full_out)
    if exclusion is not None:
        return [{"not_gpus": exclusion}]
    scopes: list[dict[str, Any] | None] = []
    patterns: list[str] = []
    if all(g in full_in for g in NVIDIA_CLASSES if g in by_class):
        scopes.append({"not_gpus": list(NON_NVIDIA_PATTERNS)})
    else:
        run: list[str] = []
        for group in [*NVIDIA_CLASSES, ""]:
            if group in full_in:
                run.append(group)
                continue
            if run:
                scopes.append({"compute_capability": _cc_span(run), "not_gpus": list(NON_NVIDIA_PATTERNS)})
                run = []
            members = by_class.get(group, [])
            if group and group not in full_out and members:
                within = [m for m in members if m.key in inside]
                without = [m for m in members if m.key not in inside]
                if len(within) >= len(without) and all(m.patterns for m in without):
                    excluded = [p for m in without for p in m.patterns or ()]
                    scopes.append(
                        {"compute_capability": GROUP_CC[group], "not_gpus": [*NON_NVIDIA_PATTERNS, *excluded]}
                    )
                else:
                    patterns += [p for m in within for p in m.patterns or ()]
    for group in VENDOR_CLASSES:
        if group in full_in:
            patterns += vendor_patterns(group)
        elif group not in full_out:
            patterns += [p for m in by_class.get(group, []) if m.key in inside for p in m.patterns or ()]
    if patterns:
        scopes.append({"gpus": list(dict.fromkeys(patterns))})
    return scopes


def _exclusion(outside: list[Context], full_out: set[str]) -> list[str] | None:
    """`not_gpus` patterns for "everywhere but these", when a few names say it exactly."""
    patterns: list[str] = []
    for context in outside:
        if context.group in VENDOR_CLASSES and context.group in full_out:
            patterns += vendor_patterns(context.group)
        elif context.group in NVIDIA_CLASSES and context.group in full_out:
            return None  # a whole NVIDIA class: the positive form says it by compute capability
        elif context.patterns is None:
            return None
        else:
            patterns += context.patterns
    unique = list(dict.fromkeys(patterns))
    groups = {context.group for context in outside}
    return unique if len(unique) <= 6 or groups <= set(VENDOR_CLASSES) else None


def _cc_span(groups: list[str]) -> str:
    low = _CC_RANGE[groups[0]][0]
    high = _CC_RANGE[groups[-1]][1]
    return ",".join(part for part in ((f">={low}" if low else ""), (f"<{high}" if high else "")) if part)


def describe_contexts(contexts: Sequence[Context], everywhere: Sequence[Context]) -> str:
    """Words for where a flag is set: `everywhere`, `Hopper (compute capability 9.x)`, `h200, b200`."""
    inside = {context.key for context in contexts}
    if len(inside) == len(everywhere):
        return "every GPU"
    words = []
    for group, label in GROUP_WORDS.items():
        members = [c for c in everywhere if c.group == group]
        within = [c for c in members if c.key in inside]
        if members and len(within) == len(members):
            words.append(label)
        else:
            words += [_context_label(c) for c in within]
    return ", ".join(words)


def _context_label(context: Context) -> str:
    return "/".join(context.members) if context.members else "other NVIDIA GPUs"


# -- one entry ---------------------------------------------------------------------------------------------


def requirements_for(recipe: Recipe, key: str, variant: dict[str, Any], served: str) -> list[dict[str, Any]]:
    """The variant's flags and environment as requirements, each scoped to where the recipe sets it."""
    contexts = contexts_for(recipe, variant)
    per_context = {context.key: effective(recipe, key, variant, context) for context in contexts}
    order: list[str] = []
    texts: dict[str, dict[str, tuple[Unit, list[Context]]]] = {}
    for context in contexts:
        for unit in per_context[context.key]:
            if unit.key not in texts:
                order.append(unit.key)
                texts[unit.key] = {}
            slot = texts[unit.key].setdefault(unit.text, (unit, []))
            slot[1].append(context)
    requirements: list[dict[str, Any]] = []
    for unit_key in order:
        head = unit_key.lstrip("$").partition(".")[0]
        if not unit_key.startswith("$") and head in SKIPPED:
            recipe.notes.skipped_flags[head] = recipe.notes.skipped_flags.get(head, 0) + 1
            continue
        for _, (unit, where) in texts[unit_key].items():
            if unit.value is not None and _PLACEHOLDER.search(unit.value):
                recipe.skip(
                    unit.section, f"{unit.text}: a placeholder for the deployment's own value, not a requirement"
                )
                continue
            requirements += _requirements(recipe, unit, where, contexts, served)
    return requirements


def _requirements(
    recipe: Recipe, unit: Unit, where: list[Context], contexts: list[Context], served: str
) -> list[dict[str, Any]]:
    if unit.key.startswith("$"):
        rule, known = ENV_RULE, True
    else:
        rule, known = rule_for(unit.key)
        if not known:
            recipe.notes.unknown_flags.setdefault(unit.key.partition(".")[0], []).append(recipe.path)
    severity = rule.severity_for(unit.value) if not unit.key.startswith("$") else rule.severity
    why = rule.why
    if severity == "boot-blocker":
        without = guide_without(recipe, served, unit.text)
        if without is not None:
            severity = "perf"
            why = (
                f"{rule.why}; but the recipe's own guide serves {served} without it ({without}), so this "
                "checkpoint loads without it: a warning, not a refusal"
            )
            recipe.notes.downgraded.append(f"{recipe.path}: {served}: {unit.text}")
    affected = f"{describe_contexts(where, contexts)} ({SOURCE} {unit.section})"
    out = []
    for scope in factor(where, contexts):
        requirement: dict[str, Any] = {("env" if unit.key.startswith("$") else "flag"): unit.text}
        requirement |= {"severity": severity, "why": why, "affected": affected, "evidence": recipe.evidence}
        if scope is not None:
            requirement["applies_when"] = scope
        out.append(requirement)
    return out


def guide_without(recipe: Recipe, served: str, text: str) -> str | None:
    """A command of the recipe's guide that serves `served` without the flag `text`, shortened; else None."""
    from kgc_launch.knowngood.match import spelling_status
    from kgc_launch.knowngood.spelling import parse_flags
    from kgc_launch.serve_args import render_command_line

    way = parse_flags(text)
    for args in recipe.guide:
        same = args.model is not None and args.model.casefold() == served.casefold()
        if same and spelling_status(way, args, {}) != "satisfied":
            command = "vllm serve " + render_command_line(args)
            return command if len(command) <= 100 else command[:99] + "…"
    return None


def minimum_version(recipe: Recipe, variant: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """`min_vllm_version` as a boot-blocking refusal scoped `engine_version: '<min'` (nightly: a warning)."""
    from packaging.version import InvalidVersion, Version

    raw = variant.get("min_vllm_version", recipe.model.get("min_vllm_version"))
    field_name = f"variants.{key}.min_vllm_version" if "min_vllm_version" in variant else "model.min_vllm_version"
    if raw is None:
        return []
    text = js_str(raw).strip().removeprefix("v")
    if text.lower() == "nightly":
        return [
            {
                "refuse": "the recipe needs a vLLM nightly build (min_vllm_version: nightly): no release number "
                "names it, so the installed version cannot be checked against it",
                "fix": "install a vLLM nightly wheel (https://wheels.vllm.ai/nightly) or a release that includes it",
                "severity": "perf",
                "why": "the recipe's minimum vLLM is a nightly build",
                "affected": f"every vLLM release up to the recipe's snapshot ({SOURCE} {field_name})",
                "evidence": recipe.evidence,
            }
        ]
    try:
        version = Version(text)
    except InvalidVersion:
        recipe.skip(field_name, f"{js_str(raw)!r} is not a version")
        return []
    return [
        {
            "refuse": f"vLLM older than {version} does not know this model's architecture (the recipe's "
            f"min_vllm_version is {version})",
            "fix": f"install vLLM >= {version} (e.g. uv pip install -U 'vllm>={version}')",
            "severity": "boot-blocker",
            "why": "the first vLLM release the recipe serves this model with; older ones do not know the "
            "architecture (or its parser or quantization)",
            "affected": f"vLLM < {version} ({SOURCE} {field_name})",
            "evidence": recipe.evidence,
            "applies_when": {"engine_version": f"<{version}"},
        }
    ]


def hardware_refusals(recipe: Recipe, variant: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """`meta.hardware.<id>: unsupported` as a refusal there; a variant's `supported_hardware` as a warning
    elsewhere (the recipe documents it only there)."""
    marks = {str(k).lower(): js_str(v).lower() for k, v in _mapping(recipe.meta.get("hardware")).items()}
    out: list[dict[str, Any]] = []
    for group in pattern_groups():
        unsupported = [m for m in group.members if marks.get(m.id) == "unsupported"]
        if not unsupported:
            continue
        working = [m for m in group.members if _offered(m, marks)]
        names = ", ".join(m.id for m in unsupported)
        if working:
            recipe.skip(
                "meta.hardware",
                f"{names}: unsupported, but {', '.join(m.id for m in working)} has the same GPU name: not refused",
            )
            continue
        verified = [k for k, v in marks.items() if v == "verified"]
        out.append(
            {
                "refuse": f"the recipe marks {', '.join(m.display for m in unsupported)} unsupported for "
                f"{recipe.model_id} (meta.hardware: {names}: unsupported): not runnable there today",
                "fix": "use hardware the recipe supports" + (f" (verified: {', '.join(verified)})" if verified else ""),
                "severity": "boot-blocker",
                "why": "the recipe's authors confirmed it does not run on this hardware (a compatibility gap, a "
                "missing kernel or an upstream blocker)",
                "affected": f"{', '.join(m.display for m in unsupported)} ({SOURCE} meta.hardware)",
                "evidence": recipe.evidence,
                "applies_when": {"gpus": list(group.patterns)},
            }
        )
    allowed = variant.get("supported_hardware")
    if isinstance(allowed, list) and allowed:
        ids = [str(item).lower() for item in allowed]
        known = [PROFILES[i] for i in ids if i in PROFILES]
        unknown = [i for i in ids if i not in PROFILES and i not in NOT_GPUS]
        if unknown:
            recipe.skip(f"variants.{key}.supported_hardware", f"unknown hardware id(s) {', '.join(unknown)}")
        if known:
            out.append(
                {
                    "refuse": f"the recipe documents this variant only on {', '.join(p.display for p in known)}",
                    "fix": f"expect to tune it yourself here, or use {', '.join(p.display for p in known)}",
                    "severity": "perf",
                    "why": "the variant's supported_hardware allowlist: other GPUs are not documented",
                    "affected": f"every GPU but {', '.join(p.id for p in known)} ({SOURCE} "
                    f"variants.{key}.supported_hardware)",
                    "evidence": recipe.evidence,
                    "applies_when": {"not_gpus": list(dict.fromkeys(p for k in known for p in k.patterns))},
                }
            )
    return out


def _offered(profile: Profile, marks: dict[str, str]) -> bool:
    """Whether the recipe offers this profile: listed as working, or not restricted and not unsupported."""
    mark = marks.get(profile.id)
    if mark is not None:
        return mark != "unsupported"
    return not profile.restricted


def verified_hardware(recipe: Recipe) -> list[str]:
    marks = _mapping(recipe.meta.get("hardware"))
    return [str(k) for k, v in marks.items() if js_str(v).lower() == "verified"]


def options_for(
    recipe: Recipe, key: str, variant: dict[str, Any], others: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Features (on by default or opt-in, never required) and the other variants serving this model id."""
    from kgc_launch.knowngood.spelling import parse_flags

    opt_in = {str(name) for name in recipe.data.get("opt_in_features") or [] if isinstance(name, str)}
    defaults = _mapping(variant.get("default_modes"))
    contexts = contexts_for(recipe, variant)
    options: list[dict[str, Any]] = []
    for name, raw in _mapping(recipe.data.get("features")).items():
        feature = _mapping(raw)
        description = _text(feature.get("description"))
        modes = _mapping(feature.get("modes"))
        if modes:
            for mode_key, mode_raw in modes.items():
                mode = _mapping(mode_raw)
                allowed = mode.get("variants")
                if isinstance(allowed, list) and key not in [str(v) for v in allowed]:
                    continue
                label = f"{name}: {mode_key}"
                default_on = name not in opt_in or name in defaults
                options += _option_variants(
                    recipe, label, _text(mode.get("description")) or description, default_on, contexts,
                    lambda context, mode=mode: _hardware_keyed(mode.get("hardware_overrides"), context, "args")
                    or mode.get("args"),
                )  # fmt: skip
            continue
        options += _option_variants(
            recipe, name, description, name not in opt_in, contexts,
            lambda context, feature=feature: _generation_args(feature, context),
        )  # fmt: skip
    for other_key, other in others:
        words = (
            [js_str(arg) for arg in other.get("extra_args") or []] if isinstance(other.get("extra_args"), list) else []
        )
        env = [f"{k}={js_str(v)}" for k, v in _mapping(other.get("extra_env")).items()]
        if not words and not env:
            continue
        flag = shlex.join(words) if words else None
        if flag is not None:
            try:
                parse_flags(flag)
            except ValueError as error:
                recipe.skip(f"variants.{other_key}.extra_args", str(error))
                continue
        option: dict[str, Any] = {"name": f"variant {other_key}"}
        description = _text(other.get("description"))
        if description:
            option["description"] = description
        if flag is not None:
            option["flag"] = flag
        if env:
            option["env"] = env
        options.append(option)
    return options


def _option_variants(
    recipe: Recipe, name: str, description: str | None, default_on: bool, contexts: list[Context], args_for: Any
) -> list[dict[str, Any]]:
    from kgc_launch.knowngood.spelling import parse_flags

    by_text: dict[str, list[Context]] = {}
    for context in contexts:
        args = args_for(context)
        if not isinstance(args, list) or not args:
            continue
        by_text.setdefault(shlex.join(js_str(arg) for arg in args), []).append(context)
    out = []
    for text, where in by_text.items():
        try:
            parse_flags(text)
        except ValueError as error:
            recipe.skip(f"features.{name}", str(error))
            continue
        for scope in factor(where, contexts):
            option: dict[str, Any] = {"name": name}
            if description:
                option["description"] = description
            option |= {"flag": text, "default_on": default_on}
            if scope is not None:
                option["applies_when"] = scope
            out.append(option)
    return out


def _generation_args(feature: dict[str, Any], context: Context) -> Any:
    overrides = _mapping(feature.get("hardware_overrides"))
    profile = context.profile
    generation = profile.generation if profile is not None else None
    nvidia = profile is None or profile.brand == "NVIDIA"
    block = overrides.get(generation) if generation is not None else None
    if not isinstance(block, dict) and nvidia:
        block = overrides.get("nvidia")
    if isinstance(block, dict) and isinstance(block.get("args"), list):
        return block["args"]
    return feature.get("args")


def _hardware_keyed(raw: Any, context: Context, field_name: str) -> Any:
    """exact GPU id > generation > brand > `default`, as the site's `hardwareKeyedValue`."""
    overrides = _mapping(raw)
    profile = context.profile
    keys = [] if profile is None else [profile.id, profile.generation, profile.brand.lower()]
    if profile is None:
        keys.append("nvidia")
    for candidate in [*keys, "default"]:
        block = overrides.get(candidate)
        if isinstance(block, dict) and field_name in block:
            return block[field_name]
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(js_str(value).split())
    return text or None


def entries_for(recipe: Recipe) -> list[dict[str, Any]]:
    """One entry per model id the recipe serves: its `default` variant's (or first variant's) requirements;
    other variants serving the same id become options."""
    groups: dict[str, list[str]] = {}
    for key, variant in recipe.variants.items():
        served = _text(variant.get("model_id")) or recipe.model_id
        groups.setdefault(served, []).append(key)
    order = sorted(groups, key=lambda served: (0 if "default" in groups[served] else 1, list(groups).index(served)))
    entries = []
    for served in order:
        keys = groups[served]
        primary = "default" if "default" in keys else keys[0]
        variant = recipe.variants[primary]
        others = [(k, recipe.variants[k]) for k in keys if k != primary]
        entry: dict[str, Any] = {"model": served}
        if served.casefold() != recipe.model_id.casefold() and "default" in keys and recipe.model_id not in groups:
            entry["aliases"] = [recipe.model_id]
        slug = _text(recipe.meta.get("slug"))
        if slug:
            entry["slug"] = slug if primary == "default" else f"{slug}-{primary}"
        entry["arch"] = _arch(recipe, variant)
        entry["engine"] = "vllm"
        flags = minimum_version(recipe, variant, primary)
        flags += hardware_refusals(recipe, variant, primary)
        flags += requirements_for(recipe, primary, variant, served)
        if flags:
            entry["required_flags"] = flags
        title = _text(recipe.meta.get("title")) or recipe.model_id
        description = _text(variant.get("description")) or _text(recipe.meta.get("description"))
        precision = _text(variant.get("precision"))
        entry["notes"] = (
            f"{title}, variant {primary}"
            + (f" ({precision})" if precision else "")
            + (f": {description}" if description else "")
        )
        entry["source"] = recipe.evidence
        verified = verified_hardware(recipe)
        if verified:
            entry["verified_hardware"] = verified
        vram = variant.get("vram_minimum_gb")
        if isinstance(vram, (int, float)) and not isinstance(vram, bool) and vram > 0:
            entry["vram_minimum_gb"] = vram
        elif vram is not None:
            recipe.skip(f"variants.{primary}.vram_minimum_gb", f"{js_str(vram)!r} is not a positive number")
        options = options_for(recipe, primary, variant, others)
        if options:
            entry["options"] = options
        entries.append(entry)
    return entries


def _arch(recipe: Recipe, variant: dict[str, Any]) -> str:
    architecture = _text(recipe.model.get("architecture")) or "model"
    total = _text(recipe.model.get("parameter_count"))
    active = _text(recipe.model.get("active_parameters"))
    words = architecture
    if total:
        words += f", {total} parameters"
        if active and active != total:
            words += f" ({active} active)"
    precision = _text(variant.get("precision"))
    return words + (f", {precision}" if precision else "")
