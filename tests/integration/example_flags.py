#!/usr/bin/env python3
"""Runs every rookery command line written in the examples with --check-flags.

usage: example_flags.py [--in-image 'PODMAN RUN ... IMAGE'] BUILD_DIR EXAMPLES_DIR

Command lines come from systemd units (ExecStart*, continuation lines joined) and Kubernetes
manifests (command + args of every container and init container). Each runs as the real
binary with --check-flags, which parses every flag and value and exits 0 without reading files
or starting anything. With --in-image, each runs inside the image as written (absolute paths
and all) after the given command. Prints one line per command; exits 1 if any was refused or if
no command line was found at all.
"""
import argparse
import os
import shlex
import subprocess
import sys

import yaml

BINARIES = {
    "rookery-proxy": "registry-proxy/rookery-proxy",
    "rookery-seeder": "seeder/rookery-seeder",
    "rookery": "cli/rookery",
}


def systemd_commands(text):
    """argv lists of the ExecStart*/ExecStop* lines of a unit file."""
    joined = text.replace("\\\n", " ")
    for line in joined.splitlines():
        key, _, value = line.strip().partition("=")
        if key.startswith("Exec"):
            yield shlex.split(value.lstrip("-@:+!"))


def pod_specs(node):
    """Every dict holding a 'containers' list, at any depth."""
    if isinstance(node, dict):
        if isinstance(node.get("containers"), list):
            yield node
        for value in node.values():
            yield from pod_specs(value)
    elif isinstance(node, list):
        for value in node:
            yield from pod_specs(value)


def kubernetes_commands(text):
    """argv lists (command + args) of every container in every document."""
    for doc in yaml.safe_load_all(text):
        for spec in pod_specs(doc):
            for c in spec.get("initContainers", []) + spec["containers"]:
                argv = [str(a) for a in c.get("command", []) + c.get("args", [])]
                if argv:
                    yield argv


def example_commands(examples):
    """(file, argv) for every rookery command line under `examples`."""
    for root, _, files in sorted(os.walk(examples)):
        for name in sorted(files):
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if name.endswith(".service"):
                found = systemd_commands(text)
            elif name.endswith((".yaml", ".yml")) and "kind:" in text:
                found = kubernetes_commands(text)
            else:
                continue
            for argv in found:
                if os.path.basename(argv[0]) in BINARIES:
                    yield path, argv


def check(launcher, path, argv):
    """True when the binary accepts the command line; `launcher` maps argv[0] to a command."""
    run = subprocess.run(launcher(argv[0]) + ["--check-flags"] + argv[1:], capture_output=True,
                         text=True, timeout=60, check=False)
    shown = " ".join(shlex.quote(a) for a in argv)
    if run.returncode == 0:
        print(f"ok: {path}: {shown}")
        return True
    print(f"REFUSED: {path}: {shown}\n  {(run.stdout + run.stderr).strip()}")
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--in-image", help="a command that runs its arguments in the image")
    parser.add_argument("build")
    parser.add_argument("examples")
    args = parser.parse_args()
    if args.in_image:
        def launcher(program):
            return shlex.split(args.in_image) + [program]
    else:
        def launcher(program):
            return [os.path.join(args.build, BINARIES[os.path.basename(program)])]
    commands = list(example_commands(args.examples))
    if not commands:
        print(f"no rookery command line found under {args.examples}")
        return 1
    results = [check(launcher, path, argv) for path, argv in commands]
    print(f"{results.count(True)} command lines accepted, {results.count(False)} refused")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
