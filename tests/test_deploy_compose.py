from __future__ import annotations

from pathlib import Path

import pytest

from kgc_launch.deploy.compose import Interpolation, compose_findings
from kgc_launch.deploy.fastyaml import read_documents
from kgc_launch.deploy.launch import Launch, Unknown
from kgc_launch.deploy.origin import SourceText
from kgc_launch.errors import InputError

DATA = Path(__file__).parent / "data" / "deploy" / "compose"


def services(path: Path, env: dict[str, str] | None = None) -> tuple[dict[str, Launch], list[str]]:
    findings = compose_findings(read_documents(path, path.read_text()), str(path), env)
    return {launch.object: launch for launch in findings.launches}, findings.notes


@pytest.mark.parametrize(
    ("text", "variables", "expected", "missing"),
    [
        ("${A}-$A-$$A", {"A": "1"}, "1-1-$A", []),
        ("${A:-d} ${B:-d} ${C-d}", {"A": "", "C": ""}, "d d ", []),
        ("${A:+set} ${B+set}", {"A": "x"}, "set ", []),
        ("${MISSING}", {}, "${MISSING}", ["${MISSING}"]),
        ("${A:?need A}", {}, "${A:?need A}", ["${A:?need A}"]),
        ("${A:-${B:-inner}}", {}, "inner", []),
    ],
)
def test_interpolation(text: str, variables: dict[str, str], expected: str, missing: list[str]) -> None:
    interpolate = Interpolation(variables)
    assert interpolate(text) == expected and interpolate.missing == missing


def test_services_list_form_anchors_env_file_and_gpu_reservations() -> None:
    found, notes = services(DATA / "docker-compose.yml")
    assert list(found) == ["service vllm", "service ferrum"]
    vllm = found["service vllm"]
    assert vllm.line == 9 and vllm.gpus == 2 and vllm.image == "vllm/vllm-openai:v0.11.0"
    # MODEL and MAX_LEN come from .env (quotes removed); $$ is a literal $ for the container
    assert vllm.args == [
        "meta-llama/Llama-3.1-8B-Instruct", "--tensor-parallel-size", "2", "--max-model-len", "32768", "--api-key",
        "${VLLM_API_KEY}",
    ]  # fmt: skip
    assert vllm.env["VLLM_ATTENTION_BACKEND"] == "FLASHINFER"
    assert isinstance(vllm.env["HF_TOKEN"], Unknown) and isinstance(vllm.env["HF_HUB_OFFLINE"], Unknown)
    assert any("${HF_TOKEN} is not set" in note for note in vllm.notes)
    assert any("${VLLM_TAG:-v0.11.0}: not set here, so compose uses the default" in note for note in vllm.notes)
    ferrum = found["service ferrum"]
    assert (ferrum.engine, ferrum.model, ferrum.gpus) == ("ferrum", "Qwen/Qwen3-30B-A3B", None)
    assert ferrum.args == ["-m", "Qwen/Qwen3-30B-A3B", "--kv-dtype", "fp8", "-p", "8001"]
    assert any("count all" in note for note in ferrum.notes)
    assert any("service router" in note and "ENTRYPOINT" in note for note in notes)


def test_given_variables_win_over_the_env_file() -> None:
    found, _ = services(
        DATA / "docker-compose.yml", {"MODEL": "Qwen/Qwen3-8B", "HF_TOKEN": "hf_x", "VLLM_TAG": "v0.9.0"}
    )
    vllm = found["service vllm"]
    assert vllm.model == "Qwen/Qwen3-8B" and vllm.env["HF_TOKEN"] == "hf_x" and vllm.image == "vllm/vllm-openai:v0.9.0"


def test_string_command_split_into_a_shell_script_is_explained() -> None:
    found, notes = services(DATA / "compose.yaml")
    assert list(found) == ["service engine-fixed"]
    assert found["service engine-fixed"].model == "microsoft/Phi-4-mini-instruct"
    assert any("service engine" in note and "takes only the next word (`vllm`)" in note for note in notes)


def test_device_ids_count_and_bad_types(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n  a:\n    image: vllm/vllm-openai\n    command: [m]\n    deploy:\n      resources:\n"
        "        reservations:\n          devices:\n            - {capabilities: [gpu], device_ids: ['0', '3']}\n"
        "  b:\n    image: vllm/vllm-openai\n    command: {not: a list}\n"
    )
    with pytest.raises(InputError) as error:
        services(path)
    assert (error.value.line, error.value.field) == (12, "command")
    path.write_text(path.read_text().replace("{not: a list}", "[m]"))
    found, _ = services(path)
    assert found["service a"].gpus == 2 and found["service b"].gpus is None


def test_an_entrypoint_script_with_the_engine_command_as_the_services_command(tmp_path: Path) -> None:
    # Austontatious/lex docker-compose.yml: `entrypoint: ["/vllm-entrypoint.sh"]` (a mounted `exec "$@"`
    # script) and `command:` a full `python -m vllm.entrypoints.openai.api_server ...` list
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        'services:\n  vllm:\n    image: local/vllm:dev\n    entrypoint: ["/vllm-entrypoint.sh"]\n    command:\n'
        "      - python\n      - -m\n      - vllm.entrypoints.openai.api_server\n      - --model\n      - Org/M\n"
        '      - --tensor-parallel-size\n      - "4"\n',
        encoding="utf-8",
    )
    text = compose.read_text()
    (launch,) = compose_findings(read_documents(compose, text), str(compose), None, SourceText(text)).launches
    assert (launch.line, launch.model, launch.args[-2:]) == (6, "Org/M", ["--tensor-parallel-size", "4"])
    assert any("/vllm-entrypoint.sh, which is not in this file" in note for note in launch.notes)
