"""The lock files in requirements/ (what `make`, the Dockerfile and CI install) still match
pyproject.toml: a dependency added or narrowed there without `make lock` fails here, with no
network, instead of installing something else or nothing."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (LOCKS / name).read_text()
    return {canonicalize_name(package): version for package, version in PIN.findall(text)}


def project() -> dict[str, list[str]]:
    metadata = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": metadata["dependencies"], "dev": metadata["optional-dependencies"]["dev"]}


def unmet(requirements: list[str], locked: dict[str, str]) -> list[str]:
    missing = []
    for line in requirements:
        requirement = Requirement(line)
        version = locked.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{line} (locked: {version})")
    return missing


def test_the_runtime_lock_pins_every_runtime_dependency_within_its_range() -> None:
    assert not unmet(project()["runtime"], pins("runtime.txt")), "run `make lock`"


def test_the_dev_lock_pins_every_dependency_and_the_runtime_ones_as_the_runtime_lock() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert not unmet(project()["runtime"] + project()["dev"], dev), "run `make lock`"
    differ = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert not differ, f"run `make lock`: {differ}"


def test_every_pin_carries_its_hashes_and_pip_is_pinned_too() -> None:
    for name in ("pip.txt", "uv.txt", "runtime.txt", "dev.txt"):
        entries = [b for b in re.split(r"\n(?=[^\s#])", (LOCKS / name).read_text()) if PIN.match(b)]
        assert entries, name
        unhashed = [e.split()[0] for e in entries if "--hash=sha256:" not in e]
        assert not unhashed, f"{name}: {unhashed}"
    assert set(pins("pip.txt")) == {"pip"}
    assert set(pins("uv.txt")) == {"uv"}
