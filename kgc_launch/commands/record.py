"""`kgc-launch record`: append a new model's known-good entry (append-only, comment-preserving).

Exit 0 recorded, 2 the command line or the entry is wrong (an existing model or alias included: those are
edited by hand), 3 the registry cannot be read or appended to. Nothing is written unless all is valid.
The registry shipped with kgc-launch (`registry/` in a checkout or an editable install, `_registry/` once
installed) is written only when `--registry` names it on the command line: a registry found by walking up
from a checkout, or named by a variable, is the package's own data, not the user's.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from kgc_launch.commands._registry_args import add_json_option, add_registry_option, locate, print_json
from kgc_launch.commands._settings import from_command_line, origin_of
from kgc_launch.data import shipped_data_dir
from kgc_launch.errors import EXIT_OK, UsageError
from kgc_launch.knowngood.record import (
    entry_data,
    flag_from_json,
    new_entry,
    record_entry,
    required_flag_from_pipe,
)

EPILOG = """\
required: --model, --grind-frontier, and at least one --required-flag or --required-flag-json.

A required flag's value starts with '-', so attach it with '=' (a flag that takes no value, like
--enforce-eager, is given this way too):
  --required-flag=--enforce-eager
  --required-flag='--max-num-seqs 512||boot-blocker|Mamba cache too small|one H100|recipes#551'
  --required-flag-json='{"flag": "--disable-custom-all-reduce", "severity": "deploy-correctness"}'

e.g. kgc-launch record --model Org/New-27B --hardware 1xH100 --required-flag=--enforce-eager \\
         --grind-frontier 'value-findings.yaml -> Org/New-27B next_lever'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "--model", required=True, metavar="ID", help="(required) the HF id / served model name (the key)"
    )
    parser.add_argument("--slug")
    parser.add_argument("--arch", help="architecture note")
    parser.add_argument(
        "--hardware",
        metavar="TEXT",
        help="the hardware it was established on, as text for the entry, e.g. 8xB200 (not read from KGC_HARDWARE)",
    )
    parser.add_argument("--engine", default="vllm", choices=("vllm", "ferrum"))
    parser.add_argument(
        "--required-flag",
        action="append",
        default=[],
        metavar="FLAG|MATCH|SEVERITY|WHY|AFFECTED|EVIDENCE",
        help="(at least one of this or --required-flag-json) a required flag; trailing fields may be left out, "
        "empty ones take the default; \\| is a literal |. Attach it with '=': --required-flag=--enforce-eager",
    )
    parser.add_argument(
        "--required-flag-json",
        action="append",
        default=[],
        metavar="JSON",
        help='a required flag as a JSON object, extensions included: {"flag": ..., "equivalents": [...], '
        '"applies_when": {"engine_version": ">=0.22"}}',
    )
    parser.add_argument("--champion-config-ref", metavar="PATH")
    parser.add_argument("--champion-verdict", metavar="'DRAFT <n>'|'VERDICT <n>'")
    parser.add_argument("--champion-campaign", metavar="ID")
    parser.add_argument("--fallback")
    parser.add_argument(
        "--grind-frontier",
        required=True,
        metavar="TEXT",
        help="(required) cross-ref into value-findings.yaml next_lever",
    )
    parser.add_argument("--notes")
    parser.add_argument("--aliases", nargs="+", default=[], metavar="ID", help="other ids of the same model")
    add_registry_option(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    flags = [required_flag_from_pipe(text) for text in args.required_flag]
    flags += [flag_from_json(text) for text in args.required_flag_json]
    if not flags:
        raise UsageError("record needs at least one --required-flag (or --required-flag-json)")
    champion = {
        "config_ref": args.champion_config_ref,
        "verdict": args.champion_verdict,
        "campaign": args.champion_campaign,
    }
    entry = new_entry(
        {
            "model": args.model,
            "slug": args.slug,
            "arch": args.arch,
            "hardware": args.hardware,
            "engine": args.engine,
            "aliases": args.aliases,
            "required_flags": flags,
            "champion": champion if any(value is not None for value in champion.values()) else None,
            "fallback": args.fallback,
            "grind_frontier": args.grind_frontier,
            "notes": args.notes,
        }
    )
    location = locate(args.registry, origin_of(args, "registry"))
    _refuse_the_shipped_registry(location.path, named=from_command_line(args, "registry"))
    result = record_entry(location.path, entry)
    if args.json:
        print_json(
            {
                "tool": "kgc-launch",
                "verb": "record",
                "registry": str(result.path),
                "model": entry.model,
                "engine": entry.engine,
                "created": result.created,
                "entry": entry_data(entry),
            }
        )
    else:
        count = len(entry.required_flags)
        created = " (new file)" if result.created else ""
        print(f"recorded {entry.model} ({entry.engine}, {count} required flag{'s' if count != 1 else ''})")
        print(f"registry: {location.describe()}{created}")
        print(
            f"next: record its next_lever in value-findings.yaml, then "
            f"'kgc-launch gate closure --model {shlex.quote(entry.model)}'"
        )
    return EXIT_OK


def _refuse_the_shipped_registry(path: Path, *, named: bool) -> None:
    """The package's own registry is written only when `--registry` names it (a maintainer, on purpose)."""
    if named or not _is_shipped(path):
        return
    raise UsageError(
        f"{path} is the registry shipped with kgc-launch: record does not write into the package's own data",
        hint="pass --registry PATH (or set $KNOWN_GOOD_CONFIG_REGISTRY) to your own registry; to edit the shipped "
        "one on purpose, name it with --registry",
    )


def _is_shipped(path: Path) -> bool:
    package = Path(__file__).resolve().parent.parent
    shipped = {shipped_data_dir().resolve(), package / "_registry"}
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return any(resolved == directory or directory in resolved.parents for directory in shipped)
