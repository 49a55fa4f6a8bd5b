"""The known-good registry: per-model REQUIRED serve flags, recorded and enforced.

For the launcher and the deploy scanner:
    location = load.find_registry(explicit, os.environ, os.getcwd())   # or load.locate_registry(...) -> Path
    registry = load.load_registry(location.path)                       # cached; InputError (exit 3) if bad
    report = check.check_launch(registry, model_ids=..., serve_args=..., env=..., engine="vllm",
                                engine_version=..., gpus=[(name, "10.0"), ...] or None, require_registered=...)
    report.verdict, report.to_json()

Modules: `schema` (the format), `spelling` (flag/env text), `match` (one requirement vs a launch), `scope`
(`applies_when`), `regexguard` (bounded `match` regexes), `check` (the verdict), `load`/`cache`/`parse`/
`registry`/`locate` (finding and loading a registry fast), `validate` (every problem, located), `record`
(the only YAML writer), `closure` (the grind-closure gate), `report` (text output), `layers` (the user's
registry over the shipped recipes layer, merged field by field), `launch_check` (the launcher's registry
check), `recipes` (the vllm-project/recipes importer; docs/recipes.md). Deploy files are read by
`kgc_launch.deploy` (its `check` module runs `check_launch` on each launch found).
"""
