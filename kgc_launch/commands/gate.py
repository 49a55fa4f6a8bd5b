"""`kgc-launch gate closure --model ID`: is a champion closed (registered AND a next_lever recorded)?

Exit 0 closed, 1 open (the output names the missing half), 3 a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os

from kgc_launch.commands._registry_args import add_json_option, add_registry_option, open_registry, print_json
from kgc_launch.commands._settings import origin_of
from kgc_launch.errors import EXIT_OK, EXIT_VERDICT_NO
from kgc_launch.knowngood.closure import check_closure
from kgc_launch.knowngood.locate import find_value_findings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    closure = verbs.add_parser("closure", help="closed = registered here AND a next_lever in value-findings.yaml")
    closure.add_argument("--model", required=True, metavar="ID")
    closure.add_argument(
        "--value-findings", metavar="PATH", help="default: next to the registry, else configs/ etc. up from here"
    )
    add_registry_option(closure)
    add_json_option(closure)


def run(args: argparse.Namespace) -> int:
    location, registry = open_registry(args.registry, origin_of(args, "registry"))
    findings = find_value_findings(args.value_findings, location.path, os.getcwd())
    result = check_closure(registry, args.model, findings)
    if args.json:
        print_json(result.to_json())
    else:
        print(f"registry: {location.describe()}")
        print(f"value findings: {findings if findings is not None else '(none found)'}")
        if result.closed:
            lever = result.next_lever if isinstance(result.next_lever, str) else json.dumps(result.next_lever)
            print(f"CLOSED: {args.model} is registered and its next_lever is: {lever}")
        else:
            print(f"OPEN: {args.model}")
            for missing in result.missing:
                print(f"  missing {missing}")
    return EXIT_OK if result.closed else EXIT_VERDICT_NO
