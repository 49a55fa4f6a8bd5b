from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kgc_launch.deploy.launch import Launch, Unknown
from kgc_launch.deploy.wrapper import wrapper_options
from kgc_launch.errors import UsageError


def launch(wrapper: list[str], env: dict[str, Any] | None = None) -> Launch:
    return Launch("k8s/a.yaml", 3, "Deployment/a/engine", "kubernetes", "ferrum", ["-m", "M"], env or {}, 1,
                  wrapper=wrapper)  # fmt: skip


def test_the_launchers_options_are_read_as_the_launcher_reads_them() -> None:
    read = wrapper_options(launch(["--require-registered", "--set", "FERRUM_KV_MAX_BLOCKS=64", "--"]))
    assert read.options.require_registered and read.options.set_entries == {"FERRUM_KV_MAX_BLOCKS": "64"}
    env = {"KGC_REQUIRE_REGISTERED": "1", "KGC_FERRUM_FEATURES": "cuda"}
    from_env = wrapper_options(launch(["--"], env))  # `kgc-launch -- ferrum serve ...` (or without `--`)
    assert from_env.options.require_registered and from_env.options.ferrum_features == ["cuda"]
    assert from_env.options.origins == {"require_registered": "from KGC_REQUIRE_REGISTERED",
                                        "ferrum_features": "from KGC_FERRUM_FEATURES"}  # fmt: skip
    assert not wrapper_options(launch(["--"])).options.require_registered


def test_kgc_variables_do_nothing_to_an_engine_started_without_kgc_launch() -> None:
    plain = wrapper_options(launch([], {"KGC_REQUIRE_REGISTERED": "1", "KGC_HARDWARE": "T4"}))
    assert not plain.options.require_registered and plain.options.hardware is None


def test_a_config_file_in_the_container_is_said_not_read() -> None:
    read = wrapper_options(launch(["--kgc-config", "/etc/kgc.yaml", "--dry-run", "--"]))
    assert read.options.dry_run and read.notes == [
        "its --kgc-config file /etc/kgc.yaml is in the container: the options in it are not read here",
        "kgc-launch runs it as a dry run (--dry-run): the engine never starts",
    ]


def test_a_config_file_readable_here_is_read_as_the_launcher_reads_it(tmp_path: Path) -> None:
    config = tmp_path / "kgc.yaml"
    config.write_text("hardware: 2xL4\nrequire-registered: true\n")
    read = wrapper_options(launch(["--kgc-config", str(config), "--"]))
    assert read.options.hardware == "2xL4" and read.options.require_registered and read.notes == []
    assert read.options.origins["hardware"] == f"from the --kgc-config file {config}"


def test_launch_options_after_the_engine_stop_the_launcher() -> None:
    wrapped = Launch("k8s/a.yaml", 3, "Deployment/a/engine", "kubernetes", "vllm", ["M", "--dry-run", "-tp", "2"],
                     {}, 1, wrapper=["--hardware", "H100", "--"])  # fmt: skip
    assert wrapper_options(wrapped).stop == (
        "kgc-launch would stop (exit 2): launch options go before the engine: "
        "kgc-launch --hardware H100 --dry-run -- vllm serve M -tp 2"
    )


def test_a_launch_variable_whose_value_is_not_in_the_file_is_not_evaluated() -> None:
    read = wrapper_options(launch(["--"], {"KGC_REQUIRE_REGISTERED": Unknown("from ConfigMap kgc (key strict)")}))
    assert read.undecided == [
        "not evaluated: kgc-launch reads KGC_REQUIRE_REGISTERED, whose value is not in the file "
        "(from ConfigMap kgc (key strict))"
    ]


def test_the_registry_the_launcher_is_given() -> None:
    assert wrapper_options(launch(["--registry", "/etc/kgc/r.yaml", "--"])).registry == "/etc/kgc/r.yaml"
    assert wrapper_options(launch(["--"], {"KGC_REGISTRY": "/a.yaml"})).registry == "/a.yaml"
    assert wrapper_options(launch(["--"], {"KNOWN_GOOD_CONFIG_REGISTRY": "/b.yaml"})).registry == "/b.yaml"
    assert wrapper_options(launch(["--"])).registry is None


def test_options_the_launcher_would_reject_raise() -> None:
    with pytest.raises(UsageError, match="is not KEY=VALUE"):
        wrapper_options(launch(["--set", "oops", "--"]))
