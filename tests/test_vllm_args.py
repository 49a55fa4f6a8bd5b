from __future__ import annotations

import datetime
import shlex
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kgc_launch.errors import InputError, UsageError
from kgc_launch.serve_args import ServeArgs, human_readable_int, render_command_line, render_serve_args
from kgc_launch.vllm.args import config_file_tokens, parse_serve_args


def parse(line: str, **kwargs: Any) -> ServeArgs:
    return parse_serve_args(shlex.split(line), **kwargs)


def test_positional_model_and_spellings_of_one_flag_agree() -> None:
    spellings = [
        "Qwen/Qwen3-8B --tensor-parallel-size 2",
        "Qwen/Qwen3-8B --tensor_parallel_size=2",
        "Qwen/Qwen3-8B -tp 2",
        "--model Qwen/Qwen3-8B --tensor-parallel-size 2",
        "-tp 2 --model=Qwen/Qwen3-8B",
    ]
    for line in spellings:
        args = parse(line)
        assert (args.model, args.get("tensor_parallel_size"), args.int_value("-tp")) == (
            "Qwen/Qwen3-8B",
            "2",
            2,
        )


def test_booleans_do_not_swallow_the_model() -> None:
    args = parse("--enforce-eager Qwen/Qwen3-8B --no-enable-prefix-caching --trust-remote-code")
    assert args.model == "Qwen/Qwen3-8B"
    assert args.options == {"enforce-eager": True, "enable-prefix-caching": False, "trust-remote-code": True}


def test_json_flags_parse_whatever_their_whitespace_and_key_order() -> None:
    a = parse("""m --additional-config '{"gdn_prefill_backend": "triton", "x": 1}'""")
    b = parse("""m '--additional-config={"x":1,"gdn_prefill_backend":"triton"}'""")
    assert a.get("additional-config") == b.get("additional-config") == {"gdn_prefill_backend": "triton", "x": 1}


def test_dotted_forms_merge_into_one_object_and_lists_append() -> None:
    args = parse(
        "m --compilation-config.level 3 --compilation_config.pass_config.fuse=true "
        "--compilation-config.sizes+ 1,2 --compilation-config.sizes+=4"
    )
    assert args.get("compilation-config") == {
        "level": 3,
        "pass_config": {"fuse": True},
        "sizes": ["1", "2", "4"],
    }


def test_dotted_values_replace_an_earlier_json_object_as_in_vllm() -> None:
    args = parse("""m --additional-config '{"a": 1}' --additional-config.gdn_prefill_backend triton""")
    assert args.get("additional-config") == {"gdn_prefill_backend": "triton"}
    assert any("replace the earlier JSON object" in note for note in args.notes)


def test_underscores_after_the_first_dot_are_kept() -> None:
    assert parse("m --hf_overrides.rope_scaling.rope_type yarn").get("hf-overrides") == {
        "rope_scaling": {"rope_type": "yarn"}
    }


def test_optimization_level_spellings() -> None:
    for line in ("m -O3", "m -O=3", "m -O 3", "m --optimization-level 3"):
        assert parse(line).get("optimization-level") == "3"


def test_multi_value_flags_take_values_until_the_next_option() -> None:
    args = parse("m --served-model-name a b --port 8000")
    assert args.get("served-model-name") == ["a", "b"] and args.get("port") == "8000"


def test_repeated_flag_last_wins_with_a_note() -> None:
    args = parse("m --port 1 --port 2")
    assert args.get("port") == "2" and args.notes == ["--port is given more than once: the last one wins"]


def test_negative_numbers_are_values() -> None:
    assert parse("m --max-model-len -1").get("max-model-len") == "-1"


@pytest.mark.parametrize(("text", "value"), [("1k", 1000), ("1K", 1024), ("25.6k", 25600), ("32768", 32768),
                                             ("2M", 2 * 2**20), ("auto", -1)])  # fmt: skip
def test_human_readable_integers(text: str, value: int) -> None:
    assert human_readable_int(text) == value


def test_int_value_names_the_flag_when_it_is_not_an_integer() -> None:
    with pytest.raises(UsageError, match="--max-model-len: 'lots' is not an integer"):
        parse("m --max-model-len lots").int_value("max-model-len")
    with pytest.raises(ValueError, match="decimals are not allowed"):
        human_readable_int("1.5K")


def test_config_file_is_spliced_after_the_model_and_the_command_line_wins() -> None:
    document = {"port": 12323, "tensor-parallel-size": 4, "enforce-eager": True, "enable-prefix-caching": False,
                "served-model-name": ["a", "b"], "speculative-config": {"num_speculative_tokens": 3}}  # fmt: skip

    def read(path: str) -> list[str]:
        assert path == "c.yaml"
        return config_file_tokens(document, path=path)

    args = parse("org/model --config c.yaml -tp 2", read_config=read)
    assert args.model == "org/model" and args.config_file == "c.yaml"
    assert args.get("tensor-parallel-size") == "2"
    assert args.get("port") == "12323" and args.get("enable-prefix-caching") is False
    assert args.get("speculative-config") == {"num_speculative_tokens": 3}
    assert args.from_config_file == {"port", "enforce-eager", "enable-prefix-caching", "served-model-name",
                                     "speculative-config"}  # fmt: skip


@pytest.mark.parametrize(
    ("document", "message", "field"),
    [
        (["--port", "1"], "must hold a mapping of flag names to values", None),  # was a usage error (exit 2)
        ({"hf-overrides": {"released": datetime.date(2024, 7, 23)}}, "cannot be passed as JSON", "hf-overrides"),
        ({"hf-overrides": {"blob": b"hello"}}, "cannot be passed as JSON", "hf-overrides"),  # was a TypeError
    ],
)
def test_a_config_file_vllm_cannot_read_is_an_input_error(document: Any, message: str, field: str | None) -> None:
    with pytest.raises(InputError, match=message) as error:
        config_file_tokens(document, path="c.yaml")
    assert error.value.path == "c.yaml" and error.value.field == field


def test_config_file_not_read_is_noted() -> None:
    args = parse("m --config /etc/vllm.yaml --port 1")
    assert args.config_file == "/etc/vllm.yaml" and args.get("port") == "1"
    assert args.notes == ["--config /etc/vllm.yaml: the file was not read here"]


def test_extra_positionals_are_kept() -> None:
    args = parse("m stray --port 1")
    assert args.model == "m" and args.extra_positionals == ["stray"]


def test_rendering_is_canonical() -> None:
    args = parse("""m --port=8000 --additional-config '{"b": 1, "a": 2}' --enforce-eager --served-model-name x""")
    assert render_serve_args(args) == [
        "m",
        '--additional-config={"a":2,"b":1}',
        "--enforce-eager",
        "--port=8000",
        "--served-model-name=x",
    ]
    assert render_command_line(args).startswith("m '--additional-config=")


_names = st.sampled_from(
    ["port", "max-model-len", "enforce-eager", "enable-prefix-caching", "additional-config", "served-model-name",
     "tensor-parallel-size", "dtype", "kv-cache-dtype", "compilation-config", "unknown-flag", "gdn_prefill_backend"]
)  # fmt: skip
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_token = st.one_of(
    _text,
    _names.map(lambda n: f"--{n}"),
    st.tuples(_names, _text).map(lambda p: f"--{p[0]}={p[1]}"),
    st.tuples(_names, _names, _text).map(lambda p: f"--{p[0]}.{p[1]}={p[2]}"),
    st.sampled_from(["-tp", "-O3", "-O", "--", "--config", "--model", "--no-enforce-eager", "{", '{"a":1}']),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_token, max_size=12))
@example(["-O", "\r"])  # an inline value is kept as written: `--optimization-level=\r` lost its `\r`
def test_parser_never_crashes_and_render_parse_is_stable(tokens: list[str]) -> None:
    first = parse_serve_args(tokens)
    again = parse_serve_args(render_serve_args(first))
    refused = any(problem.severity == "refuse" for problem in first.problems)
    if not refused and not (first.model or "").startswith("-"):  # `-- -x`: a model rendered first reads as an option
        # What vLLM refuses has no canonical rendering: an unknown `-op` renders as `--op`, a valid prefix.
        assert (again.model, again.options) == (first.model, first.options)


@pytest.mark.parametrize(
    "tokens",
    [
        ["--max-model-len 4096 --port 8000"],  # argparse: a `-...` token with a space is a positional
        ["--model Qwen/Qwen2.5-7B-Instruct --tensor-parallel-size 2"],  # a dot: vLLM's dotted-option rewrite
        ["m", "--tensor-parallel-size 2"],
    ],
)
def test_several_flags_written_as_one_argument_are_refused(tokens: list[str]) -> None:
    # A YAML list item `- "--max-model-len 4096 --port 8000"` reaches vLLM as one argument, not two options.
    problems = parse_serve_args(tokens).problems
    (several,) = [p for p in problems if p.rule_id == "several-words-in-one-argument"]
    assert several.severity == "refuse" and "one argument holding several words" in several.message


def test_values_with_spaces_are_not_several_flags() -> None:
    parsed = parse_serve_args(["m", "--chat-template", "{% for m in messages %}{{ m }}{% endfor %}"])
    assert not parsed.problems and parsed.options["chat-template"].startswith("{% for")
    assert not parse_serve_args(["m", "--served-model-name=my model"]).problems
