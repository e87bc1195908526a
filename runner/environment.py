"""What a results document says about where and with what it was measured."""
from __future__ import annotations

import os
import platform
import re
import subprocess

import docker

from perflab.catalogue import ROOT


def _run(*command: str) -> str | None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=20, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    output = (result.stdout + result.stderr).strip()
    return output if result.returncode == 0 and output else None


def _first_match(pattern: str, text: str | None) -> str | None:
    match = re.search(pattern, text or "")
    return match.group(1) if match else None


def host() -> dict:
    cpu_model = None
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu_model = _first_match(r"model name\s*:\s*(.+)", cpuinfo.read())
    except OSError:
        pass
    memory = None
    try:
        with open("/proc/meminfo") as meminfo:
            kib = _first_match(r"MemTotal:\s*(\d+) kB", meminfo.read())
            memory = int(kib) * 1024 if kib else None
    except OSError:
        pass
    os_name = None
    try:
        with open("/etc/os-release") as release:
            os_name = _first_match(r'PRETTY_NAME="([^"]+)"', release.read())
    except OSError:
        pass
    return {"cpuModel": cpu_model, "cores": os.cpu_count(), "memoryBytes": memory, "kernel": platform.release(),
            "os": os_name}


def git() -> dict:
    commit = _run("git", "rev-parse", "HEAD")
    status = _run("git", "status", "--porcelain", "--untracked-files=no")
    return {"gitCommit": commit, "gitDirty": bool(status)}


def toolchains() -> dict:
    return {"go": _first_match(r"go version (go\S+)", _run("go", "version")),
            "rust": _first_match(r"rustc (\S+)", _run("rustc", "--version")),
            "java": _first_match(r'version "([^"]+)"', _run("java", "-version")),
            "python": platform.python_version()}


def docker_version(client: docker.DockerClient | None = None) -> str | None:
    try:
        return (client or docker.from_env()).version().get("Version")
    except docker.errors.DockerException:
        return None


def describe(client: docker.DockerClient | None = None, network_path: str = "host") -> dict:
    return {**git(), "host": host(),
            "versions": {"docker": docker_version(client), "python": platform.python_version(),
                         "toolchains": toolchains()},
            "networkPath": network_path}
