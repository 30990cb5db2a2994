"""docker-compose.yml sets only settings Sage really reads, and is a valid
compose file where a compose client exists to say so."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from sagents.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


def sage_variables(spec: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for service in spec["services"].values():
        environment = service.get("environment") or {}
        keys = (
            environment if isinstance(environment, dict) else [e.split("=")[0] for e in environment]
        )
        names |= {k for k in keys if k.startswith("SAGE_")}
    return names


def test_every_sage_variable_is_a_setting() -> None:
    spec = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    names = sage_variables(spec)
    assert {"SAGE_DATABASE_URL", "SAGE_REDIS_URL", "SAGE_CHROMA_URL"} <= names
    fields = {f"SAGE_{name.upper()}" for name in Settings.model_fields}
    assert names - fields == set()
    replicas = [s for s in spec["services"].values() if s.get("build")]
    assert len(replicas) == 2  # two Sage replicas behind the load balancer


def compose_command() -> list[str] | None:
    client = shutil.which("docker-compose")
    if client is not None:
        return [client]
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    return [docker, "compose"] if probe.returncode == 0 else None


def test_the_compose_client_accepts_the_file() -> None:
    command = compose_command()
    if command is None:
        return  # no compose client on this machine; the static check above still ran
    env = {**os.environ, "SAGE_API_KEYS": "k:alice"}
    done = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
