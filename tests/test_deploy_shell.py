from __future__ import annotations

import shlex
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from kgc_launch.deploy.command import engine_commands, shell_script_of
from kgc_launch.deploy.launch import Unknown
from kgc_launch.deploy.shell import assignments_of, expand_text, split_script
from kgc_launch.deploy.shell_lex import Text, lex_script
from kgc_launch.errors import InputError


def words(script: str, **kwargs: object) -> list[list[str]]:
    return [command.words for command in split_script(script, **kwargs)]  # type: ignore[arg-type]


def test_separators_comments_and_continuations() -> None:
    script = """\
# vllm serve in a comment is not a command
set -e; cd /srv && echo "a # not a comment" || true
vllm serve m \\
    --max-model-len 8192 \\
    --dtype bfloat16   # trailing comment
echo done | tee log &
"""
    assert words(script) == [
        ["set", "-e"],
        ["cd", "/srv"],
        ["echo", "a # not a comment"],
        ["true"],
        ["vllm", "serve", "m", "--max-model-len", "8192", "--dtype", "bfloat16"],
        ["echo", "done"],
        ["tee", "log"],
    ]
    assert [command.line for command in split_script(script)] == [2, 2, 2, 2, 3, 6, 6]


def test_quoting_follows_posix_rules() -> None:
    script = """printf '%s' 'single $HOME "x"' "double \\"q\\" \\$X \\\\" a\\ b $'tab\\there' ""\n"""
    assert words(script) == [["printf", "%s", 'single $HOME "x"', 'double "q" $X \\', "a b", "tab\there", ""]]


SAFE = st.text(alphabet="abcXYZ019 _-./=:,'\"\\", min_size=0, max_size=40)


@settings(max_examples=300, deadline=None)
@given(SAFE)
def test_words_agree_with_shlex_where_nothing_expands(text: str) -> None:
    try:
        expected = shlex.split(text, posix=True)
    except ValueError:  # unbalanced quotes: shlex refuses, a shell would wait for more input
        return
    commands = lex_script(text)
    found = (
        [[part.text for part in word.parts if isinstance(part, Text)] for word in commands[0].words] if commands else []
    )
    assert ["".join(parts) for parts in found] == expected


def test_variables_exports_defaults_and_word_splitting() -> None:
    script = """\
export MODEL=${MODEL:-meta-llama/Llama-3.1-8B-Instruct}
ARGS="--max-model-len 8192 --dtype bfloat16"
QUOTED="--served-model-name my model"
TP=2
VLLM_ATTENTION_BACKEND=FLASHINFER exec vllm serve "$MODEL" -tp ${TP} $ARGS "$QUOTED" ${UNSET:-fallback} ${TP:+--x}
"""
    (command,) = split_script(script)
    assert command.words == [
        "exec", "vllm", "serve", "meta-llama/Llama-3.1-8B-Instruct", "-tp", "2", "--max-model-len", "8192",
        "--dtype", "bfloat16", "--served-model-name my model", "fallback", "--x",
    ]  # fmt: skip
    # Exported variables and the command's own prefix reach the engine; plain shell variables do not.
    assert command.env == {"MODEL": "meta-llama/Llama-3.1-8B-Instruct", "VLLM_ATTENTION_BACKEND": "FLASHINFER"}
    assert any("MODEL is not set here, so its default" in note for note in command.notes)


def test_unknowns_stay_visible_and_are_said() -> None:
    script = """vllm serve $MODEL --api-key "$(cat /run/secret)" --port `echo 8000` "$@" ${#X} $((1+2)) '$LITERAL'\n"""
    (command,) = split_script(script)
    assert command.words == [
        "vllm", "serve", "$MODEL", "--api-key", "$(cat /run/secret)", "--port", "`echo 8000`", "$@", "${#X}",
        "$((1+2))", "$LITERAL",
    ]  # fmt: skip
    notes = " | ".join(command.notes)
    for expected in ("MODEL is not set here", "command substitution", "the script's arguments", "arithmetic"):
        assert expected in notes


def test_a_complete_environment_makes_unset_variables_unset() -> None:
    env = {"HF_TOKEN": Unknown("from Secret hf (key token)"), "MODEL": "m"}
    (command,) = split_script('vllm serve "$MODEL" --hf-token $HF_TOKEN $EXTRA\n', env, env_is_complete=True)
    assert command.words == ["vllm", "serve", "m", "--hf-token", "$HF_TOKEN", "$EXTRA"]
    assert any("HF_TOKEN is from Secret hf" in note for note in command.notes)
    assert any("EXTRA is not set in the environment" in note for note in command.notes)


def test_arrays_as_in_the_production_stack_ray_script() -> None:
    script = """\
ARGS=(
  "vllm"
  "serve"
  "facebook/opt-125m"   # the model
  "--port" "8000"
)
ARGS+=("--enable-prefix-caching")
echo "Executing: ${ARGS[@]}"
exec "${ARGS[@]}"
"""
    commands = split_script(script)
    assert commands[-1].words == [
        "exec",
        "vllm",
        "serve",
        "facebook/opt-125m",
        "--port",
        "8000",
        "--enable-prefix-caching",
    ]
    assert commands[-1].line == 2  # where the command's words are written (its first element), not the exec


def test_heredocs_are_skipped_and_redirections_dropped() -> None:
    script = """\
cat <<EOF > /tmp/config.yaml
vllm serve not-a-command
EOF
cat <<-'END' >>/tmp/x 2>&1
\tvllm serve not-either
\tEND
vllm serve m 2>&1 >/var/log/vllm.log </dev/null
"""
    assert words(script) == [["cat"], ["cat"], ["vllm", "serve", "m"]]
    assert split_script(script)[-1].line == 7


def test_unset_and_control_structures() -> None:
    script = """\
A=1
unset A
if [ -z "$A" ]; then
  for i in 1 2; do echo $i; done
  vllm serve m
fi
"""
    assert words(script)[-1] == ["vllm", "serve", "m"]
    assert ["[", "-z", "$A", "]"] in words(script)


def test_assignments_and_text_for_dockerfiles() -> None:
    found = assignments_of('A=1 B="two words" C=${A}x D=$NOPE', {})
    assert [(name, value) for name, value, _ in found][:3] == [("A", "1"), ("B", "two words"), ("C", "1x")]
    assert isinstance(found[3][1], Unknown)
    assert expand_text("vllm/vllm-openai:${VERSION}", {"VERSION": "v0.11.0"}) == ("vllm/vllm-openai:v0.11.0", [])


def test_shell_script_of_reads_option_clusters() -> None:
    assert shell_script_of(["/bin/bash", "-euxc", "vllm serve m"]) == "vllm serve m"
    assert shell_script_of(["sh", "-o", "pipefail", "-c", "x"]) == "x"
    assert shell_script_of(["tini", "--", "bash", "-lc", "x"]) == "x"
    assert shell_script_of(["bash", "/start.sh"]) is None
    assert shell_script_of(["python3", "-c", "x"]) is None


def test_engine_commands_in_a_shell_script_get_the_script_environment() -> None:
    argv = ["sh", "-c", "pip install x && export VLLM_USE_V1=1 && exec vllm serve $MODEL -tp $TP"]
    (found,) = engine_commands(argv, {"MODEL": "m", "TP": "4"}, env_is_complete=True)
    assert found.command.args == ["m", "-tp", "4"]
    assert found.env == {"MODEL": "m", "TP": "4", "VLLM_USE_V1": "1"}
    assert found.script_line == 1


def test_a_shell_entrypoint_forwarding_its_arguments() -> None:
    argv = ["/bin/sh", "-c", 'echo "starting $0 with $# args"; exec vllm serve "$@" --port "${PORT:-8000}"', "vllm"]
    (found,) = engine_commands([*argv, "Qwen/Qwen3-8B", "--served-model-name", "my model"], {}, env_is_complete=True)
    assert found.command.args == ["Qwen/Qwen3-8B", "--served-model-name", "my model", "--port", "8000"]
    (bare,) = engine_commands(argv[:3], {}, env_is_complete=True)  # nothing after the script: "$@" is empty
    assert bare.command.args == ["--port", "8000"]
    (unknown,) = split_script('exec vllm serve "$@"\n')  # a script file: its caller's arguments are unknown
    assert unknown.words == ["exec", "vllm", "serve", "$@"]


ODD = st.lists(
    st.sampled_from([*"ab $(){}[]'\"\\`#;&|<>=-:\n\t*@!?0", "vllm", "serve", "<<EOF", "EOF", "${", "$((", "-c", "sh"]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(ODD)
def test_reading_never_raises_on_odd_input(text: str) -> None:
    """Stray operators, unterminated heredocs: read as far as possible, never a crash. A quote that never
    closes makes a shell refuse the script, so that one is our typed error, with the line it opened on."""
    from kgc_launch.deploy.compose import Interpolation
    from kgc_launch.deploy.dockerfile import dockerfile_findings
    from kgc_launch.deploy.k8s_container import expand_references

    def read(call: Callable[[], object]) -> None:
        try:
            call()
        except InputError as error:
            assert "unterminated quoted string" in error.message and error.line is not None

    read(lambda: [all(isinstance(word, str) for word in c.words) for c in split_script(text, {"A": "1"})])
    read(lambda: engine_commands(["sh", "-c", text, "name", "arg"], {}))
    read(lambda: dockerfile_findings("FROM vllm/vllm-openai\n" + text, "Dockerfile"))
    Interpolation({"A": "1"})(text)
    expand_references(text, {"A": "1"})


def test_lines_stay_exact_after_continuations_inside_substitutions() -> None:
    script = (
        "A=$(echo a \\\n  b \\\n  c)\n"  # lines 1-3
        "B=`echo x \\\n  y`\n"  # lines 4-5
        "C=$'one\\\ntwo'\n"  # lines 6-7
        "vllm serve m \\\n  --port 8000\n"  # line 8
    )
    (command,) = split_script(script)
    assert (command.words[:2], command.line) == (["vllm", "serve"], 8)
    assert script[command.offset :].startswith("vllm serve m")


BUILT = """\
PORT=${PORT:-8000}
CMD="vllm serve org/m --port $PORT"
CMD="$CMD --max-model-len 4096"
if [ -n "$LORA" ]; then
    CMD="$CMD --enable-lora"
fi
"""


def test_eval_reads_a_command_built_in_a_variable_where_it_was_written() -> None:
    (command,) = [c for c in split_script(BUILT + 'eval "$CMD"\n') if c.words[0] == "vllm"]
    assert command.words == ["vllm", "serve", "org/m", "--port", "8000", "--max-model-len", "4096"]
    assert command.line == 2  # the assignment that started CMD, not the `eval` on line 7
    assert "line 5: under a condition, CMD may get ' --enable-lora' appended (not applied)" in command.notes
    assert "run by `eval` (line 2)" in command.notes


def test_a_command_run_from_a_variable_is_placed_where_it_was_written() -> None:
    for runner in ("$CMD", "exec $CMD"):
        (command,) = [c for c in split_script(BUILT + runner + "\n") if "serve" in c.words]
        assert command.line == 2, runner


def test_eval_requotes_and_keeps_unknown_parts_visible() -> None:
    script = "CMD=\"vllm serve m --host '0.0.0.0' -tp '$TP' \"\neval $CMD\n"
    (command,) = split_script(script)
    assert command.words == ["vllm", "serve", "m", "--host", "0.0.0.0", "-tp", "$TP"]
    assert command.line == 1


def test_conditional_assignments_fill_unset_or_run_time_values_only() -> None:
    script = """\
if [ -z "$MODEL" ]; then MODEL=org/default; fi
RANK=""
for i in 1 2; do
  RANK=$(hostname)
done
TP=1
case "$SIZE" in big) TP=8 ;; esac
vllm serve $MODEL -tp $TP --node-rank=$RANK
"""
    command = split_script(script)[-1]
    assert command.words == ["vllm", "serve", "org/default", "-tp", "1", "--node-rank=$RANK"]


def test_a_wrapped_launch_starts_at_the_engine_word_not_at_the_wrapper() -> None:
    script = "srun -p gpu --gres=gpu:8 \\\nvllm serve m \\\n    -tp 8\nnohup vllm serve m2 &\n"
    commands = split_script(script)
    assert [command.words[-1] for command in commands] == ["8", "m2"]
    assert [command.line for command in commands] == [2, 4]


def test_a_launch_after_continued_environment_assignments_starts_at_the_engine_word() -> None:
    script = "#!/bin/bash\nCUDA_VISIBLE_DEVICES=2 \\\nvllm serve m \\\n    --max-model-len 32768\nA=1 vllm serve m2\n"
    commands = split_script(script)
    assert [command.words[:3] for command in commands] == [["vllm", "serve", "m"], ["vllm", "serve", "m2"]]
    assert [command.line for command in commands] == [3, 5]
    assert commands[0].env["CUDA_VISIBLE_DEVICES"] == "2"
