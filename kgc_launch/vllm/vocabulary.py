"""vLLM's `vllm serve` option vocabulary, per vLLM release, read from the shipped registry/vllm-options.json.

The data is generated from vLLM's own parser (scripts/gen_vllm_vocabulary.py, docs/vllm-vocabulary.md); this
module only reads it. It answers, for one release or for an unknown version (then: accepted by all known releases,
by some, or by none):

- `lookup(spelling)`: which option a command-line token names, the way vLLM's FlexibleArgumentParser and argparse
  resolve it: full name, short alias (`-tp`), `--no-` form, `--opt=value`, underscores for dashes, an unambiguous
  prefix (argparse `allow_abbrev`, where the release allows it), dotted JSON keys (`--compilation-config.mode`,
  `-cc.mode`), and `-O3` / `-O 3`. An unknown spelling comes with the closest valid one.
- `check_value(spelling, value)`: whether vLLM accepts a value for it (type, choices, range, JSON, JSON keys),
  with a message that names the flag, the value, what vLLM accepts and the release.

Standard library only. The JSON is read once, on first use, not at import.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal, cast

from kgc_launch.data import shipped_file
from kgc_launch.filecache import load_json

DATA_FILE = "vllm-options.json"

Verdict = Literal["all", "some", "none"]
Status = Literal["ok", "unknown", "ambiguous", "invalid"]
Form = Literal["option", "alias", "no_form", "prefix", "dotted", "O_flag", "short_attached"]
JSONScalar = str | int | float | bool | None

_MISSING = object()


class UnknownReleaseError(ValueError):
    """A release that the shipped vocabulary has no data for (and no release of the same line either)."""


# ----------------------------------------------------------------------------------------------------------------
# Public records


@dataclass(frozen=True)
class ValueRange:
    """An interval vLLM enforces for a number; `enforced` is "parse" (argparse type) or "config" (config class)."""

    min: float | None
    min_inclusive: bool
    max: float | None
    max_inclusive: bool
    enforced: str
    where: str
    found_by: str

    def contains(self, x: float) -> bool:
        if math.isnan(x):
            return False
        if self.min is not None and (x < self.min or (x == self.min and not self.min_inclusive)):
            return False
        return not (self.max is not None and (x > self.max or (x == self.max and not self.max_inclusive)))

    def describe(self) -> str:
        lo = "(-inf" if self.min is None else ("[" if self.min_inclusive else "(") + _num(self.min)
        hi = "+inf)" if self.max is None else _num(self.max) + ("]" if self.max_inclusive else ")")
        return f"{lo}, {hi}"


@dataclass(frozen=True)
class OptionSpec:
    """One option as one vLLM release's parser defines it."""

    option: str
    release: str
    aliases: tuple[str, ...]
    no_forms: tuple[str, ...]
    kind: str
    value_kind: str | None
    optional_value: bool
    choices: tuple[JSONScalar, ...] | None
    nargs: str | int | None
    default: object
    range: ValueRange | None
    json_fields: tuple[str, ...] | None
    json_extra_forbidden: bool | None
    json_unknown_key_at_parse: str | None
    json_bare_values: tuple[str, ...]
    json_human_numbers: bool
    json_field_ranges: Mapping[str, ValueRange]
    json_nested_forbidden: Mapping[str, tuple[str, ...]]
    """Nested config objects whose class forbids extra keys (`pass_config` of `--compilation-config`) -> their
    fields: vLLM rejects any other key inside them."""
    deprecated: bool
    hidden: bool
    help: str | None

    @property
    def takes_value(self) -> bool:
        return self.kind not in ("bool_flag", "bool_flag_false", "bool_optional", "count", "const")


@dataclass(frozen=True)
class Resolution:
    """How one release reads one spelling."""

    release: str
    spelling: str
    status: Status
    option: str | None
    form: Form | None
    negated: bool
    inline_value: str | None
    json_path: tuple[str, ...]
    json_append: bool
    candidates: tuple[str, ...]
    suggestion: str | None
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Lookup:
    """A spelling looked up for one release, or for every known release when the version is unknown."""

    spelling: str
    release: str | None
    verdict: Verdict
    accepted_by: tuple[str, ...]
    rejected_by: tuple[str, ...]
    option: str | None
    suggestion: str | None
    per_release: tuple[Resolution, ...]
    message: str

    @property
    def ok(self) -> bool:
        return self.verdict == "all"


@dataclass(frozen=True)
class ValueCheck:
    """A value checked for an option, for one release or for every release that has the option."""

    spelling: str
    value: str | tuple[str, ...] | None
    release: str | None
    verdict: Verdict
    accepted_by: tuple[str, ...]
    rejected_by: tuple[str, ...]
    problems: tuple[str, ...]
    message: str

    @property
    def ok(self) -> bool:
        return self.verdict == "all"


@dataclass(frozen=True)
class ParserRules:
    """What one release's FlexibleArgumentParser does with spellings (found by parsing, not by reading code)."""

    release: str
    generated_from: str
    allow_abbrev: bool
    underscores_in_long_names: bool
    dotted_json_keys: bool
    dotted_json_keys_on_short_aliases: tuple[str, ...]
    dotted_list_append_plus: bool
    dotted_on_O: bool
    O_flag_option: str | None
    human_int_multipliers: Mapping[str, int]
    human_int_decimal_allowed: Mapping[str, bool]
    auto_spellings: tuple[str, ...]


# ----------------------------------------------------------------------------------------------------------------
# Loading


class _Variant:
    """One description of an option and the releases it holds for. The data holds each option's newest
    description in full and, per variant, only what differs from it; the two are merged on first use."""

    __slots__ = ("_raw", "delta", "entry", "option", "releases", "spellings")

    def __init__(self, option: str, entry: dict[str, Any], delta: dict[str, Any]) -> None:
        self.option = option
        self.entry = entry
        self.delta = delta
        self._raw: dict[str, Any] | None = None
        self.releases = frozenset(cast(list[str], delta["releases"]))
        self.spellings: dict[str, Form] = {option: "option"}
        for a in delta.get("aliases", entry.get("aliases")) or ():
            self.spellings[a] = "alias"
        for n in delta.get("no_forms", entry.get("no_forms")) or ():
            self.spellings[n] = "no_form"

    @property
    def raw(self) -> dict[str, Any]:
        if self._raw is None:
            self._raw = {**self.entry, **self.delta}
        return self._raw


class _Vocab:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.order: tuple[str, ...] = tuple(data["release_order"])
        self.releases: dict[str, dict[str, Any]] = data["releases"]
        self.not_generated: dict[str, str] = data.get("not_generated") or {}
        self.variants: dict[str, list[_Variant]] = {}
        # spelling -> variants that have it (in some release)
        self.by_spelling: dict[str, list[_Variant]] = {}
        for name, entry in data["options"].items():
            vs = [_Variant(name, entry, v) for v in entry["variants"]]
            self.variants[name] = vs
            for v in vs:
                for s in v.spellings:
                    self.by_spelling.setdefault(s, []).append(v)
        self._per_release: dict[str, tuple[dict[str, tuple[_Variant, Form]], list[str]]] = {}

    def exact(self, spelling: str, release: str) -> tuple[_Variant, Form] | None:
        """`release_index(release)[0].get(spelling)` without building that index: the last variant (in the
        order the index is built) that has this spelling in this release."""
        for v in reversed(self.by_spelling.get(spelling, ())):
            if release in v.releases:
                return v, v.spellings[spelling]
        return None

    def release_index(self, release: str) -> tuple[dict[str, tuple[_Variant, Form]], list[str]]:
        """(spelling -> (variant, form), sorted spellings) for one release; built on first use."""
        got = self._per_release.get(release)
        if got is None:
            self.build_indexes((release,))
            got = self._per_release[release]
        return got

    def build_indexes(self, releases: Sequence[str]) -> None:
        """The per-release indexes of `releases`, in one pass over the variants."""
        want: dict[str, dict[str, tuple[_Variant, Form]]] = {r: {} for r in releases if r not in self._per_release}
        if not want:
            return
        for vs in self.variants.values():
            for v in vs:
                for r in v.releases:
                    index = want.get(r)
                    if index is not None:
                        for s, form in v.spellings.items():
                            index[s] = (v, form)
        for r, index in want.items():
            self._per_release[r] = (index, sorted(index))


@lru_cache(maxsize=1)
def _vocab() -> _Vocab:
    return _Vocab(load_json(shipped_file(DATA_FILE)))


def data_about() -> str:
    """The data file's own description of what it is and where it came from."""
    return str(_vocab().data["about"])


def known_releases() -> tuple[str, ...]:
    """The vLLM releases the shipped data was generated from, oldest first."""
    return _vocab().order


def not_generated() -> Mapping[str, str]:
    """Releases the generator could not be run on, with the reason."""
    return dict(_vocab().not_generated)


def generated_from(release: str) -> str:
    """Which distribution and Python the release's list was generated from."""
    return str(_vocab().releases[resolve_release_or_raise(release)]["generated_from"])


def _vkey(v: str) -> tuple[tuple[int, int | str], ...]:
    out: list[tuple[int, int | str]] = []
    for p in re.split(r"[.+]", v):
        if p.isdigit():
            out.append((0, int(p)))
        elif p.startswith("post") and p[4:].isdigit():
            out.append((1, int(p[4:])))
        else:
            out.append((-1, p))
    return tuple(out)


def resolve_release(version: str) -> str | None:
    """The release in the data that stands for `version`: itself, without its local part ("0.32.0+cpu"), the same
    release with a post suffix ("0.8.5" -> "0.8.5.post2"), else the nearest generated release of the same
    major.minor line (flags change within a line rarely; an exact release is not promised). None if none."""
    order = _vocab().order
    v = version.strip().removeprefix("v").split("+", 1)[0]
    if v in order:
        return v
    same = [r for r in order if r.split(".post", 1)[0] == v.split(".post", 1)[0]]
    if same:
        return same[-1]
    m = re.match(r"(\d+)\.(\d+)", v)
    if not m:
        return None
    line = [r for r in order if re.match(rf"{m.group(1)}\.{m.group(2)}(\.|$)", r)]
    if not line:
        return None
    below = [r for r in line if _vkey(r) <= _vkey(v)]
    return below[-1] if below else line[0]


def resolve_release_or_raise(version: str) -> str:
    r = resolve_release(version)
    if r is None:
        known = ", ".join(known_releases())
        raise UnknownReleaseError(f"no vLLM vocabulary for release {version!r}; known releases: {known}")
    return r


@lru_cache(maxsize=64)
def parser_rules(release: str) -> ParserRules:
    """How `release`'s parser treats abbreviations, underscores, dotted JSON keys and -O."""
    rel = resolve_release_or_raise(release)
    m = _vocab().releases[rel]
    o_sets = m.get("O_flag_sets") or {}
    o_opts = o_sets.get("3_joined") or o_sets.get("_space_3") or []
    hi = m.get("human_int_rules") or {}
    return ParserRules(
        release=rel,
        generated_from=str(m["generated_from"]),
        allow_abbrev=bool(m["allow_abbrev"]),
        underscores_in_long_names=bool(m["underscores_in_long_names"]),
        dotted_json_keys=bool(m["dotted_json_keys"]),
        dotted_json_keys_on_short_aliases=tuple(m.get("dotted_json_keys_on_short_aliases") or ()),
        dotted_list_append_plus=bool(m.get("dotted_list_append_plus")),
        dotted_on_O=bool(m.get("dotted_json_keys_on_O")),
        O_flag_option=o_opts[0] if len(o_opts) == 1 else None,
        human_int_multipliers=dict(hi.get("multipliers") or {}),
        human_int_decimal_allowed=dict(hi.get("decimal_allowed") or {}),
        auto_spellings=tuple(hi.get("or_auto_accepts") or ()),
    )


def _range(raw: Mapping[str, Any] | None) -> ValueRange | None:
    if not raw or ("min" not in raw and "max" not in raw):
        return None
    return ValueRange(
        min=raw.get("min"),
        min_inclusive=bool(raw.get("min_inclusive", True)),
        max=raw.get("max"),
        max_inclusive=bool(raw.get("max_inclusive", True)),
        enforced=str(raw.get("enforced", "")),
        where=str(raw.get("where", "")),
        found_by=str(raw.get("found_by", "declared")),
    )


def _spec(v: _Variant, release: str) -> OptionSpec:
    r = v.raw
    ranges = {k: rr for k, raw in (r.get("json_field_ranges") or {}).items() if (rr := _range(raw)) is not None}
    choices = r.get("choices")
    return OptionSpec(
        option=v.option,
        release=release,
        aliases=tuple(r.get("aliases") or ()),
        no_forms=tuple(r.get("no_forms") or ()),
        kind=str(r["kind"]),
        value_kind=r.get("value_kind"),
        optional_value=bool(r.get("optional_value")),
        choices=tuple(choices) if isinstance(choices, list) else None,
        nargs=r.get("nargs"),
        default=r.get("default"),
        range=_range(r.get("range")),
        json_fields=tuple(r["json_fields"]) if isinstance(r.get("json_fields"), list) else None,
        json_extra_forbidden=r.get("json_extra_forbidden"),
        json_unknown_key_at_parse=r.get("json_unknown_key_at_parse"),
        json_bare_values=tuple(r.get("json_bare_values_accepted") or ()),
        json_human_numbers=bool(r.get("json_human_numbers")),
        json_field_ranges=ranges,
        json_nested_forbidden=_nested_forbidden(r.get("json_nested")),
        deprecated=bool(r.get("deprecated")),
        hidden=bool(r.get("hidden")),
        help=r.get("help"),
    )


@lru_cache(maxsize=8192)
def option_spec(option: str, release: str) -> OptionSpec | None:
    """The option (canonical name, or any spelling `lookup` resolves) as `release` defines it; None if absent."""
    rel = resolve_release_or_raise(release)
    res = _resolve(option, rel)
    if res.option is None or res.status != "ok":
        return None
    hit = _vocab().exact(res.option, rel)
    return _spec(hit[0], rel) if hit else None


def option_history(option: str) -> Mapping[str, Any]:
    """Releases an option is in, first/last seen, the first release without it, and where it is deprecated."""
    entry = _vocab().data["options"].get(option)
    if entry is None:
        return {}
    keys = ("releases", "first_seen", "last_seen", "removed_in", "absent_in", "deprecated_in")
    return {k: entry[k] for k in keys}


# ----------------------------------------------------------------------------------------------------------------
# Resolving a spelling


def _all_spellings(release: str | None) -> list[str]:
    v = _vocab()
    if release is not None:
        return v.release_index(release)[1]
    return sorted(v.by_spelling)


@lru_cache(maxsize=1024)  # difflib over every spelling: once per misspelling, not once per manifest
def suggest(spelling: str, release: str | None = None, n: int = 3) -> tuple[str, ...]:
    """The closest valid spellings (difflib), for one release or any known release."""
    rel = resolve_release_or_raise(release) if release is not None else None
    name = spelling.split("=", 1)[0]
    if name.startswith("--"):
        name = "--" + name[2:].split(".", 1)[0].replace("_", "-")
    pool = _all_spellings(rel)
    longs = [s for s in pool if s.startswith("--")] if name.startswith("--") else pool
    if name.startswith("--no-"):  # never the option it meant to turn off: that would turn it on
        longs = [s for s in longs if s != "--" + name[5:]]
    return tuple(_close(name, longs, n))


def _close(word: str, pool: Sequence[str], n: int = 1) -> list[str]:
    import difflib  # only when a spelling is wrong: keeps the import cheap

    return difflib.get_close_matches(word, pool, n=n, cutoff=0.6)


def _res(rel: str, spelling: str, status: Status, message: str, **kw: Any) -> Resolution:
    fields: dict[str, Any] = {
        "option": None,
        "form": None,
        "negated": False,
        "inline_value": None,
        "json_path": (),
        "json_append": False,
        "candidates": (),
        "suggestion": None,
    }
    fields.update(kw)
    return Resolution(release=rel, spelling=spelling, status=status, message=message, **fields)


def _match(
    name: str, rel: str, rules: ParserRules, has_inline: bool = False
) -> tuple[Status, _Variant | None, Form | None, tuple[str, ...]]:
    """argparse's _parse_optional / _get_option_tuples (Python 3.11) on one option name (the part before '=')."""
    hit = _vocab().exact(name, rel)  # an exact name wins; the release's whole index only for abbreviations
    if hit is not None:
        return "ok", hit[0], hit[1], ()
    index, ordered = _vocab().release_index(rel)
    if len(name) < 2 or (has_inline and not name.startswith("--")):
        # argparse splits a single-dash token at '=' only for an exact option name.
        return "unknown", None, None, ()
    if name.startswith("--"):
        if not rules.allow_abbrev:
            return "unknown", None, None, ()
        i = bisect_left(ordered, name)
        cands: list[str] = []
        while i < len(ordered) and ordered[i].startswith(name):
            cands.append(ordered[i])
            i += 1
    else:
        short = name[:2]
        cands = [s for s in ordered if s == short or (s.startswith(name) and not s.startswith("--"))]
    if len(cands) > 1:
        return "ambiguous", None, None, tuple(cands)
    if len(cands) == 1:
        v, form = index[cands[0]]
        if cands[0] == name[:2] and not name.startswith("--"):
            return "ok", v, "short_attached", (cands[0],)
        return "ok", v, "prefix" if form != "no_form" else "no_form", (cands[0],)
    return "unknown", None, None, ()


@lru_cache(maxsize=8192)  # a deploy check reads the same spellings in every manifest, each against every release
def _resolve(spelling: str, rel: str, with_suggestion: bool = True) -> Resolution:
    rules = parser_rules(rel)
    name_part, equals, value_part = spelling.partition("=")
    token = name_part.strip() + equals + value_part  # an inline value is kept as written (argparse does)
    if not token.startswith("-") or token in ("-", "--"):
        return _res(rel, spelling, "invalid", f"{spelling!r} is not an option (vLLM {rel} reads it as a value)")

    # vLLM's own rewriting before argparse: -O<level>, underscores, dotted keys.
    if token.startswith("-O") and not token.startswith("--"):
        dotted = token.startswith("-O.")
        if dotted and not rules.dotted_on_O:
            return _res(rel, spelling, "invalid", f"vLLM {rel} does not accept dotted keys on -O ({spelling})")
        if not dotted and rules.O_flag_option is not None:
            value = token[3:] if token[2:3] == "=" else token[2:]
            return _res(
                rel,
                spelling,
                "ok",
                f"{spelling} sets {rules.O_flag_option} in vLLM {rel}",
                option=rules.O_flag_option,
                form="O_flag",
                inline_value=value or None,
            )

    name, inline = ([*token.split("=", 1), None])[:2] if "=" in token else (token, None)
    assert name is not None
    if name.startswith("--") and rules.underscores_in_long_names:
        head, dot, tail = name[2:].partition(".")
        name = "--" + head.replace("_", "-") + dot + tail

    path: tuple[str, ...] = ()
    append = False
    if "." in name and not re.fullmatch(r"-+\d*\.\d*", name):
        base, _, rest = name.partition(".")
        if not rules.dotted_json_keys:
            return _res(rel, spelling, "invalid", f"vLLM {rel} does not accept dotted keys ({spelling})")
        on_short = base in rules.dotted_json_keys_on_short_aliases or (base == "-O" and rules.dotted_on_O)
        if not base.startswith("--") and not on_short:
            return _res(rel, spelling, "invalid", f"vLLM {rel} accepts dotted keys only after --options ({base})")
        if rest.endswith("+"):
            if not rules.dotted_list_append_plus:
                return _res(rel, spelling, "invalid", f"vLLM {rel} does not accept KEY+ list appends ({spelling})")
            rest, append = rest[:-1], True
        path = tuple(rest.split("."))
        name = base

    status, variant, form, cands = _match(name, rel, rules, inline is not None)
    if status == "ambiguous":
        return _res(
            rel,
            spelling,
            "ambiguous",
            f"{spelling} is ambiguous in vLLM {rel}: it could be {', '.join(cands)}",
            candidates=cands,
        )
    if status != "ok" or variant is None:
        sugg = suggest(name, rel, 1) if with_suggestion else ()
        hint = f"; did you mean {sugg[0]}?" if sugg else ""
        why = "" if rules.allow_abbrev or not name.startswith("--") else " (it allows no abbreviations)"
        return _res(
            rel,
            spelling,
            "unknown",
            f"vLLM {rel} has no option {name}{why}{hint}",
            suggestion=sugg[0] if sugg else None,
        )

    negated = form == "no_form" or (form == "prefix" and cands and cands[0] in (variant.raw.get("no_forms") or ()))
    if form == "short_attached":
        inline = name[2:] if inline is None else f"{name[2:]}={inline}"
    if path:
        kind = variant.raw.get("kind")
        if kind not in ("json", "json_or_str") and variant.raw.get("value_kind") not in ("json", "json_or_str"):
            return _res(
                rel,
                spelling,
                "invalid",
                f"{variant.option} takes no JSON keys in vLLM {rel} ({spelling}): it is a {kind} option",
                option=variant.option,
            )
        fields = variant.raw.get("json_fields")
        if isinstance(fields, list) and path[0] not in fields and variant.raw.get("json_extra_forbidden"):
            close = _close(path[0], fields)
            hint = f"; did you mean {close[0]}?" if close else ""
            when = "while parsing" if variant.raw.get("json_unknown_key_at_parse") == "rejected" else "at config time"
            return _res(
                rel,
                spelling,
                "invalid",
                f"{variant.option} has no key {path[0]!r} in vLLM {rel} (rejected {when}){hint}",
                option=variant.option,
                suggestion=f"{name}.{close[0]}" if close else None,
            )
        form = "dotted"
    how = {
        "option": "",
        "alias": f" (alias of {variant.option})",
        "no_form": f" (turns {variant.option} off)",
        "prefix": f" (prefix of {variant.option})",
        "dotted": f" (key {'.'.join(path)} of {variant.option})",
        "short_attached": f" ({name[:2]} with the value attached)",
        "O_flag": "",
    }[form or "option"]
    return _res(
        rel,
        spelling,
        "ok",
        f"vLLM {rel} accepts {spelling}{how}",
        option=variant.option,
        form=form,
        negated=bool(negated),
        inline_value=inline,
        json_path=path,
        json_append=append,
        candidates=cands,
    )


def _summarize(accepted: Sequence[str], rejected: Sequence[str]) -> Verdict:
    if not rejected:
        return "all"
    return "some" if accepted else "none"


def _ranges(rels: Sequence[str]) -> str:
    """'0.8.5.post2-0.20.2, 0.23.0' for releases, runs collapsed along the known order."""
    order = _vocab().order
    pos = sorted(order.index(r) for r in rels)
    runs: list[str] = []
    i = 0
    while i < len(pos):
        j = i
        while j + 1 < len(pos) and pos[j + 1] == pos[j] + 1:
            j += 1
        runs.append(order[pos[i]] if i == j else f"{order[pos[i]]}-{order[pos[j]]}")
        i = j + 1
    return ", ".join(runs)


def lookup(spelling: str, release: str | None = None, among: Sequence[str] | None = None) -> Lookup:
    """Which vLLM option `spelling` (one command-line token, e.g. "-tp", "--no-enable-lora", "--max-model=4k",
    "--compilation-config.mode") names. With `release` (a vLLM version), as that release reads it; with None, as
    every known release does, or each release of `among` (verdict "all", "some" or "none")."""
    if release is not None:
        rel = resolve_release_or_raise(release)
        r = _resolve(spelling, rel)
        if r.status == "unknown":  # dropped by this release: say so, as a stated range does (the fix is to drop it)
            head, hint, rest = r.message.partition("; did you mean")
            r = replace(r, message=f"{head}{_last_before(spelling, rel)}{hint}{rest}")
        one: tuple[str, ...] = (rel,)
        acc1, rej1 = (one, ()) if r.ok else ((), one)
        return Lookup(spelling, rel, _summarize(acc1, rej1), acc1, rej1, r.option, r.suggestion, (r,), r.message)
    releases = tuple(among) if among else _vocab().order
    results = tuple(_resolve(spelling, rel, with_suggestion=False) for rel in releases)
    acc = tuple(r.release for r in results if r.ok)
    rej = tuple(r.release for r in results if not r.ok)
    verdict = _summarize(acc, rej)
    options = {r.option for r in results if r.ok}
    option = results[[r.ok for r in results].index(True)].option if acc else None
    # Only a refusal offers a spelling (difflib over every spelling is the slowest step of a deploy check).
    sugg = suggest(spelling, releases[-1] if among else None, 1) if verdict == "none" else ()
    sugg = tuple(s for s in sugg if s != spelling.partition("=")[0])
    if verdict == "all":
        scope = "known vLLM release" if not among else "vLLM release of"
        msg = f"every {scope} ({_ranges(acc)}) accepts {spelling}"
        if len(options) > 1:
            msg += f", but not as the same option ({', '.join(sorted(o for o in options if o))})"
    elif verdict == "some":
        msg = f"{spelling} is accepted by vLLM {_ranges(acc)} but not by {_ranges(rej)}"
    else:
        hint = f"; did you mean {sugg[0]}?" if sugg else ""
        msg = f"no known vLLM release ({_ranges(rej)}) accepts {spelling}{hint}"
        if among:
            before = _last_before(spelling, releases[0])
            msg = f"no vLLM release of {_ranges(releases)} accepts {spelling}{before}{hint}"
    return Lookup(
        spelling,
        None,
        verdict,
        acc,
        rej,
        option,
        None if verdict == "all" else (sugg[0] if sugg else None),
        results,
        msg,
    )


def _last_before(spelling: str, release: str) -> str:
    """`; the last release that does is X` when a known release before `release` accepts `spelling`, else ''."""
    earlier = [rel for rel in _vocab().order if _vkey(rel) < _vkey(release)]
    last = [rel for rel in earlier if _resolve(spelling, rel, with_suggestion=False).ok]
    return f"; the last release that does is {last[-1]}" if last else ""


# ----------------------------------------------------------------------------------------------------------------
# Values


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _human_int(value: str, rules: ParserRules) -> int:
    v = value.strip()
    suffixes = "".join(rules.human_int_multipliers)
    m = re.fullmatch(rf"(\d+(?:\.\d+)?)([{re.escape(suffixes)}])", v) if suffixes else None
    if m:
        number, suffix = m.groups()
        mult = rules.human_int_multipliers[suffix]
        if "." in number and not rules.human_int_decimal_allowed.get(suffix, False):
            raise ValueError(f"decimals are not allowed with the binary suffix {suffix}")
        return int(float(number) * mult) if "." in number else int(number) * mult
    return int(v)


_HUMAN_IN_JSON = re.compile(r"\b\d+(?:\.\d+)?[kKmMgGtT]\b")


def _convert(spec: OptionSpec, kind: str | None, value: str, rules: ParserRules) -> tuple[object, str | None]:
    """(converted value, None) or (None, why vLLM refuses it)."""
    if spec.optional_value and value in ("", "None"):
        return None, None
    try:
        if kind == "int":
            return int(value), None
        if kind == "float":
            return float(value), None
        if kind == "human_int":
            return _human_int(value, rules), None
        if kind == "human_int_or_auto":
            if value.strip() in rules.auto_spellings or (
                value.strip().lower() == "auto" and {"auto", "AUTO"} <= set(rules.auto_spellings)
            ):
                return -1, None
            return _human_int(value, rules), None
        if kind == "json_or_str":
            if re.match(r"(?s)^\s*{.*}\s*$", value):
                return json.loads(value), None
            return value, None
        if kind == "json":
            if value in spec.json_bare_values:
                return value, None
            text = value
            if spec.json_human_numbers:
                parts = re.split(r'("(?:[^"\\]|\\.)*")', text)
                for i in range(0, len(parts), 2):
                    parts[i] = _HUMAN_IN_JSON.sub(lambda m: str(_human_int(m.group(), rules)), parts[i])
                text = "".join(parts)
            return json.loads(text), None
    except (ValueError, TypeError) as e:
        return None, str(e).splitlines()[0]
    return value, None


def _kind_words(spec: OptionSpec, rules: ParserRules) -> str:
    k = spec.value_kind if spec.kind == "choice" else spec.kind
    words = {
        "int": "an integer",
        "float": "a number",
        "human_int": "an integer, optionally with a suffix ("
        + ", ".join(f"{s}={m}" for s, m in rules.human_int_multipliers.items())
        + ")",
        "human_int_or_auto": "an integer with an optional k/K-style suffix, or -1/auto",
        "json": "JSON" + (f" (or {'/'.join(spec.json_bare_values)})" if spec.json_bare_values else ""),
        "json_or_str": "a JSON object or a string",
        "str": "a string",
    }.get(k or "", k or "a value")
    return words


def _check_one(spec: OptionSpec, res: Resolution, value: str, rules: ParserRules) -> str | None:
    rel = spec.release
    flag = res.spelling if res.form != "prefix" else f"{res.spelling} ({spec.option})"
    if res.json_path:
        # vLLM: json.loads(value), else human_readable_int(value), else the string itself.
        try:
            parsed: object = json.loads(value)
        except ValueError:
            try:
                parsed = _human_int(value, rules)
            except ValueError:
                parsed = value
        rng = spec.json_field_ranges.get(res.json_path[0]) if len(res.json_path) == 1 else None
        numeric = isinstance(parsed, (int, float)) and not isinstance(parsed, bool)
        if rng is not None and numeric and not rng.contains(float(cast(float, parsed))):
            return (
                f"{flag} {value}: vLLM {rel} accepts {res.json_path[0]} in {rng.describe()} "
                f"(enforced at {rng.enforced} time by {rng.where})"
            )
        return None
    kind = spec.value_kind if spec.kind == "choice" else spec.kind
    converted, err = _convert(spec, kind, value, rules)
    if err is not None:
        return f"{flag} {value!r}: vLLM {rel} expects {_kind_words(spec, rules)} ({err})"
    if spec.choices is not None and spec.kind == "choice" and converted not in spec.choices:
        shown = ", ".join(str(c) for c in spec.choices if c is not None)
        return f"{flag} {value!r}: vLLM {rel} accepts one of {shown}"
    exempt = value in spec.json_bare_values or (spec.optional_value and value in ("", "None"))
    if kind == "json" and spec.json_fields is not None and not exempt and not isinstance(converted, dict):
        return f"{flag} {value!r}: vLLM {rel} expects a JSON object (keys of {spec.option})"
    if isinstance(converted, dict) and spec.json_fields is not None and spec.json_extra_forbidden:
        unknown = sorted(k for k in converted if k not in spec.json_fields)
        if unknown:
            when = "while parsing" if spec.json_unknown_key_at_parse == "rejected" else "at config time"
            close = [c for k in unknown for c in _close(k, spec.json_fields)]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            return f"{flag}: vLLM {rel} rejects the key(s) {', '.join(map(repr, unknown))} {when}{hint}"
    if isinstance(converted, dict):
        # Nested keys only where vLLM validates the object while parsing (--compilation-config from 0.13): where it
        # validates later, whether a nested object is built from the user's keys is not recorded.
        nested_checked = spec.json_nested_forbidden if spec.json_unknown_key_at_parse == "rejected" else {}
        for key, nested in converted.items():
            allowed = nested_checked.get(key)
            if allowed is not None and isinstance(nested, dict) and (extra := sorted(set(nested) - set(allowed))):
                close = [c for k in extra for c in _close(k, allowed)]
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                return f"{flag}: vLLM {rel} rejects the key(s) {', '.join(map(repr, extra))} inside {key}{hint}"
        for key, rng in spec.json_field_ranges.items():
            x = converted.get(key, _MISSING)
            if isinstance(x, (int, float)) and not isinstance(x, bool) and not rng.contains(float(x)):
                return f"{flag}: vLLM {rel} accepts {key} in {rng.describe()}, not {x} ({rng.where})"
    numeric = isinstance(converted, (int, float)) and not isinstance(converted, bool)
    auto = kind == "human_int_or_auto" and converted == -1
    if spec.range is not None and numeric and not auto and not spec.range.contains(float(cast(float, converted))):
        return (
            f"{flag} {value}: vLLM {rel} accepts {_kind_words(spec, rules)} in {spec.range.describe()} "
            f"(enforced at {spec.range.enforced} time by {spec.range.where})"
        )
    return None


def _check_release(spelling: str, value: str | Sequence[str] | None, rel: str) -> str | None:
    """None if `rel` accepts spelling+value, else why not."""
    return _release_verdict(spelling, value if value is None or isinstance(value, str) else tuple(value), rel)


@lru_cache(maxsize=8192)
def _release_verdict(spelling: str, value: str | tuple[str, ...] | None, rel: str) -> str | None:
    res = _resolve(spelling, rel)
    if not res.ok or res.option is None:
        return res.message
    rules = parser_rules(rel)
    spec = option_spec(res.option, rel)
    if spec is None:
        return res.message
    values: list[str]
    if res.inline_value is not None:
        if value is not None:
            return f"{spelling} already carries the value {res.inline_value!r}; a second one ({value!r}) is left over"
        values = [res.inline_value]
    elif value is None:
        values = []
    elif isinstance(value, str):
        values = [value]
    else:
        values = list(value)
    if res.json_path:
        if len(values) != 1:
            return f"{spelling} needs exactly one value in vLLM {rel}"
        return _check_one(spec, res, values[0], rules)
    if not spec.takes_value:
        if values:
            what = f"; {spec.no_forms[0]} turns it off" if spec.no_forms and not res.negated else ""
            return f"{spelling} is a flag in vLLM {rel} and takes no value (got {values[0]!r}){what}"
        return None
    nargs = spec.nargs
    if not values:
        if nargs in ("?", "*"):
            return None
        return f"{spelling} needs a value in vLLM {rel} ({_kind_words(spec, rules)})"
    if len(values) > 1 and nargs not in ("+", "*") and not isinstance(nargs, int):
        return f"{spelling} takes one value in vLLM {rel}, got {len(values)}"
    if isinstance(nargs, int) and len(values) != nargs:
        return f"{spelling} takes {nargs} values in vLLM {rel}, got {len(values)}"
    for v in values:
        problem = _check_one(spec, res, v, rules)
        if problem is not None:
            return problem
    return None


def check_value(
    spelling: str, value: str | Sequence[str] | None, release: str | None = None, among: Sequence[str] | None = None
) -> ValueCheck:
    """Whether vLLM accepts `spelling value` (value None: the spelling alone, e.g. a flag; a sequence: several
    values for an nargs='+' option). With `release`, for that release; with None, for every known release that
    has the option (verdict "all", "some", "none")."""
    shown: str | tuple[str, ...] | None = value if value is None or isinstance(value, str) else tuple(value)
    if release is not None:
        rels: tuple[str, ...] = (resolve_release_or_raise(release),)
    else:
        having = lookup(spelling, among=among).accepted_by
        rels = having or tuple(among or _vocab().order)
    problems: list[str] = []
    acc: list[str] = []
    rej: list[str] = []
    for rel in rels:
        p = _check_release(spelling, value, rel)
        if p is None:
            acc.append(rel)
        else:
            rej.append(rel)
            problems.append(p)
    verdict = _summarize(acc, rej)
    val = "" if shown is None else " " + (shown if isinstance(shown, str) else " ".join(shown))
    if verdict == "all":
        msg = f"vLLM {_ranges(acc)} accepts {spelling}{val}"
    elif verdict == "some":
        msg = f"vLLM {_ranges(acc)} accepts {spelling}{val}; {_ranges(rej)} does not: {problems[-1]}"
    else:
        msg = problems[-1] if len(set(problems)) == 1 or release is not None else f"{problems[-1]} (and others)"
    return ValueCheck(spelling, shown, release and rels[0], verdict, tuple(acc), tuple(rej), tuple(problems), msg)


def exact_option(spelling: str, release: str | None = None) -> str | None:
    """The option an exact spelling (`--max-num-seqs`, `-tp`, `--no-enable-lora`) names in `release` (None: in any
    known release, the newest description), with no abbreviation or rewriting; None if it has no such spelling.
    For reading back parsed option names, and for vLLM's `--config` file, which looks spellings up exactly."""
    if release is not None:
        hit = _vocab().release_index(resolve_release_or_raise(release))[0].get(spelling)
        return hit[0].option if hit else None
    variants = _vocab().by_spelling.get(spelling)
    return variants[-1].option if variants else None


def _nested_forbidden(nested: object) -> dict[str, tuple[str, ...]]:
    """`json_nested` of the generated data: each nested config object whose class forbids extra keys."""
    if not isinstance(nested, dict):
        return {}
    found = {}
    for key, about in nested.items():
        if isinstance(about, dict) and about.get("json_extra_forbidden") and isinstance(about.get("json_fields"), list):
            found[str(key)] = tuple(str(field) for field in about["json_fields"])
    return found
