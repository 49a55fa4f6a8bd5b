"""How `vllm serve` reads its arguments (vLLM's FlexibleArgumentParser on argparse), for checking and launching.

The reader follows one vLLM release's parser, as the generated vocabulary (`kgc_launch.vllm.vocabulary`,
registry/vllm-options.json) records it, or, with the version unknown, every known release at once:
- `--model M` anywhere is moved to the positional slot; `--config FILE.yaml` is spliced in after the model
  (command-line flags win over the file);
- each option token is resolved as that release's argparse does: full names, short aliases (`-tp`, `-sc`),
  `--no-` forms, `_` for `-` up to the first `.`, `--k=v`, unambiguous prefixes (`--tensor-parallel 4`),
  `-O3` / `-O=3` / `-O 3`, a short alias with its value attached (`-qfp8`);
- the number of values an option takes comes from its argparse action (a flag takes none, `nargs='+'` takes
  all up to the next option), so a boolean never swallows the model;
- dotted forms (`--compilation-config.mode 3`, `-cc.pass_config.x=true`, `--x.list+ a,b`), where the release
  accepts them, are merged into one JSON object per flag and passed after everything else: they replace an
  earlier `--x '{...}'`;
- a repeated flag: the last one wins.

The parse is total: it never raises on odd input. What vLLM would reject (an unknown or ambiguous option, a
value of the wrong type, outside its choices or range, JSON that does not parse or holds a key the config class
forbids, a stray positional) is a `Finding` in `ServeArgs.problems` (origin `vllm-args`): a refusal when the
release rejects it (with the version unknown: when no known release accepts it), a warning when only some
releases accept it. The launch, `check`, the deploy check and `fit` all read these, so they give one answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from kgc_launch.errors import InputError
from kgc_launch.findings import Finding, Severity
from kgc_launch.serve_args import OptionValue, ServeArgs, human_readable_int, plain_name

ConfigReader = Callable[[str], list[str]]
"""Reads a `--config` YAML file into flag tokens (see `config_file_tokens`)."""

ORIGIN = "vllm-args"
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse's _negative_number_matcher
_HUMAN = ("human_int", "human_int_or_auto")
_PLACEHOLDER = re.compile(r"\$[({]")
_JSON = ("json", "json_or_str")
_RULES = {"unknown": "unknown-option", "ambiguous": "ambiguous-option", "invalid": "invalid-option"}


@lru_cache(maxsize=512)
def canonical_name(name: str) -> str:
    """`--Tensor_Parallel_Size` -> `tensor-parallel-size`; aliases such as `-tp` resolve too (any release)."""
    if name.startswith("-"):
        from kgc_launch.vllm import vocabulary

        head, dot, _ = name.partition(".")
        spelling = "--" + plain_name(head) if head.startswith("--") else head
        option = vocabulary.exact_option(spelling)
        if option is not None and not dot:
            return option[2:]
    return plain_name(name)


def parse_serve_args(
    tokens: Iterable[str],
    *,
    read_config: ConfigReader | None = None,
    version: str | None = None,
    among: Sequence[str] | None = None,
) -> ServeArgs:
    """Parse the arguments that follow `vllm serve` (or those of `python -m vllm...api_server`) as vLLM `version`
    reads them (None: as every known release does, or, with `among`, as each of those vocabulary releases does:
    a deploy file that pins `vllm>=0.13`). Never raises; what vLLM would reject is in `problems`."""
    reader = _Reader(version, among=tuple(among) if among and version is None else None)
    return reader.parse(list(tokens), read_config)


def release_for(version: str | None) -> str | None:
    """The vocabulary's release for an engine version; None when unknown (or not in the data)."""
    if version is None:
        return None
    from kgc_launch.vllm import vocabulary

    return vocabulary.resolve_release(version)


NOT_IN_NEWEST = "option-not-in-newest-release"
"""The rule of an option that older releases accept and the newest known one refuses (version not known)."""


@dataclass
class _Option:
    """One option token as the release (or, version unknown, the newest release accepting it) resolves it."""

    spelling: str
    option: str | None
    negated: bool
    inline: str | None
    kind: str
    nargs: str | int | None
    takes_value: bool
    verdict: str  # all / some / none
    status: str  # the vocabulary's: ok / unknown / ambiguous / invalid
    message: str
    suggestion: str | None
    no_forms: tuple[str, ...] = ()
    default: object = None
    choices: tuple[object, ...] | None = None
    newest_refuses: str | None = None
    """Version unknown and the option not in every release: the newest known release, when it refuses it."""


@dataclass
class _Reader:
    version: str | None
    release: str | None = None
    among: tuple[str, ...] | None = None
    """The vocabulary releases the arguments are judged against when the version is a range (None: all)."""
    args: ServeArgs = field(default_factory=ServeArgs)
    refused_dotted: set[str] = field(default_factory=set)
    human_ints: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.release = release_for(self.version)
        if self.among is not None and len(self.among) == 1:
            self.release, self.among = self.among[0], None
        self.args = ServeArgs(canonical=canonical_name)
        if self.version is not None and self.release is None:
            self.args.notes.append(
                f"vLLM {self.version} is not in the flag vocabulary: its arguments are checked against every "
                "known release (refused only where none accepts them)"
            )

    @property
    def where(self) -> str:
        if self.among:
            return f"every vLLM release of {self.among[0]}-{self.among[-1]}"
        return f"vLLM {self.release}" if self.release else "any known vLLM release"

    # -- findings ---------------------------------------------------------------------------------------------

    def problem(self, severity: Severity, rule: str, message: str, fix: str | None = None) -> None:
        finding = Finding(severity, message, fix=fix, origin=ORIGIN, rule_id=rule)
        if finding not in self.args.problems:
            self.args.problems.append(finding)

    def judge(self, verdict: str, rule: str, message: str, fix: str | None) -> None:
        if verdict == "none":
            self.problem("refuse", rule, message, fix)
        elif verdict == "some":
            self.problem("warn", rule, message, fix)

    # -- the pipeline -------------------------------------------------------------------------------------------

    def parse(self, tokens: list[str], read_config: ConfigReader | None) -> ServeArgs:
        args = self.args
        tokens = self.move_model_first(tokens)
        tokens = self.splice_config(tokens, read_config)
        tokens, dotted = self.split_dotted(tokens)
        self.read(tokens)
        for base, (value, spellings) in dotted.items():
            self.apply_dotted(base, value, spellings)
        model = args.options.pop("model", None)
        if isinstance(model, str) and args.model is None:
            args.model = model
        elif model is not None:
            args.notes.append("--model is given without a model name")
        args.human_int_options = frozenset(self.human_ints)
        return args

    def move_model_first(self, tokens: list[str]) -> list[str]:
        # vLLM: the first token matching ^--model(=.+|$) (not an abbreviation, not `--model_x`) is the model.
        for index, token in enumerate(tokens):
            if token == "--model":
                if index + 1 >= len(tokens):
                    self.problem("refuse", "missing-value", "--model is given without a model name", "--model MODEL")
                    return tokens[:index]
                self.args.model = tokens[index + 1]
                return tokens[:index] + tokens[index + 2 :]
            if token.startswith("--model="):
                self.args.model = token.removeprefix("--model=")
                return tokens[:index] + tokens[index + 1 :]
        return tokens

    def splice_config(self, tokens: list[str], read_config: ConfigReader | None) -> list[str]:
        args = self.args
        count = tokens.count("--config")
        if not count:
            return tokens
        if count > 1:
            self.problem("refuse", "config-file", "--config is given more than once; vLLM refuses that")
        index = tokens.index("--config")
        if index + 1 >= len(tokens):
            self.problem("refuse", "config-file", "--config is given without a file", "--config FILE.yaml")
            return tokens[:index]
        args.config_file = tokens[index + 1]
        rest = tokens[:index] + tokens[index + 2 :]
        if read_config is None:
            args.notes.append(f"--config {args.config_file}: the file was not read here")
            return rest
        config_tokens = read_config(args.config_file)
        args.from_config_file = _option_names(config_tokens) - _option_names(rest)
        if args.model is None and not (rest and not rest[0].startswith("-")):
            config_tokens = self.move_model_first(config_tokens)  # vLLM takes `model:` from the file
        else:  # a model on the command line wins over the file's
            config_tokens = _without_model(config_tokens)
        # The model stays first; the file's flags come next so that command-line flags override them.
        if args.model is None and rest and not rest[0].startswith("-"):
            return rest[:1] + config_tokens + rest[1:]
        return config_tokens + rest

    # -- dotted forms -----------------------------------------------------------------------------------------

    def dotted_ok(self) -> bool:
        from kgc_launch.vllm import vocabulary

        rels = [self.release] if self.release else list(self.among or vocabulary.known_releases())
        return any(vocabulary.parser_rules(r).dotted_json_keys for r in rels)

    def split_dotted(self, tokens: list[str]) -> tuple[list[str], dict[str, tuple[dict[str, Any], list[str]]]]:
        """vLLM's rewriting of `-X.key value` / `-X.key=value` forms into one JSON object per `-X` (as written,
        underscores to dashes), added after all other tokens."""
        if not self.dotted_ok():
            return tokens, {}
        kept: list[str] = []
        merged: dict[str, tuple[dict[str, Any], list[str]]] = {}
        index = 0
        while index < len(tokens):
            token = tokens[index]
            index += 1
            if token == "--":
                kept += tokens[index - 1 :]
                break
            name, eq, value = token.partition("=")
            if not (name.startswith("-") and "." in name) or _NEGATIVE_NUMBER.match(name):
                kept.append(token)
                continue
            if " " in name:
                # vLLM reads any `-...` token with a dot as a dotted option, spaces and all, and takes the next
                # token as its value: several flags written as one argument fail here.
                self.several_words(token)
                index += 0 if eq or index >= len(tokens) else 1
                continue
            if not eq:
                if index >= len(tokens):
                    self.problem("refuse", "missing-value", f"{token} needs a value", f"{token} VALUE")
                    continue
                value = tokens[index]
                index += 1
            if name.startswith("--"):
                head, dot, tail = name[2:].partition(".")
                name = "--" + head.replace("_", "-") + dot + tail
            base, _, rest = name.partition(".")
            parsed: Any
            if rest.endswith("+"):
                parsed, rest = value.split(","), rest[:-1]
            else:
                parsed = self.scalar(value)
            before = sum(p.severity == "refuse" for p in self.args.problems)
            self.check_token(f"{name}={value}", None)
            if sum(p.severity == "refuse" for p in self.args.problems) > before:
                self.refused_dotted.add(base)
            target, spellings = merged.setdefault(base, ({}, []))
            spellings.append(name)
            _merge(target, rest.split("."), parsed)
        return kept, merged

    def scalar(self, value: str) -> Any:
        try:
            return json.loads(value)
        except ValueError:
            pass
        try:
            return human_readable_int(value) if value.strip().lower() != "auto" else value
        except ValueError:
            return value

    def apply_dotted(self, base: str, value: dict[str, Any], spellings: list[str]) -> None:
        opt = self.resolve(base)
        name = opt.option[2:] if opt.option else plain_name(base)
        if opt.option is not None and opt.kind in _JSON and base not in self.refused_dotted:
            text = json.dumps(value)
            self.check_value(opt, base, text)
        previous = self.args.options.get(name)
        if isinstance(previous, dict):
            self.args.notes.append(f"--{name}: the dotted --{name}.KEY values replace the earlier JSON object")
        elif previous is not None:
            self.args.notes.append(f"--{name}: the dotted --{name}.KEY values replace the earlier --{name} value")
        self.args.options[name] = value

    # -- argparse ---------------------------------------------------------------------------------------------

    def resolve(self, token: str) -> _Option:
        """The option a token names (argparse's _parse_optional, with vLLM's rewriting), as the release reads it."""
        from kgc_launch.vllm import vocabulary

        found = vocabulary.lookup(token, self.release, among=self.among)
        accepted = [r for r in found.per_release if r.ok]
        res = accepted[-1] if accepted else found.per_release[-1]
        option = res.option if res.ok else None
        spec = vocabulary.option_spec(option, res.release) if option else None
        message = found.message if self.release is None else res.message
        newest = found.per_release[-1]
        if found.verdict == "none" and self.release is not None:
            message = message.replace(" has no option ", " has no ")
        return _Option(
            spelling=token,
            option=option,
            negated=res.negated,
            inline=res.inline_value,
            kind=spec.kind if spec else "unknown",
            nargs=spec.nargs if spec else None,
            takes_value=spec.takes_value if spec else True,
            verdict=found.verdict,
            status=res.status,
            message=message,
            suggestion=found.suggestion or res.suggestion,
            no_forms=spec.no_forms if spec else (),
            default=spec.default if spec else None,
            choices=spec.choices if spec else None,
            newest_refuses=newest.release if self.release is None and not self.among and not newest.ok else None,
        )

    def read(self, tokens: list[str]) -> None:
        args = self.args
        seen: set[str] = set()
        index = 0
        while index < len(tokens):
            token = tokens[index]
            index += 1
            if token == "--":
                for extra in tokens[index:]:
                    self.positional(extra)
                return
            if not _is_option(token):
                if token.startswith("-") and " " in token.partition("=")[0]:
                    self.several_words(token)  # argparse: a `-...` token with a space is a positional
                self.positional(token)
                continue
            if token == "-O" and self.o_is_only_a_rewrite(tokens[index : index + 1]):
                self.problem(
                    "refuse",
                    "invalid-value",
                    f"-O {' '.join(tokens[index : index + 1])}: {self.where} "
                    "reads -O only with a level 0-3 (unrecognized arguments)",
                    "-O3",
                )
                index += 1 if index < len(tokens) and not _is_option(tokens[index]) else 0
                continue
            opt = self.resolve(token)
            name = opt.option[2:] if opt.option else _unknown_name(token)
            value: OptionValue
            values: list[str] = []
            if opt.option is None:
                # vLLM fails on it ("unrecognized arguments"); read a following value as its value, as a user meant.
                fix = opt.suggestion and (opt.suggestion + (f"={opt.inline}" if opt.inline else ""))
                written = token
                if "=" in token:
                    value = _typed_unknown(token.partition("=")[2])
                elif name.startswith("no-") and name[3:] in seen | set(args.options):
                    name, value = name[3:], False
                elif index < len(tokens) and not _is_option(tokens[index]):
                    value = _typed_unknown(tokens[index])
                    written = f"{token} {tokens[index]}"
                    index += 1
                else:
                    value = True
                if not fix and "the last release that does is" in opt.message:  # removed: the fix is to drop it
                    fix = f"remove {written} (vLLM dropped it)"
                self.judge("none", _RULES.get(opt.status, "invalid-option"), opt.message, fix or None)
            else:
                if opt.verdict == "some":
                    self.not_in_every_release(opt)
                if not opt.takes_value:
                    value = not opt.negated
                    if opt.inline is not None:
                        literal = opt.inline.lower()
                        value = (literal != "false") if literal in ("true", "false") else value
                elif opt.inline is not None:
                    values = [opt.inline]
                elif opt.nargs in ("+", "*") or isinstance(opt.nargs, int):
                    limit = opt.nargs if isinstance(opt.nargs, int) else len(tokens)
                    while index < len(tokens) and not _is_option(tokens[index]) and len(values) < limit:
                        values.append(tokens[index])
                        index += 1
                elif index < len(tokens) and not _is_option(tokens[index]):
                    values = [tokens[index]]
                    index += 1
                if not opt.takes_value:
                    pass
                elif opt.nargs in ("+", "*") or isinstance(opt.nargs, int):
                    value = values
                elif values:
                    value = self.typed(opt, values[0])
                else:
                    value = True
                self.check_value(opt, token, None if opt.inline is not None or not opt.takes_value else values)
                if opt.kind in _HUMAN:
                    self.human_ints.add(name)
            if name in seen:
                args.notes.append(f"--{name} is given more than once: the last one wins")
            seen.add(name)
            args.options[name] = value

    def o_is_only_a_rewrite(self, following: list[str]) -> bool:
        """`-O X`: vLLM rewrites `-O 0..3` to its -O option; where `-O` is no argparse option of its own, any
        other value is left to argparse, which does not know `-O`."""
        from kgc_launch.vllm import vocabulary

        if following[:1] and following[0] in ("0", "1", "2", "3"):
            return False
        rels = [self.release] if self.release else list(self.among or vocabulary.known_releases())
        return all(vocabulary.exact_option("-O", rel) is None for rel in rels)

    def several_words(self, token: str) -> None:
        """One argument holding several words that start with an option (`- "--model m --port 8000"` in a YAML
        list, a quoted string): vLLM receives it as one argument, not as the options it spells."""
        self.problem(
            "refuse",
            "several-words-in-one-argument",
            f"{token!r} is one argument holding several words: {self.where} reads it as a single argument "
            "(not as the options it spells) and fails",
            f"one word per argument: {' '.join(token.split())} (separate list items, or a shell's `sh -c` string)",
        )

    def positional(self, token: str) -> None:
        if self.args.model is None:
            self.args.model = token
            return
        self.args.extra_positionals.append(token)
        self.problem(
            "refuse",
            "unexpected-argument",
            f"{token!r} is a second positional argument after the model {self.args.model!r}: {self.where} "
            "refuses it (unrecognized arguments)",
            None,
        )

    def typed(self, opt: _Option, value: str) -> OptionValue:
        if opt.kind in _JSON:
            parsed = _json_object(value)
            if parsed is not None:
                return parsed
        return value

    # -- values -----------------------------------------------------------------------------------------------

    def check_token(self, token: str, value: str | list[str] | None) -> None:
        opt = self.resolve(token.partition("=")[0] if "." in token.partition("=")[0] else token)
        if opt.option is None or opt.verdict == "none":
            self.judge("none", _RULES.get(opt.status, "invalid-option"), opt.message, opt.suggestion)
            return
        if opt.verdict == "some":
            self.not_in_every_release(opt)
        self.check_value(opt, token, value)

    def not_in_every_release(self, opt: _Option) -> None:
        """Accepted by some releases only. Where the version is not known and the newest release refuses the
        option, a rule of its own (`option-not-in-newest-release`): what vLLM installed today would do."""
        if opt.newest_refuses is None:
            self.problem("warn", "option-not-in-every-release", opt.message)
            return
        from kgc_launch.vllm import vocabulary

        spelling = opt.spelling.partition("=")[0]
        newest = vocabulary.lookup(spelling, opt.newest_refuses)
        # A suggestion is the fix only where the newest release spells the same option so (`--disable-X` for
        # `--no-enable-X`); a nearby name of another option is not.
        renamed = newest.suggestion and vocabulary.lookup(newest.suggestion, opt.newest_refuses).option == opt.option
        fix = newest.suggestion if renamed else f"remove {spelling}"
        self.problem("warn", NOT_IN_NEWEST, f"{opt.message}; the newest, {opt.newest_refuses}, refuses it", fix)

    def check_value(self, opt: _Option, token: str, value: str | list[str] | None) -> None:
        from kgc_launch.vllm import vocabulary

        if opt.takes_value and opt.inline is None and value == [] and opt.nargs not in ("*", "?"):
            what = f"{token} needs a value" + (" (the next token is an option)" if token else "")
            self.problem("refuse", "missing-value", f"{what}: {self.where} refuses it", f"{opt.option} VALUE")
            return
        texts = [token, *(value if isinstance(value, list) else [])]
        if any(_PLACEHOLDER.search(text) for text in texts):
            return  # `$(VAR)` / `${VAR}` that a deploy file does not resolve: its value is not known here
        checked = vocabulary.check_value(token, value, self.release, among=self.among)
        verdict = checked.verdict
        if verdict == "some" and opt.option is not None and _only_unrecorded_ranges_accept(opt.option, checked):
            verdict = "none"  # e.g. 0.8.0: its range was not recorded (its config classes cannot be probed)
        if verdict != "all":
            fix = self.fix_for(opt, checked.message, value if isinstance(value, list) else None)
            message = checked.message if verdict == checked.verdict else checked.problems[-1]
            self.judge(verdict, "invalid-value", message, fix)
            if verdict == "none":
                return
        raw = opt.inline if opt.inline is not None else (value[0] if isinstance(value, list) and value else None)
        if opt.kind == "json_or_str" and raw is not None and raw.strip().startswith("{"):
            try:
                json.loads(raw)
            except ValueError as error:
                self.problem(
                    "refuse",
                    "invalid-value",
                    f"{opt.option} {raw!r}: not JSON ({error}); {self.where} takes it as a plain string, and the "
                    "engine fails on it when it starts",
                    None,
                )

    def fix_for(self, opt: _Option, message: str, value: list[str] | None) -> str | None:
        """The corrected spelling or value for a rejected value, when there is one."""
        name = opt.option
        if name is None:
            return None
        if not opt.takes_value:
            literal = (opt.inline or "").lower()
            if literal in ("false", "0", "no") and opt.no_forms:
                return opt.no_forms[0]
            return name
        raw = opt.inline if opt.inline is not None else (value[0] if value else None)
        if raw is not None and opt.kind in ("int",):
            try:
                return f"{name} {human_readable_int(raw)}"
            except ValueError:
                pass
        if opt.choices:
            from kgc_launch.vllm.vocabulary import _close

            words = [str(c) for c in opt.choices if c is not None]
            close = _close(str(raw or ""), words) if raw else []
            return f"{name} {close[0]}" if close else f"{name} {{{','.join(words)}}}"
        if isinstance(opt.default, (int, float)) and not isinstance(opt.default, bool) and "accepts" in message:
            return f"{name} {opt.default}"
        return None


def _only_unrecorded_ranges_accept(option: str, checked: Any) -> bool:
    """Every release rejecting the value does so by a range, and every release accepting it has no range
    recorded for the option (the data could not probe it): not evidence that those releases accept it."""
    from kgc_launch.vllm import vocabulary

    if not all(" accepts " in p and " in " in p and "time by" in p for p in checked.problems):
        return False
    specs = [vocabulary.option_spec(option, release) for release in checked.accepted_by]
    return all(spec is not None and spec.range is None for spec in specs)


def _without_model(tokens: list[str]) -> list[str]:
    for index, token in enumerate(tokens):
        if token == "--model":
            return tokens[:index] + tokens[index + 2 :]
        if token.startswith("--model="):
            return tokens[:index] + tokens[index + 1 :]
    return tokens


def _unknown_name(token: str) -> str:
    return plain_name(token.partition("=")[0])


def _typed_unknown(value: str) -> OptionValue:
    parsed = _json_object(value)
    return parsed if parsed is not None else value


def _option_names(tokens: list[str]) -> set[str]:
    """Names the tokens set, dotted forms by their head (`--x.y 1` sets `x`)."""
    names = set()
    for token in tokens:
        if token.startswith("-") and token != "--" and not _NEGATIVE_NUMBER.match(token):
            name = canonical_name(token.partition("=")[0].partition(".")[0].rstrip("+"))
            if name.startswith("no-"):
                from kgc_launch.vllm import vocabulary

                base = vocabulary.exact_option("--" + token.partition("=")[0].lstrip("-"))
                name = base[2:] if base else name
            names.add(name)
    return names


def _merge(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    last = keys[-1] if keys else ""
    if isinstance(value, list) and isinstance(target.get(last), list):
        target[last] = target[last] + value
    else:
        target[last] = value


def _json_object(value: str) -> dict[str, Any] | None:
    stripped = value.strip()
    if not stripped.startswith("{"):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _is_option(token: str) -> bool:
    """argparse's test: a token starting with '-' is an option unless it is '-', a negative number or has a space."""
    head = token.partition("=")[0]  # argparse matches `--opt=value with spaces` before its space test
    return token.startswith("-") and token != "-" and not _NEGATIVE_NUMBER.match(token) and " " not in head


def config_file_tokens(document: Any, *, path: str, version: str | None = None) -> list[str]:
    """vLLM's `load_config_file`: a YAML mapping turned into flag tokens.

    A `false` boolean becomes `--no-KEY` only where the release's parser has that exact option string (a
    BooleanOptionalAction spelled as in the file); otherwise vLLM drops it and the option keeps its default (a
    store_true flag, or a key written with underscores). Version unknown: as the newest release having it."""
    if not isinstance(document, dict):
        raise InputError("a vLLM --config file must hold a mapping of flag names to values", path=path)
    tokens: list[str] = []
    for key, value in document.items():
        name = str(key)
        if isinstance(value, bool):
            if value:
                tokens.append(f"--{name}")
            elif _has_exact_spelling(f"--no-{name}", release_for(version)):
                tokens.append(f"--no-{name}")
        elif isinstance(value, list):
            if value:
                tokens.append(f"--{name}")
                tokens += [str(item) for item in value]
        elif isinstance(value, dict):
            tokens += [f"--{name}", _json_value(value, name, path)]
        else:
            tokens += [f"--{name}", str(value)]
    return tokens


def _has_exact_spelling(spelling: str, release: str | None) -> bool:
    from kgc_launch.vllm import vocabulary

    return vocabulary.exact_option(spelling, release) is not None


def _json_value(value: dict[Any, Any], name: str, path: str) -> str:
    # vLLM hands a mapping to its flag as JSON: a YAML date or !!binary inside one cannot be written as JSON.
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as error:
        raise InputError(f"this mapping cannot be passed as JSON to --{name}: {error}", path=path, field=name) from None
