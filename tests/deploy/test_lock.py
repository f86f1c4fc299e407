"""The lock files against pyproject.toml, and the installed environment against the lock files.

requirements.lock (what the system install puts in /opt/kura) and requirements-test.lock (the same
pins plus the test tools, for `./install.sh --dev` and so for CI) are written by
`./install.sh --update-lock` with uv. These tests read them as pip does and fail when they and
pyproject.toml drift apart, so nobody edits one and forgets the other.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
PYPROJECT = ROOT / "pyproject.toml"
ROOT_PARENT = "kura (pyproject.toml)"  # how uv names a dependency that pyproject.toml asks for itself
CONSTRAINT = "-c requirements.lock"  # how uv names the runtime lock that constrains the test lock
# The pieces whose semantics Kura leans on: each must stop below the first release not yet tested.
FRAMEWORK = ("fastapi", "starlette", "sqlalchemy", "uvicorn")
# The two Pythons Kura supports on Linux, as pip evaluates markers there (Debian 12 and Debian 13).
DEBIAN = {
    "3.11": {"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux",
             "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
             "platform_python_implementation": "CPython", "implementation_name": "cpython"},
    "3.13": {"python_version": "3.13", "python_full_version": "3.13.5", "sys_platform": "linux",
             "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
             "platform_python_implementation": "CPython", "implementation_name": "cpython"},
}


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: tuple[str, ...]
    via: tuple[str, ...]

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> str:
        (spec,) = self.requirement.specifier  # one `==`: checked by a test below
        return spec.version

    def applies(self, environment: dict[str, str] | None = None) -> bool:
        marker = self.requirement.marker
        return marker is None or marker.evaluate(environment)


def read_lock(path: Path) -> list[Pin]:
    """A uv/pip-compile lock: `name==version ; marker \\`, `--hash=…` lines, then `# via` comments."""
    pins: list[Pin] = []
    spec, hashes, via = "", [], []

    def flush() -> None:
        if spec:
            pins.append(Pin(Requirement(spec), tuple(hashes), tuple(via)))

    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip().removesuffix("\\").strip()
        if not line.startswith((" ", "#")) and text:
            flush()
            spec, hashes, via = text, [], []
        elif text.startswith("--hash="):
            hashes.append(text.removeprefix("--hash="))
        elif line.startswith(" ") and text.startswith("# via"):
            via.extend([text.removeprefix("# via").strip()] if text != "# via" else [])
        elif line.startswith(" ") and text.startswith("#   "):
            via.append(text.removeprefix("#").strip())
    flush()
    return pins


def pyproject_requirements(*extras: str) -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    found = list(project["dependencies"])
    for extra in extras:
        found += project["optional-dependencies"][extra]
    return [Requirement(text) for text in found]


LOCKS = [pytest.param(RUNTIME_LOCK, (), id="requirements.lock"),
         pytest.param(TEST_LOCK, ("test",), id="requirements-test.lock")]


@pytest.mark.parametrize(("lock", "extras"), LOCKS)
def test_every_locked_package_is_one_exact_version_with_hashes(lock: Path, extras: tuple[str, ...]) -> None:
    pins = read_lock(lock)
    assert len(pins) > 20  # the parser found the file's entries, not nothing
    for pin in pins:
        assert [spec.operator for spec in pin.requirement.specifier] == ["=="], pin.requirement
        assert pin.hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes), pin.name


@pytest.mark.parametrize(("lock", "extras"), LOCKS)
def test_every_dependency_pyproject_names_is_locked_inside_its_range(lock: Path, extras: tuple[str, ...]) -> None:
    pins = read_lock(lock)
    for wanted in pyproject_requirements(*extras):
        locked = [pin for pin in pins if pin.name == canonicalize_name(wanted.name)]
        assert locked, f"{wanted} is in pyproject.toml but not in {lock.name}: run ./install.sh --update-lock"
        for pin in locked:
            assert wanted.specifier.contains(pin.version, prereleases=True), (
                f"{lock.name} pins {pin.name}=={pin.version}, outside pyproject.toml's {wanted}: "
                "run ./install.sh --update-lock")


@pytest.mark.parametrize(("lock", "extras"), LOCKS)
def test_the_lock_holds_nothing_that_pyproject_no_longer_asks_for(lock: Path, extras: tuple[str, ...]) -> None:
    pins = read_lock(lock)
    direct = {pin.name for pin in pins if ROOT_PARENT in pin.via}
    assert direct == {canonicalize_name(r.name) for r in pyproject_requirements(*extras)}
    # Every other entry is there because something locked needs it (no orphans left behind).
    names = {pin.name for pin in pins}
    for pin in pins:
        parents = {canonicalize_name(v) for v in pin.via if v not in (ROOT_PARENT, CONSTRAINT)}
        assert ROOT_PARENT in pin.via or parents, f"{pin.name} in {lock.name} is wanted by nothing"
        assert parents <= names, f"{pin.name} in {lock.name} is wanted by {parents - names}, which is not locked"


def test_the_tests_run_exactly_the_pins_the_system_install_uses() -> None:
    runtime = {(pin.name, str(pin.requirement.marker)): pin for pin in read_lock(RUNTIME_LOCK)}
    test = {(pin.name, str(pin.requirement.marker)): pin for pin in read_lock(TEST_LOCK)}
    for key, pin in runtime.items():
        assert key in test, f"{pin.name} is in requirements.lock but not in requirements-test.lock"
        assert (test[key].version, set(test[key].hashes)) == (pin.version, set(pin.hashes)), pin.name


def test_the_framework_pieces_stop_below_the_first_untested_release() -> None:
    wanted = {canonicalize_name(r.name): r for r in pyproject_requirements()}
    for name in FRAMEWORK:
        assert name in wanted, f"{name} must be a direct dependency, with bounds"
        assert any(spec.operator == "<" for spec in wanted[name].specifier), f"{wanted[name]} has no upper bound"


@pytest.mark.parametrize("python", sorted(DEBIAN))
@pytest.mark.parametrize(("lock", "extras"), LOCKS)
def test_the_lock_gives_one_version_of_each_package_on_each_supported_python(
        lock: Path, extras: tuple[str, ...], python: str) -> None:
    environment = DEBIAN[python]
    chosen: dict[str, list[str]] = {}
    for pin in read_lock(lock):
        if pin.applies(environment):
            chosen.setdefault(pin.name, []).append(pin.version)
    assert {name: versions for name, versions in chosen.items() if len(versions) > 1} == {}
    for wanted in pyproject_requirements(*extras):
        if wanted.marker is None or Marker(str(wanted.marker)).evaluate(environment):
            assert canonicalize_name(wanted.name) in chosen, f"{wanted.name} has no line for Python {python}"


def test_this_environment_runs_exactly_the_locked_versions() -> None:
    """`./install.sh --dev` installed from requirements-test.lock, so the tests run what was locked."""
    wrong = {}
    for pin in read_lock(TEST_LOCK):
        if pin.applies():
            try:
                installed = importlib.metadata.version(pin.name)
            except importlib.metadata.PackageNotFoundError:
                installed = "missing"
            if installed != pin.version:
                wrong[pin.name] = f"locked {pin.version}, installed {installed}"
    assert wrong == {}, "run ./install.sh --dev"


def test_the_readme_names_the_locked_versions() -> None:
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split("**Which versions get installed.**")[1]
                    .split("\n\n")[0].split())
    named = dict(re.findall(r"(FastAPI|Starlette|SQLAlchemy|Alembic|uvicorn|Pydantic|sentry-sdk) (\d[\w.]*\d)", text))
    locked = {pin.name: pin.version for pin in read_lock(RUNTIME_LOCK)}
    assert len(named) == 7, named
    assert {canonicalize_name(name): version for name, version in named.items()} == {
        canonicalize_name(name): locked[canonicalize_name(name)] for name in named}


def test_a_package_another_wants_with_extras_is_locked_with_them() -> None:
    """pip before 23.3 (Debian 12 ships 23.0.1) in --require-hashes mode takes `coverage[toml]>=7.10.6`,
    asked for by pytest-cov, as a requirement of its own: it fetches the newest coverage and refuses it
    as unpinned unless the lock line names the extra too (`coverage[toml]==…`, uv's --no-strip-extras)."""
    pins = {pin.name: pin for pin in read_lock(TEST_LOCK) if pin.applies()}
    wanted = [(ROOT_PARENT, r) for r in pyproject_requirements("test")]
    for pin in pins.values():
        for extra in {"", *pin.requirement.extras}:
            for req in map(Requirement, importlib.metadata.requires(pin.name) or []):
                if req.marker is None or req.marker.evaluate({"extra": extra}):
                    wanted.append((pin.name, req))
    missing = {f"{req} (for {parent})" for parent, req in wanted
               if req.extras and canonicalize_name(req.name) in pins
               and not req.extras <= pins[canonicalize_name(req.name)].requirement.extras}
    assert any(req.extras for _, req in wanted)  # there is something to check: uvicorn[standard] at least
    assert missing == set(), "run ./install.sh --update-lock (it passes --no-strip-extras)"
