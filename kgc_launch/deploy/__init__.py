"""Deploy files (Kubernetes, KServe, compose, Helm values, Dockerfiles, shell scripts) -> engine launches.

launch.py       the Launch record; which command lines start an engine (engine_launch_from_argv)
shell_lex.py    a script into commands of words, quoting kept; shell.py: variables and expansion
command.py      a container's argv (ENTRYPOINT + CMD, `sh -c` scripts) -> engine commands
fastyaml.py     a fast reader for plain block YAML, ruamel for the rest
kubernetes.py, k8s_container.py, config_maps.py, kserve.py, workflows.py, compose.py, dockerfile.py,
helm_values.py, script.py, docker_run.py   one reader per kind of file, each following its tool's rules
scan.py         scan_paths(PATHS) -> ScanResult; report.py: text, json, SARIF and GitHub reports
check.py        each launch against the registry and, with --hardware, the engine's resolver (resolve.py);
models.py       the model of each launch, read once per run; wrapper.py: kgc-launch's own options
"""
