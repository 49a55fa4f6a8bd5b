"""The recipes importer: a checkout of vllm-project/recipes -> a registry layer in our format.

`read` (the checkout, its recipe files, its commit), `hardware` (the recipes' GPU profiles as kgc-launch
sees GPUs), `severity` (how severe a missing flag is, and why), `build` (one recipe -> entries, with the
recipes site's own precedence), `importer` (all recipes -> the layer's YAML). `kgc-launch registry
import-recipes PATH` runs it; `scripts/import_recipes.sh` regenerates the shipped layer. docs/recipes.md
describes the mapping.
"""
