"""The built wheel: what it adds to site-packages, and `auth-api` run from it outside the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tooling.devserver import TEST_ENV, free_port

# One worker builds the wheel and its virtualenv once for the whole module (make unit's -n).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).resolve().parents[1]
# What a checkout holds beside the sources: never part of a build.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "*.egg-info", "__pycache__", ".*_cache"
)
SECRET = "wheel-test-secret-key-of-at-least-32-bytes"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the checkout, so the build writes nothing into the repo."""
    source = tmp_path_factory.mktemp("source") / "auth-api"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("auth_api-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> list[str]:
    """List the files inside the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the wheel into a fresh virtualenv outside the repo; return its `bin` directory."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(target)]
    subprocess.run(
        [*pip, "install", "--no-deps", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # The dependencies come from this project's environment, read-only and after the venv's
    # own site-packages: the install works offline and the package itself comes from the wheel.
    site = Path(
        subprocess.run(
            [str(target), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"


@pytest.fixture(scope="module")
def server(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the installed `auth-api` on a free port, from a directory outside the repo."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JWT_", "APP_"))}
    env.update(JWT_SECRET_KEY=SECRET, BCRYPT_ROUNDS="4", STORAGE_URL="memory://")
    log = (elsewhere / "server.log").open("wb")
    process = subprocess.Popen(
        [str(installed / "auth-api"), "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base_url, process, elsewhere / "server.log")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_wheel_adds_only_authapi_to_site_packages(names: list[str]) -> None:
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"authapi", "auth_api-0.1.0.dist-info"}


def test_wheel_carries_the_spec_the_repo_holds(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("authapi/openapi/auth.yaml")
    assert shipped == (ROOT / "openapi" / "auth.yaml").read_bytes()


def test_wheel_ships_every_module_of_the_package_and_of_the_handlers(names: list[str]) -> None:
    expected = {f"authapi/{path.relative_to(ROOT / 'authapi')}" for path in _modules("authapi")}
    expected |= {f"authapi/handlers/{path.name}" for path in _modules("handlers")}
    assert expected - set(names) == set()


def test_wheel_holds_no_test_support_and_no_development_secret(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            assert not any(part in name for part in ("devserver", "tests/", "conftest")), name
            assert TEST_ENV["JWT_SECRET_KEY"].encode() not in archive.read(name), name


def test_installed_package_is_imported_from_the_fresh_virtualenv(installed: Path) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import authapi.handlers.auth as m; print(m.__file__)"],
        cwd=installed,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.parent)


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/docs/"])
def test_installed_auth_api_answers(server: str, path: str) -> None:
    assert requests.get(f"{server}{path}", timeout=10).status_code == 200


def _modules(directory: str) -> list[Path]:
    return [
        path
        for path in (ROOT / directory).rglob("*.py")
        if "__pycache__" not in path.parts and path.suffix == ".py"
    ]


def _wait_for(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"auth-api exited at startup:\n{log.read_text(errors='replace')}")
        try:
            if requests.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail(f"auth-api did not answer /health within 30 s:\n{log.read_text(errors='replace')}")
