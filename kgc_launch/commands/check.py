"""`kgc-launch check`: are a launch's serve arguments (or every launch in deploy files) complete per the registry?

    kgc-launch check --model ID --serve-args "ARGS" [--engine vllm|ferrum] [--json]
    kgc-launch check --deploy-file PATH... [--model ID] [--hardware NAME|FILE] [--format FMT] [FILE...]
        [--model-map PATH=ORG/NAME] [--require-evaluated] [--no-launch-ok]     (PATH `-`: a YAML stream on stdin)

Exit 0 pass, 1 a required flag is missing or the engine would refuse the launch (or the model is
unregistered with --require-registered), 3 an input cannot be evaluated (an unreadable deploy file, a
launch whose model or environment is not known, a PATH without launches unless --no-launch-ok). The text
output ends with the paste-ready line of everything missing. File names after the options are deploy
files too, so pre-commit's `entry: kgc-launch check --deploy-file` + `args` + file names works.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import TYPE_CHECKING, cast

from kgc_launch.commands._registry_args import (
    add_layer_option,
    add_registry_option,
    add_scope_options,
    describe_layers,
    engine_version,
    hardware_scope,
    open_registry,
    print_json,
)
from kgc_launch.commands._settings import described, from_command_line, origin_of
from kgc_launch.errors import EXIT_OK, EXIT_VERDICT_NO, InputError, UsageError
from kgc_launch.knowngood.report import render_check
from kgc_launch.vllm.args import config_file_tokens, parse_serve_args

if TYPE_CHECKING:
    from kgc_launch.deploy.report import Format
    from kgc_launch.findings import Finding
    from kgc_launch.knowngood.check import CheckReport

FORMATS = ("text", "json", "sarif", "github")
_DEPLOY_ONLY = "only with --deploy-file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="ID",
        help="the model id the registry knows it by (required with --serve-args; with --deploy-file it "
        "overrides the model each launch names)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--serve-args", metavar="ARGS", help="the serve arguments as one shell-quoted string")
    source.add_argument(
        "--deploy-file",
        nargs="*",
        metavar="PATH",
        help="deploy files, directories (recursive), globs, or - for a YAML stream on stdin (`helm template . | "
        "kgc-launch check --deploy-file -`): Kubernetes, KServe, LeaderWorkerSet, Ray, KubeAI, OpenShift "
        "templates, Helm values, compose, SkyPilot, Dockerfiles, shell scripts",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="FILE", help="more deploy files (after the options, as pre-commit passes them)"
    )
    parser.add_argument("--engine", choices=("vllm", "ferrum"), help="with --serve-args: the engine (default vllm)")
    add_scope_options(parser)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable of the launch (with --deploy-file: of every launch, e.g. a Secret's value)",
    )
    parser.add_argument(
        "--require-registered", action="store_true", help="an unregistered model fails (the grind-closure gate)"
    )
    add_registry_option(parser)
    add_layer_option(parser)
    parser.add_argument(
        "--format", choices=FORMATS, help="report format (default text; sarif and github " + _DEPLOY_ONLY + ")"
    )
    parser.add_argument("--json", action="store_true", help="print JSON: the short form of --format json")
    parser.add_argument(
        "--model-map",
        action="append",
        default=[],
        metavar="PATH=ORG/NAME",
        help="the model a path inside the container holds (`/models/llama=meta-llama/Llama-3.1-8B-Instruct`), "
        "for launches that serve a path; " + _DEPLOY_ONLY,
    )
    parser.add_argument(
        "--require-evaluated",
        action="store_true",
        help="exit 3 when a launch's hardware checks did not run (no --hardware, another accelerator, no GPU "
        "count, no model facts); " + _DEPLOY_ONLY,
    )
    parser.add_argument(
        "--no-launch-ok",
        action="store_true",
        help="a PATH without engine launches is a note, not an error, and a named file that never mentions an "
        "engine is skipped unparsed (for pre-commit, which passes every staged file); " + _DEPLOY_ONLY,
    )


def run(args: argparse.Namespace) -> int:
    fmt = _format(args)
    if args.deploy_file is not None:
        return _run_deploy_files(args, fmt)
    if args.paths:
        raise UsageError(f"FILE arguments are {_DEPLOY_ONLY}", hint="use --deploy-file PATH... for deploy files")
    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt} is {_DEPLOY_ONLY}", hint="--serve-args reports as text or JSON")
    for name, given in (
        ("--no-launch-ok", args.no_launch_ok),
        ("--model-map", args.model_map),
        ("--require-evaluated", args.require_evaluated),
    ):
        if given:
            raise UsageError(f"{name} is {_DEPLOY_ONLY}")
    if args.model is None:
        raise UsageError("--serve-args needs --model ID", hint="the model id the registry knows it by")
    return _run_serve_args(args, fmt == "json")


def _format(args: argparse.Namespace) -> Format:
    if args.json and args.format is not None and not from_command_line(args, "json"):
        args.json = False  # --format on the command line wins over KGC_JSON or the config file's json
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} disagree", hint="--json is --format json")
    return cast("Format", "json" if args.json else args.format or "text")


def _run_deploy_files(args: argparse.Namespace, fmt: Format) -> int:
    from kgc_launch.deploy.check import CheckSettings, DeployChecker
    from kgc_launch.deploy.report import format_report, report_exit_code
    from kgc_launch.deploy.scan import scan_paths
    from kgc_launch.hardware.select import hardware_from_spec

    paths = [*args.deploy_file, *args.paths]
    if not paths:
        raise UsageError("--deploy-file needs at least one PATH", hint="e.g. kgc-launch check --deploy-file k8s/")
    if args.engine is not None and from_command_line(args, "engine"):
        raise UsageError("--engine is only with --serve-args", hint="each launch's engine comes from its deploy file")
    location, registry = open_registry(args.registry, origin_of(args, "registry"), no_recipes=args.no_recipes)
    settings = CheckSettings(
        registry=registry,
        hardware=None if args.hardware is None else hardware_from_spec(args.hardware),
        engine_version=engine_version(args.engine_version),
        model=args.model,
        require_registered=args.require_registered,
        env=_env_pairs(args.env),
        environ=os.environ,
        model_map=_model_map(args.model_map),
    )
    scan = scan_paths(paths, parse_named_files=not args.no_launch_ok)
    checker = DeployChecker(settings)
    results = [checker.check(launch) for launch in scan.launches]
    about = {"registry": location.describe()}
    about |= {line.partition(": ")[0]: line.partition(": ")[2] for line in describe_layers(registry)}
    about["hardware"] = described(args, "hardware") if args.hardware else "not given (no resolver checks)"
    about["engine version"] = settings.engine_version or "not given (version-scoped requirements apply)"
    if args.require_registered:
        about["require registered"] = described(args, "require_registered", "yes")
    sys.stdout.write(format_report(results, fmt, scan=scan, empty_ok=args.no_launch_ok, about=about))
    return report_exit_code(results, scan, empty_ok=args.no_launch_ok, require_evaluated=args.require_evaluated)


def _run_serve_args(args: argparse.Namespace, as_json: bool) -> int:
    version = engine_version(args.engine_version)
    hardware = hardware_scope(args.hardware)
    env = _env_pairs(args.env)
    try:
        tokens = shlex.split(args.serve_args)
    except ValueError as error:
        raise UsageError(f"--serve-args cannot be split like a shell would: {error}") from None
    if tokens[:2] == ["vllm", "serve"]:
        tokens = tokens[2:]
    location, registry = open_registry(args.registry, origin_of(args, "registry"), no_recipes=args.no_recipes)
    from kgc_launch.knowngood.check import check_launch

    engine = args.engine or "vllm"
    if engine == "vllm":
        serve_args = parse_serve_args(tokens, read_config=lambda path: _read_config(path, version), version=version)
    else:
        serve_args = parse_serve_args(tokens, read_config=_read_config)
    report = check_launch(
        registry,
        model_ids=[args.model] + ([serve_args.model] if serve_args.model else []),
        serve_args=serve_args,
        env=env,
        engine=engine,
        engine_version=version,
        gpus=hardware.gpus,
        require_registered=args.require_registered,
        gpu_memory_bytes=hardware.memory_bytes,
    )
    engine_problems = serve_args.problems if engine == "vllm" else []
    _engine_verdict(report, engine_problems)
    if as_json:
        problems = [finding.to_json() for finding in engine_problems]
        print_json(
            {**report.to_json(), "engine_problems": problems, "layers_under_registry": describe_layers(registry)}
        )
    else:
        layers = describe_layers(registry)
        text = render_check(report, registry=location.describe(), layers=layers)
        if args.hardware is not None:  # under the registry's lines: the last line stays the paste-ready one
            lines = text.split("\n")
            lines.insert(1 + len(layers), f"hardware: {described(args, 'hardware')}")
            text = "\n".join(lines)
        print(_with_engine_problems(text, engine_problems))
    return EXIT_OK if report.passed else EXIT_VERDICT_NO


def _env_pairs(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            raise UsageError(f"--env {pair!r} is not NAME=VALUE")
        env[name] = value
    return env


def _model_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        path, eq, model = pair.partition("=")
        if not eq or not path or not model:
            raise UsageError(
                f"--model-map {pair!r} is not PATH=ORG/NAME", hint="e.g. --model-map /models/llama=ORG/NAME"
            )
        mapping[path] = model
    return mapping


def _engine_verdict(report: CheckReport, problems: list[Finding]) -> None:
    """What vLLM's own parser would reject fails the check as it refuses the launch (the same findings)."""
    refused = [finding for finding in problems if finding.severity == "refuse"]
    if not refused:
        return
    report.verdict = "fail"
    why = f"vLLM would refuse the arguments ({len(refused)} problem{'s' if len(refused) > 1 else ''})"
    report.reason = why if report.reason is None else f"{why}; {report.reason}"


def _with_engine_problems(text: str, problems: list[Finding]) -> str:
    """The engine's verdicts on the arguments, above the verdict line."""
    if not problems:
        return text
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("verdict:"))
    from kgc_launch.findings import finding_text

    shown = []
    for finding in problems:
        label = "REFUSED" if finding.severity == "refuse" else "WARN   "
        shown.append(f"{label}  [{finding.source}] {finding_text(finding, fix_indent=' ' * 11)}")
    return "\n".join(lines[:at] + shown + lines[at:])


def _read_config(path: str, version: str | None = None) -> list[str]:
    from kgc_launch.yamlio import load_yaml_documents

    documents = load_yaml_documents(path, what="--config file")
    if not documents:
        raise InputError("the --config file is empty", path=path)
    return config_file_tokens(documents[0], path=path, version=version)
