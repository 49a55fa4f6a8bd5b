"""`kgc-launch fit MODEL [--hardware NAME|FILE] [...]`: will vLLM start with this model on these GPUs?

Prints the per-GPU memory plan term by term (budget, weights, activation peak, non-torch memory, CUDA
graphs, KV cache), the KV capacity in tokens and the concurrency at max_model_len. Exit 0 when it fits,
1 when vLLM would refuse (with its reason and the largest max_model_len that fits), 3 when an input cannot
be read (model unknown or unreadable, hardware file malformed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from kgc_launch.errors import EXIT_OK, EXIT_VERDICT_NO, InputError, UsageError
from kgc_launch.units import GIB

if TYPE_CHECKING:
    from kgc_launch.findings import Finding
    from kgc_launch.hardware.inventory import Device, Inventory
    from kgc_launch.model.facts import MemoryPlan, ModelFacts

KV_CACHE_DTYPES = ("auto", "bfloat16", "float16", "fp8", "fp8_e4m3", "fp8_e5m2")


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="directory, .gguf file, or Hub repo id (ORG/NAME)")
    parser.add_argument(
        "--hardware",
        metavar="NAME|NxNAME|FILE",
        help="GPUs to plan for: a preset (H100, 2xH100, 8xA100-80GB) or a 'kgc-launch probe --save' file; "
        "default: the GPUs this machine's engine would see (probed)",
    )
    parser.add_argument("--revision", metavar="R", help="branch, tag or commit (main), as vLLM's --revision")
    parser.add_argument(
        "--hf-config-path", metavar="P", help="read config.json from here instead (as vLLM's --hf-config-path)"
    )
    parser.add_argument("--tensor-parallel-size", "-tp", type=_at_least_one, default=1, metavar="N")
    parser.add_argument("--pipeline-parallel-size", "-pp", type=_at_least_one, default=1, metavar="N")
    # Judged by vLLM's parser rules (`vllm_problems`), as a launch is: the same refusal, in the same words.
    parser.add_argument("--max-model-len", type=_at_least_one, metavar="L", help="default: max_position_embeddings")
    parser.add_argument("--gpu-memory-utilization", metavar="F", help="default: vLLM's for --vllm-version")
    parser.add_argument("--kv-cache-dtype", choices=KV_CACHE_DTYPES, default="auto", metavar="D")
    parser.add_argument("--max-num-seqs", type=_at_least_one, metavar="S", help="default: vLLM's for the GPU")
    parser.add_argument("--max-num-batched-tokens", type=_at_least_one, metavar="T")
    parser.add_argument(
        "--vllm-version",
        metavar="V",
        help="plan with this vLLM release's memory accounting (default: the newest modelled, >= 0.21)",
    )
    parser.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs (as vLLM's flag)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from kgc_launch.commands._settings import described, origin_of
    from kgc_launch.hardware.select import select_hardware
    from kgc_launch.model.metadata import read_model

    _check_version(args.vllm_version)
    problems = vllm_problems(args)
    from kgc_launch.findings import finding_text

    for finding in problems:
        text = finding_text(finding, tag=finding.source, fix_indent="  ")
        print(f"kgc-launch fit: {finding.severity}: {text}", file=sys.stderr)
    if any(finding.severity == "refuse" for finding in problems):
        return EXIT_VERDICT_NO
    inventory = select_hardware(args.hardware, os.environ, use_cuda_driver=False)
    spec = args.hardware or "(probed)"
    devices = _devices(inventory, args.tensor_parallel_size * args.pipeline_parallel_size, spec)
    facts = read_model(
        args.model, revision=args.revision, environ=os.environ, hub=True, hf_config_path=args.hf_config_path
    )
    if facts.source == "unknown":
        raise InputError(
            f"cannot plan for {args.model}: the model is unknown",
            hint=facts.notes[0] if facts.notes else None,
        )
    plan = _plan(facts, inventory, devices, args)
    if args.json:
        document = _document(facts, inventory, devices, plan)
        document["hardware"] = {"given": args.hardware, "from": origin_of(args, "hardware"), **document["hardware"]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        given = described(args, "hardware") if args.hardware else "this machine's GPUs (probed; no --hardware)"
        print(_table(facts, devices, plan, given))
    return EXIT_OK if plan.fits else EXIT_VERDICT_NO


def vllm_problems(args: argparse.Namespace) -> list[Finding]:
    """What vLLM's parser would reject in fit's vLLM flags: the same findings, and words, as a launch gets."""
    from kgc_launch.vllm.args import parse_serve_args

    tokens = [args.model, "--kv-cache-dtype", args.kv_cache_dtype]
    for flag in _PLAN_FLAGS:
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is not None:
            tokens += [flag, str(value)]
    return parse_serve_args(tokens, version=args.vllm_version).problems


def _check_version(version: str | None) -> None:
    from kgc_launch.vllm.profiles import parse_version

    if version is not None and parse_version(version) is None:
        raise UsageError(f"--vllm-version: not a version: {version!r}", hint="for example 0.19.0")


def _devices(inventory: Inventory, needed: int, spec: str) -> list[Device]:
    visible = list(inventory.visible)
    if needed > len(visible):
        raise UsageError(
            f"--tensor-parallel-size x --pipeline-parallel-size is {needed}, but --hardware {spec} has "
            f"{len(visible)} visible GPU(s)",
            hint=f"use enough GPUs, e.g. --hardware {needed}xH100, or lower the parallel sizes",
        )
    chosen = visible[:needed]
    if any(device.memory_total_bytes is None for device in chosen):
        raise InputError(
            "the memory of a GPU is unknown, so the plan cannot be made",
            path=inventory.source_detail or None,
            hint="re-probe with 'kgc-launch probe --save FILE' or use a preset",
        )
    return chosen


def _plan(facts: ModelFacts, inventory: Inventory, devices: list[Device], args: argparse.Namespace) -> MemoryPlan:
    """The memory plan the vLLM resolver makes for these values: the same defaults as a launch."""
    from kgc_launch.vllm.args import parse_serve_args
    from kgc_launch.vllm.resolve import resolve_vllm

    if args.max_model_len is None and not facts.max_position_embeddings:
        raise UsageError(
            "--max-model-len is needed: the model's config gives no max_position_embeddings",
            hint="pass --max-model-len L",
        )
    tokens = [facts.model_id or args.model, "--kv-cache-dtype", args.kv_cache_dtype]
    for flag in _PLAN_FLAGS:
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is not None:
            tokens += [flag, str(value)]
    if args.enforce_eager:
        tokens.append("--enforce-eager")
    if inventory.nodes:  # a cluster saved by 'probe --ray': planned as a Ray launch places it
        tokens += ["--distributed-executor-backend", "ray"]
    resolution = resolve_vllm(
        parse_serve_args(tokens),
        inventory if inventory.nodes else replace(inventory, visible=devices),
        facts,
        environ={},
        engine_version=args.vllm_version,
    )
    if resolution.memory_plan is None:
        reasons = "; ".join(problem.message for problem in resolution.refusals) or "the inputs are incomplete"
        raise InputError(f"cannot plan for {args.model}: {reasons}")
    return resolution.memory_plan


_PLAN_FLAGS = (
    "--tensor-parallel-size",
    "--pipeline-parallel-size",
    "--max-model-len",
    "--gpu-memory-utilization",
    "--max-num-seqs",
    "--max-num-batched-tokens",
)


def _document(
    facts: ModelFacts, inventory: Inventory, devices: list[Device], plan: MemoryPlan
) -> dict[str, dict[str, object]]:
    return {
        "model": {
            "id": facts.model_id,
            "source": facts.source,
            "source_detail": facts.source_detail,
            "weight_bytes": facts.weight_bytes,
            "weight_bytes_source": facts.weight_bytes_source,
        },
        "hardware": {
            "source": inventory.source,
            "source_detail": inventory.source_detail,
            "devices": [{"name": d.name, "memory_total_bytes": d.memory_total_bytes} for d in devices],
        },
        "plan": _plain(plan),
    }


def _table(facts: ModelFacts, devices: list[Device], plan: MemoryPlan, hardware: str) -> str:
    device = devices[0]
    lines = [
        f"Will it fit? {facts.model_id or facts.source_detail} on {len(devices)} x {device.name} "
        f"({(device.memory_total_bytes or 0) / GIB:.2f} GiB each)",
        f"hardware: {hardware}",
        f"vLLM accounting: {plan.vllm_profile} | TP {plan.tensor_parallel_size}, PP "
        f"{plan.pipeline_parallel_size} | max_model_len {plan.max_model_len:,} | kv cache "
        f"{plan.kv_cache_dtype} | max_num_seqs {plan.max_num_seqs:,}, max_num_batched_tokens "
        f"{plan.max_num_batched_tokens:,}",
        "",
        "per GPU                    GiB",
    ]
    for index, term in enumerate(plan.terms):
        label = term.name if index == 0 else f"- {term.name}"
        lines.append(f"  {label:<20} {term.bytes / GIB:>8.2f}   {term.note}")
    lines.append(f"  {'= KV cache':<20} {plan.kv_cache_bytes / GIB:>8.2f}")
    lines.append("")
    lines.append(
        f"KV cache: {plan.kv_capacity_tokens:,} tokens ({plan.kv_bytes_per_token / 1024:,.1f} KiB per token "
        f"per GPU); one {plan.max_model_len:,}-token request needs {plan.kv_bytes_per_request / GIB:.2f} GiB"
    )
    lines.append(f"max concurrency at {plan.max_model_len:,} tokens: {plan.max_concurrency:.2f}x")
    for note in [*plan.notes, *facts.notes]:
        lines.append(f"note: {note}")
    lines.append("")
    if plan.fits:
        lines.append("fits: vLLM should start with this configuration.")
    else:
        lines.append(f"does NOT fit: {plan.reason}")
        if plan.largest_fitting_max_model_len:
            lines.append(f"  largest max_model_len that fits: {plan.largest_fitting_max_model_len:,}")
    return "\n".join(lines)


def _plain(plan: MemoryPlan) -> dict[str, object]:
    from kgc_launch.records import to_plain

    plain: dict[str, object] = to_plain(plan)
    return plain
