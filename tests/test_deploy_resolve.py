from __future__ import annotations

from kgc_launch.deploy.resolve import EngineVerdict, judge_engine, launch_inventory
from kgc_launch.hardware.presets import inventory_from_preset
from kgc_launch.launch_options import LaunchOptions
from kgc_launch.model.facts import ModelFacts
from kgc_launch.model.metadata import read_model


def test_the_manifest_says_how_many_of_the_nodes_gpus_a_launch_gets() -> None:
    node = inventory_from_preset("8xH100-SXM")
    two = launch_inventory(node, 2)
    assert [(d.index, d.name) for d in two.visible] == [(0, "NVIDIA H100 80GB HBM3"), (1, "NVIDIA H100 80GB HBM3")]
    assert two.devices == two.visible and two.source_detail.startswith("2 GPUs (NVIDIA H100 80GB HBM3) as the")
    assert launch_inventory(node, None) is node and launch_inventory(node, 8) is node
    assert len(launch_inventory(inventory_from_preset("H100"), 8, nodes=2).visible) == 16  # a LeaderWorkerSet group
    assert launch_inventory(node, 0).visible == []
    assert len(node.visible) == 8  # the node itself is not changed


def test_a_refusal_resting_on_an_unknown_value_is_undecided() -> None:
    facts = read_model("meta-llama/Llama-3.1-8B-Instruct", environ={})
    l4 = inventory_from_preset("L4")

    def resolve_vllm_launch(tokens: list[str], *_: object, **__: object) -> EngineVerdict:
        def lookup(_model: str, _revision: str | None, _config: str | None) -> ModelFacts:
            return facts

        return judge_engine("vllm", tokens, l4, lookup, LaunchOptions(), environ={}, engine_version="0.11.0")

    known = resolve_vllm_launch(["m"], l4, facts, environ={}, engine_version="0.11.0")
    assert [r.source for r in known.refusals] == ["vLLM rule kv-cache-does-not-fit"] and not known.undecided
    built = ["m", "--max-model-len", "$(MAX_LEN)"]
    verdict = resolve_vllm_launch(built, l4, facts, environ={}, engine_version="0.11.0")
    assert not verdict.refusals
    (undecided,) = verdict.undecided
    assert "--max-model-len's default" in undecided and "($(MAX_LEN))" in undecided
    fits = resolve_vllm_launch(["m", "--max-model-len", "8192"], l4, facts, environ={}, engine_version="0.11.0")
    assert not fits.refusals and not fits.undecided
    assert not any("free memory" in warning for warning in fits.warnings)  # a live node's fact: not a deploy's
