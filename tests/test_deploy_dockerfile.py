from __future__ import annotations

from pathlib import Path

from kgc_launch.deploy.dockerfile import dockerfile_findings, instructions
from kgc_launch.deploy.scan import scan_paths

DATA = Path(__file__).parent / "data" / "deploy" / "docker"


def test_instructions_join_continuations_drop_comments_and_skip_heredocs() -> None:
    found = instructions((DATA / "Dockerfile").read_text())
    assert [(i.keyword, i.line) for i in found] == [
        ("ARG", 2), ("FROM", 3), ("RUN", 4), ("RUN", 5), ("FROM", 9), ("ARG", 10), ("ENV", 11), ("CMD", 15),
    ]  # fmt: skip
    assert "a comment" not in found[6].rest


def test_exec_form_cmd_on_the_vllm_image_via_an_earlier_stage() -> None:
    (launch,) = dockerfile_findings((DATA / "Dockerfile").read_text(), "Dockerfile").launches
    assert (launch.line, launch.object, launch.image) == (15, "final stage serve (of 2)", "vllm/vllm-openai:v0.11.0")
    assert launch.args == ["--model", "Qwen/Qwen3-8B", "--max-model-len", "32768", "--enable-prefix-caching"]
    assert launch.env == {"HF_HUB_ENABLE_HF_TRANSFER": "1", "MODEL": "Qwen/Qwen3-8B", "VLLM_MAX_LEN": "32768"}


def test_shell_form_entrypoint_expands_env_at_run_time() -> None:
    (launch,) = dockerfile_findings((DATA / "Dockerfile.shell").read_text(), "Dockerfile.shell").launches
    assert launch.line == 5 and launch.model == "meta-llama/Llama-3.1-70B-Instruct"
    assert launch.args[1:] == ["--tensor-parallel-size", "4", "--gpu-memory-utilization", "0.9"]


def test_last_instruction_wins_and_entrypoint_resets_an_inherited_cmd() -> None:
    text = """\
FROM python:3.12 AS base
CMD ["vllm", "serve", "from-base"]
FROM base
ENTRYPOINT ["vllm", "serve"]
CMD ["first"]
CMD ["second", "--dtype", "half"]
"""
    (launch,) = dockerfile_findings(text, "Dockerfile").launches
    assert launch.args == ["second", "--dtype", "half"] and launch.line == 4  # the ENTRYPOINT starts the engine
    assert launch.container_line == 6
    (reset,) = dockerfile_findings(text.replace('CMD ["first"]\nCMD ["second", "--dtype", "half"]\n', ""), "D").launches
    assert reset.args == []  # ENTRYPOINT dropped the CMD inherited from `base`


def test_escape_directive_and_unknown_base_image() -> None:
    text = "# escape=`\nFROM example.com/base:1\nENV M=org/m\nCMD vllm serve $M `\n  --port 9000\n"
    (launch,) = dockerfile_findings(text, "Dockerfile").launches
    assert launch.args == ["org/m", "--port", "9000"]
    only_args = dockerfile_findings('FROM example.com/vllm-base:1\nCMD ["--model", "m"]\n', "D")
    (unknown,) = only_args.launches  # an engine image of unknown ENTRYPOINT: a launch not evaluated, not a guess
    assert unknown.unevaluated is not None and "entrypoint of example.com/vllm-base:1 is unknown" in unknown.unevaluated
    assert unknown.model is None and unknown.line == 2
    other = dockerfile_findings('FROM example.com/base:1\nCMD ["/bin/bash"]\n', "D")
    assert not other.launches and "whose ENTRYPOINT is not known here" in other.notes[0]


def test_the_legacy_demo_server_is_a_vllm_launch_with_its_caveat(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.10\nRUN pip install vllm\nCMD python -m vllm.entrypoints.api_server --model org/m -tp 2\n"
    )
    (launch,) = scan_paths([str(dockerfile)]).launches
    assert (launch.engine, launch.line, launch.model, launch.args[-2:]) == ("vllm", 3, "org/m", ["-tp", "2"])
    assert any("legacy demo server" in note for note in launch.notes)
