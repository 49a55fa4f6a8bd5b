"""Model metadata from the Hub: the real huggingface_hub client against the fake Hub of testing/hub_server.py.

Nothing here reaches the network: `fake_hub` serves 127.0.0.1 and points HF_ENDPOINT at it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgc_launch import cli
from kgc_launch.errors import UsageError
from kgc_launch.model.hub import hub_settings, recorded_weights
from kgc_launch.model.metadata import read_model
from testing.fake_engine import make_fake_engine
from testing.hub_server import (
    FakeHub,
    FakeRepo,
    commit_hash,
    decoder_tensors,
    sharded_repo,
    single_file_repo,
)
from testing.model_files import config_fixture, make_hf_snapshot, write_model_dir

QWEN = "testorg/Qwen3-8B"  # not in the shipped catalog, so a Hub failure leaves it unknown
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_TOTAL = 16_060_522_496  # its published model.safetensors.index.json metadata.total_size
GEMMA = "google/gemma-3-27b-it"
GENERATION = {"do_sample": True, "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}


@pytest.fixture
def environ(tmp_path: Path, fake_hub: FakeHub) -> dict[str, str]:
    """The environment a command would see: the fake Hub, an empty HF cache and kgc-launch cache here."""
    return {
        "HF_ENDPOINT": fake_hub.endpoint,
        "HF_HOME": str(tmp_path / "hf"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "HOME": str(tmp_path),
    }


def qwen_single_file(hub: FakeHub) -> tuple[FakeRepo, int, dict[str, int]]:
    config = config_fixture("qwen3-8b")
    repo, total, parameters = single_file_repo(QWEN, config, decoder_tensors(config))
    repo.commits[repo.refs["main"]]["generation_config.json"] = json.dumps(GENERATION).encode()
    hub.add(repo)
    return repo, total, parameters


def test_a_single_file_checkpoint_is_read_from_its_header_then_offline(
    fake_hub: FakeHub, environ: dict[str, str], tmp_path: Path
) -> None:
    repo, total, parameters = qwen_single_file(fake_hub)
    commit = repo.refs["main"]
    facts = read_model(QWEN, environ=environ, hub=True)
    assert (facts.source, facts.model_id, facts.revision) == ("hub", QWEN, commit)
    assert facts.source_detail == f"{fake_hub.endpoint}/{QWEN}"
    assert (facts.num_hidden_layers, facts.num_kv_heads, facts.head_dim) == (36, 8, 128)
    # Exact tensor bytes from the header (8.19e9 BF16 parameters), not the architecture estimate.
    assert (facts.weight_bytes, facts.weight_bytes_source) == (total, "safetensors_header")
    assert total == 2 * parameters["BF16"] and facts.capabilities.estimated_weight_bytes == total
    assert f"weights by dtype (parameters): BF16 {parameters['BF16']:,}" in facts.notes
    # The header was read with Range requests only; the weights were never asked for in full.
    ranges = [r.range for r in fake_hub.requests if r.path.endswith("/model.safetensors")]
    assert ranges == ["bytes=0-100000"]
    # What was fetched is in the standard HF cache, where huggingface_hub and the offline reader look.
    folder = tmp_path / "hf" / "hub" / "models--testorg--Qwen3-8B"
    assert (folder / "refs" / "main").read_text() == commit
    assert (folder / "snapshots" / commit / "config.json").is_file()
    assert (folder / "snapshots" / commit / "generation_config.json").is_file()
    assert recorded_weights(environ, QWEN, commit) is not None

    asked = len(fake_hub.requests)
    fake_hub.stop()  # no Hub at all now
    again = read_model(QWEN, environ=environ, hub=True)
    assert len(fake_hub.requests) == asked
    assert (again.source, again.revision) == ("hf_cache", commit)
    assert (again.weight_bytes, again.weight_bytes_source) == (total, "safetensors_header")
    assert again.provenance["weight_bytes"].endswith("(recorded when fetched)")
    assert again.num_kv_heads == facts.num_kv_heads


def test_a_sharded_checkpoint_is_read_from_its_index_and_the_index_is_cached(
    fake_hub: FakeHub, environ: dict[str, str]
) -> None:
    repo = fake_hub.add(
        sharded_repo(LLAMA, config_fixture("llama-3.1-8b-instruct"), total_size=LLAMA_TOTAL, parameters={"BF16": 1})
    )
    facts = read_model(LLAMA, environ=environ, hub=True)
    label = f"hub: {LLAMA}@{repo.refs['main']}"
    assert (facts.weight_bytes, facts.weight_bytes_source) == (LLAMA_TOTAL, "safetensors_index")
    assert facts.provenance["weight_bytes"] == f"{label}: model.safetensors.index.json metadata.total_size"
    assert facts.provenance["weight_dtypes"].startswith(f"{label}: api/models safetensors.parameters")
    assert not [path for path in fake_hub.paths() if "-of-" in path]  # no shard was touched
    environ["HF_HUB_OFFLINE"] = "1"
    again = read_model(LLAMA, environ=environ, hub=True)
    assert (again.source, again.weight_bytes, again.weight_bytes_source) == (
        "hf_cache",
        LLAMA_TOTAL,
        "safetensors_index",
    )


def test_every_fact_names_the_repo_commit_and_key(fake_hub: FakeHub, environ: dict[str, str]) -> None:
    repo = fake_hub.add(sharded_repo(GEMMA, config_fixture("gemma-3-27b-it"), total_size=54_873_000_000))
    commit = repo.refs["main"]
    facts = read_model(GEMMA, environ=environ, hub=True)
    where = f"hub: {GEMMA}@{commit}: config.json"
    assert facts.provenance["num_kv_heads"] == f"{where}: text_config.num_key_value_heads"
    assert facts.provenance["num_hidden_layers"] == f"{where}: text_config.num_hidden_layers"
    assert facts.provenance["torch_dtype"] == f"{where}: torch_dtype"
    assert facts.provenance["architecture"] == f"{where}: model_type"
    assert facts.sliding_window_layers == 52


def test_generation_config_defaults_are_noted(fake_hub: FakeHub, environ: dict[str, str]) -> None:
    repo, _, _ = qwen_single_file(fake_hub)
    facts = read_model(QWEN, environ=environ, hub=True)
    label = f"hub: {QWEN}@{repo.refs['main']}: generation_config.json"
    assert f"default sampling from {label}: temperature=0.6, top_p=0.95, top_k=20" in " ".join(facts.notes)
    assert facts.provenance["generation_config"] == label


def test_a_revision_is_fetched_as_asked_and_found_offline_by_that_name(
    fake_hub: FakeHub, environ: dict[str, str]
) -> None:
    repo, _, _ = qwen_single_file(fake_hub)
    v2 = commit_hash(QWEN, "v2")
    repo.commits[v2] = {"config.json": json.dumps(config_fixture("qwen3-32b")).encode()}
    repo.refs["v2"] = v2
    main = read_model(QWEN, environ=environ, hub=True)
    assert main.num_hidden_layers == 36
    # main is cached now; v2 is not: the Hub is asked for it rather than refusing a revision not in the cache.
    other = read_model(QWEN, revision="v2", environ=environ, hub=True)
    assert (other.source, other.revision, other.num_hidden_layers) == ("hub", v2, 64)
    assert "/api/models/testorg/Qwen3-8B/revision/v2" in fake_hub.paths("GET")
    offline = {**environ, "KGC_NO_HUB": "1"}
    assert read_model(QWEN, revision="v2", environ=offline, hub=True).revision == v2
    assert read_model(QWEN, revision=v2, environ=offline, hub=True).num_hidden_layers == 64
    missing = read_model(QWEN, revision="nope", environ={**environ, "HF_HOME": environ["HOME"] + "/empty"}, hub=True)
    assert missing.source == "unknown"
    assert f"the Hub: {QWEN} has no revision 'nope' on {fake_hub.endpoint}" in missing.notes[0]


def test_a_cached_repo_without_the_revision_and_no_hub_answer_is_an_input_error(
    fake_hub: FakeHub, environ: dict[str, str]
) -> None:
    qwen_single_file(fake_hub)
    read_model(QWEN, environ=environ, hub=True)
    from kgc_launch.errors import InputError

    with pytest.raises(InputError) as error:
        read_model(QWEN, revision="nope", environ=environ, hub=True)
    assert "not at revision 'nope'" in error.value.message
    assert error.value.hint is not None and "has no revision 'nope'" in error.value.hint


def gated_llama(hub: FakeHub) -> FakeRepo:
    return hub.add(
        sharded_repo(
            LLAMA,
            config_fixture("llama-3.1-8b-instruct"),
            total_size=LLAMA_TOTAL,
            gated=True,
            tokens=frozenset({"hf_good"}),
        )
    )


def test_a_gated_repo_without_a_token_says_how_to_get_access(fake_hub: FakeHub, environ: dict[str, str]) -> None:
    gated_llama(fake_hub)
    facts = read_model(LLAMA, environ=environ, hub=True)
    # The catalog still knows this model; the note says why the Hub did not serve it.
    assert facts.source == "catalog"
    said = facts.notes[-1]
    assert said.startswith(f"the Hub: {LLAMA} is gated (401): no token was sent; accept its conditions at ")
    assert "set HF_TOKEN" in said
    assert read_model("acme/gated", environ=environ, hub=True).source == "unknown"


def test_a_gated_repo_with_a_token_without_access_is_403(fake_hub: FakeHub, environ: dict[str, str]) -> None:
    gated_llama(fake_hub)
    facts = read_model(LLAMA, environ={**environ, "HF_TOKEN": "hf_other"}, hub=True)
    assert facts.source == "catalog"
    assert f"{LLAMA} is gated and the token (HF_TOKEN) has no access (403)" in facts.notes[-1]
    assert "request access at" in facts.notes[-1]


def test_a_token_with_access_is_sent_from_hf_token_or_the_token_file(
    fake_hub: FakeHub, environ: dict[str, str], tmp_path: Path
) -> None:
    gated_llama(fake_hub)
    assert read_model(LLAMA, environ={**environ, "HF_TOKEN": "hf_good"}, hub=True).source == "hub"
    assert fake_hub.requests[-1].authorization == "Bearer hf_good"
    assert hub_settings({"HF_TOKEN": "hf_x"}).token_source == "HF_TOKEN"
    (tmp_path / "hf").mkdir(exist_ok=True)
    (tmp_path / "hf" / "token").write_text("hf_good\n")
    settings = hub_settings(environ)
    assert (settings.token, settings.token_source) == ("hf_good", f"the token file {tmp_path / 'hf' / 'token'}")


def test_a_missing_repo_is_unknown_with_the_reason(fake_hub: FakeHub, environ: dict[str, str]) -> None:
    anonymous = read_model("acme/DoesNotExist", environ=environ, hub=True)
    assert anonymous.source == "unknown"
    assert anonymous.notes[0].startswith("unknown model 'acme/DoesNotExist': not found in the Hugging Face cache")
    assert (
        f"the Hub: acme/DoesNotExist: not found on {fake_hub.endpoint} (401), or private or gated"
        in (anonymous.notes[0])
    )
    signed_in = read_model("acme/DoesNotExist", environ={**environ, "HF_TOKEN": "hf_x"}, hub=True)
    assert f"the Hub: no model acme/DoesNotExist on {fake_hub.endpoint} (404)" in signed_in.notes[0]


def test_a_server_error_is_named_at_once(fake_hub: FakeHub, environ: dict[str, str]) -> None:
    qwen_single_file(fake_hub)
    fake_hub.mode = "error500"
    start = time.monotonic()
    facts = read_model(QWEN, environ=environ, hub=True)
    assert time.monotonic() - start < 2  # model_info is not retried: the 500 is reported, not waited out
    assert facts.source == "unknown"
    assert f"the Hub: {fake_hub.endpoint} answered 500 (server error) for {QWEN}" in facts.notes[0]


def test_a_hub_that_never_answers_is_a_timeout_within_the_limit(fake_hub: FakeHub, environ: dict[str, str]) -> None:
    qwen_single_file(fake_hub)
    fake_hub.mode = "hang"
    start = time.monotonic()
    facts = read_model(QWEN, environ={**environ, "KGC_HUB_TIMEOUT": "1"}, hub=True)
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 2.0
    assert facts.source == "unknown"
    assert f"from {fake_hub.endpoint} within 1 s (KGC_HUB_TIMEOUT sets the limit)" in facts.notes[0]


def test_no_network_is_named(environ: dict[str, str], fake_hub: FakeHub) -> None:
    endpoint = fake_hub.endpoint
    fake_hub.stop()  # nothing listens on that port any more
    facts = read_model(QWEN, environ=environ, hub=True)
    assert facts.source == "unknown"
    assert f"the Hub: cannot reach {endpoint}: " in facts.notes[0]


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("HF_HUB_OFFLINE", "1", "HF_HUB_OFFLINE=1: Hugging Face offline mode"),
        ("TRANSFORMERS_OFFLINE", "yes", "TRANSFORMERS_OFFLINE=yes: Hugging Face offline mode"),
        ("KGC_NO_HUB", "1", "KGC_NO_HUB=1 forbids Hub access"),
    ],
)
def test_offline_switches_keep_the_hub_out(
    fake_hub: FakeHub, environ: dict[str, str], variable: str, value: str, said: str
) -> None:
    qwen_single_file(fake_hub)
    facts = read_model(QWEN, environ={**environ, variable: value}, hub=True)
    assert fake_hub.requests == []
    assert facts.source == "unknown"
    assert f"the Hub was not asked ({said})" in facts.notes[0]


def test_without_hub_true_nothing_is_asked(fake_hub: FakeHub, environ: dict[str, str]) -> None:
    qwen_single_file(fake_hub)
    facts = read_model(QWEN, environ=environ)
    assert facts.source == "unknown" and "the Hub was not asked (this reader is offline)" in facts.notes[0]
    assert read_model("Qwen/Qwen3-8B", environ=environ).source == "catalog"
    assert fake_hub.requests == []


def test_a_malformed_timeout_is_a_usage_error(environ: dict[str, str]) -> None:
    for text in ("soon", "0", "-1", "nan", "1e9"):
        with pytest.raises(UsageError, match="KGC_HUB_TIMEOUT"):
            read_model("acme/x", environ={**environ, "KGC_HUB_TIMEOUT": text}, hub=True)


def test_hf_config_path_takes_the_config_from_there_and_the_weights_from_the_model(
    fake_hub: FakeHub, environ: dict[str, str], tmp_path: Path
) -> None:
    _, total, _ = qwen_single_file(fake_hub)
    other = write_model_dir(tmp_path / "config-only", config_fixture("qwen3-32b"))
    facts = read_model(QWEN, environ=environ, hub=True, hf_config_path=str(other))
    assert facts.num_hidden_layers == 64  # Qwen3-32B's config
    assert (facts.weight_bytes, facts.weight_bytes_source) == (total, "safetensors_header")
    assert facts.provenance["num_hidden_layers"] == f"{other / 'config.json'}: num_hidden_layers"
    assert f"config.json from --hf-config-path {other}; weights from the model" in facts.notes


# ---- through the CLI ----


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli_environ(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return environ


def test_model_inspect_a_hub_model(
    fake_hub: FakeHub, cli_environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, total, _ = qwen_single_file(fake_hub)
    commit = repo.refs["main"]
    code, out, _ = run(["model", "inspect", QWEN], capsys)
    assert code == 0
    assert out.splitlines()[0] == f"{QWEN}  [hub: {fake_hub.endpoint}/{QWEN}] revision {commit}"
    assert f"hub: {QWEN}@{commit}: config.json: num_key_value_heads" in out
    assert f"safetensors_header: hub: {QWEN}@{commit}: model.safetensors header" in out
    code, out, _ = run(["model", "inspect", QWEN, "--json"], capsys)
    document = json.loads(out)  # the second run reads what the first one put in the HF cache
    assert (document["source"], document["revision"], document["facts"]["weight_bytes"]) == ("hf_cache", commit, total)


def test_model_inspect_an_unknown_hub_model_exits_3(
    fake_hub: FakeHub, cli_environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["model", "inspect", "acme/DoesNotExist"], capsys)
    assert code == 3
    assert "supported dtypes  unknown" in out
    assert f"not found on {fake_hub.endpoint} (401)" in err


def test_fit_a_hub_model(fake_hub: FakeHub, cli_environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, total, _ = qwen_single_file(fake_hub)
    code, out, _ = run(["fit", QWEN, "--hardware", "H100", "--max-model-len", "32768", "--json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["plan"]["fits"] is True
    assert document["model"]["source"] == "hub"
    assert f"{total / 1024**3:.2f}" in run(["fit", QWEN, "--hardware", "H100"], capsys)[1]


def test_fit_an_unknown_hub_model_exits_3(
    fake_hub: FakeHub, cli_environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake_hub.mode = "error500"
    code, _, err = run(["fit", "acme/whatever", "--hardware", "H100"], capsys)
    assert code == 3
    assert "answered 500 (server error)" in err


# ---- the launch path imports huggingface_hub only when it has to fetch ----

PROBE = (
    "import sys\n"
    "from kgc_launch import cli\n"
    "code = cli.main(['--dry-run', '--json', '--hardware', 'H100', 'vllm', 'serve', sys.argv[1]])\n"
    "print(code, 'huggingface_hub' in sys.modules)\n"
)


def launch_imports(model: str, env: dict[str, str], cwd: Path) -> tuple[int, bool]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, model], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    last = done.stdout.strip().splitlines()[-1].split()
    return int(last[0]), last[1] == "True"


def test_a_launch_that_finds_the_model_locally_never_imports_huggingface_hub(
    fake_hub: FakeHub, environ: dict[str, str], tmp_path: Path
) -> None:
    repo, _, _ = qwen_single_file(fake_hub)
    bin_dir = tmp_path / "bin"
    make_fake_engine(bin_dir, "vllm", tmp_path / "vllm-record.json")
    env = {
        **{k: v for k, v in os.environ.items() if k != "KGC_NO_HUB"},  # the Hub is allowed
        **environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    directory = write_model_dir(tmp_path / "local", config_fixture("qwen3-8b"))
    make_hf_snapshot(Path(environ["HF_HOME"]) / "hub", "testorg/cached", config_fixture("qwen3-8b"))
    assert launch_imports(str(directory), env, tmp_path) == (0, False)
    assert launch_imports("testorg/cached", env, tmp_path) == (0, False)  # in the HF cache
    assert fake_hub.requests == []
    assert launch_imports(QWEN, env, tmp_path) == (0, True)  # neither: fetched
    assert "/api/models/testorg/Qwen3-8B/revision/main" in fake_hub.paths("GET")
    assert launch_imports(QWEN, env, tmp_path) == (0, False)  # cached by the fetch
    assert repo.refs["main"] in (Path(environ["HF_HOME"]) / "hub/models--testorg--Qwen3-8B/refs/main").read_text()
