"""Every `vllm serve` command of a recipes checkout's guides, checked against a recipes layer.

    .venv/bin/python scripts/check_recipe_guides.py PATH-TO-RECIPES-CHECKOUT [--layer FILE] [--hardware 8xH200]

A recipe's own command must pass its own layer: prints how many guide commands name a model the layer
knows, and every one the layer would refuse on the hardware given (engine version unknown). Exit 1 if any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kgc_launch.commands._registry_args import hardware_scope  # noqa: E402
from kgc_launch.knowngood.check import check_launch  # noqa: E402
from kgc_launch.knowngood.load import load_registry  # noqa: E402
from kgc_launch.knowngood.recipes.build import guide_commands  # noqa: E402
from kgc_launch.knowngood.recipes.read import open_checkout, read_recipe, recipe_paths  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", metavar="PATH")
    parser.add_argument("--layer", default=str(ROOT / "registry" / "recipes-layer.yaml"))
    parser.add_argument("--hardware", default="8xH200")
    args = parser.parse_args()
    layer = load_registry(Path(args.layer), cache_dir=None)
    hardware = hardware_scope(args.hardware)
    checkout = open_checkout(Path(args.source), None)
    checked = refused = 0
    for path in recipe_paths(checkout):
        recipe = read_recipe(checkout, path)
        for serve_args in guide_commands(recipe.data.get("guide")):
            report = check_launch(
                layer, model_ids=[serve_args.model or ""], serve_args=serve_args, env={}, engine="vllm",
                engine_version=None, gpus=hardware.gpus, require_registered=False,
                gpu_memory_bytes=hardware.memory_bytes,
            )  # fmt: skip
            if not report.registered:
                continue
            checked += 1
            if not report.passed:
                refused += 1
                print(f"{recipe.path}: {serve_args.model}: {'; '.join(m.flag for m in report.missing_required)}")
    print(f"{checked} guide commands of models the layer knows, on {hardware.label}: {refused} refused")
    return 1 if refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
