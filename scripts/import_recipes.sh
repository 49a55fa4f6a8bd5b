#!/usr/bin/env bash
# Regenerate the shipped recipes layer (registry/recipes-layer.yaml) from a vllm-project/recipes checkout.
#   scripts/import_recipes.sh PATH [OUTPUT]
# PATH: a checkout (its commit is read from .git), or a bare repository / git mirror (its HEAD is exported).
# The layer records the commit it was made from; commit the new layer together with that change.
set -euo pipefail
. "$(dirname "$0")/_venv.sh"
SOURCE="${1:?usage: scripts/import_recipes.sh PATH-TO-RECIPES-CHECKOUT [OUTPUT]}"
OUTPUT="${2:-$ROOT/registry/recipes-layer.yaml}"
if [ ! -d "$SOURCE/models" ] && git -C "$SOURCE" rev-parse --git-dir >/dev/null 2>&1; then
  # A repository without a work tree (a mirror): export its HEAD.
  COMMIT="$(git -C "$SOURCE" rev-parse HEAD)"
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  git -C "$SOURCE" archive HEAD | tar -x -C "$WORK"
  exec "$PY" -m kgc_launch registry import-recipes "$WORK" --commit "$COMMIT" --output "$OUTPUT"
fi
exec "$PY" -m kgc_launch registry import-recipes "$SOURCE" --output "$OUTPUT"
