"""CLR Studio installs like a Python package: the wheel holds the library and the app,
declares the runtime dependencies, and works from a virtual environment outside the
checkout (`clr-studio --version`, a library range test, `clr-studio app` until it answers).

The slow tests build one wheel from a copy of the working tree (so a stale ``build/`` cannot
leak into it and the checkout is not written to) and install it alone (``--no-deps``) into a
virtual environment that sees this test environment's packages; they run from ``tmp_path``
with no PYTHONPATH, and check that the ``clr_core`` imported is the wheel's, not this
checkout's or an editable install's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import warnings
import zipfile
from pathlib import Path

import pytest

import clr_core

# one worker runs this file (pytest-xdist --dist loadgroup): its module fixtures start once
pytestmark = pytest.mark.xdist_group("package")

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; reads pyproject.toml
ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
BIN = "Scripts" if os.name == "nt" else "bin"
#: Top-level names of the working tree a build never needs (and must not pick up).
NOT_COPIED = {".git", ".venv", "build", "dist", "artifacts", ".hypothesis", ".pytest_cache",
              ".ruff_cache", "node_modules"}
#: What pip says when it cannot reach an index (then the dry run cannot resolve).
OFFLINE = re.compile(r"NewConnectionError|Failed to establish a new connection|Max retries "
                     r"exceeded|Temporary failure in name resolution|Network is unreachable|"
                     r"ProxyError|Read timed out|ConnectTimeout")


def _name(requirement: str) -> str:
    """A requirement's project name, normalised (PEP 503)."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1)
    return re.sub(r"[-_.]+", "-", name).lower()


# -- fast: pyproject.toml and the requirements files agree ---------------------------------

def test_the_package_list_names_every_package_of_clr_core() -> None:
    """pyproject.toml lists the packages (the app's need a folder mapping, which
    setuptools' find cannot combine with); a new subpackage must not be left out."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "clr_core").rglob(
        "__init__.py") if "__pycache__" not in p.parts}
    assert {p for p in listed if p.startswith("clr_core")} == on_disk
    assert {"clr_studio_app", "clr_studio_app.pages", "clr_studio_app.ui"} <= listed


def test_the_requirements_files_install_the_package_and_its_extras() -> None:
    """requirements*.txt name the package itself (editable) with one of its extras, so
    pyproject.toml is the one list of dependencies and nothing can drift from it."""
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert set(extras) == {"ray", "lightning", "hf", "trackers", "dev", "bench"}
    wanted = {"requirements.txt": "-e .", "requirements-dev.txt": "-e .[dev]",
              "requirements-ray.txt": "-e .[ray]", "requirements-bench.txt": "-e .[bench]"}
    for file, line in wanted.items():
        lines = [x.strip() for x in (ROOT / file).read_text().splitlines()
                 if x.strip() and not x.lstrip().startswith("#")]
        assert lines == [line], file
    assert sorted(p.name for p in ROOT.glob("requirements*.txt")) == sorted(wanted)
    runtime = {_name(r): r for r in PYPROJECT["project"]["dependencies"]}
    # the pins that make pip take torch from this machine's disk
    assert runtime["torch"] == "torch==2.14.1" and runtime["torchvision"] == "torchvision==0.29.1"
    assert {"numpy", "pandas", "plotly", "scikit-learn", "streamlit", "kaleido", "schedulefree",
            "pydantic-settings", "platformdirs"} <= set(runtime)


def test_the_version_has_one_source() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "clr_core.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(\S*)", clr_core.__version__)
    assert (ROOT / "clr_core" / "py.typed").exists()
    assert "MIT License" in (ROOT / "LICENSE").read_text()


# -- slow: the wheel, built and installed ---------------------------------------------------

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = NOT_COPIED if Path(folder) == ROOT else set()
        return {n for n in names if n in top or n == "__pycache__" or n.endswith(".egg-info")}

    shutil.copytree(ROOT, source, ignore=ignore)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--no-index", "-w", str(work / "dist"),
                           str(source)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = (work / "dist").glob("clr_studio-*.whl")
    return built


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(CLR_STUDIO_DB=str(tmp_path / "runs.db"), PYTHONNOUSERSITE="1")
    return env


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A virtual environment outside the checkout that sees this environment's packages
    (``--system-site-packages`` gives only the base interpreter's when this one is itself a
    venv, so a .pth adds this environment's site folders after the venv's own) and holds the
    wheel alone."""
    home = tmp_path_factory.mktemp("venv")
    env_dir = home / "env"
    done = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                           "--without-pip", str(env_dir)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    python = env_dir / BIN / ("python.exe" if os.name == "nt" else "python")
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                   "get_path('purelib'))"], capture_output=True, text=True,
                                  check=True, cwd=home).stdout.strip())
    ours = [*site.getsitepackages(), sysconfig.get_path("purelib")]
    (purelib / "_clr_studio_test_env.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dict.fromkeys(ours)) + "\n")
    done = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed",
                           "--no-index", str(wheel)], capture_output=True, text=True, timeout=240,
                          cwd=home, env=_clean_env(home))
    assert done.returncode == 0, done.stdout + done.stderr
    return env_dir


def _in_venv(venv: Path, *args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    command = [str(venv / BIN / args[0]), *args[1:]]
    return subprocess.run(command, cwd=cwd, env=_clean_env(cwd), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_the_wheel_holds_the_library_and_the_app(wheel) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    library = {p.relative_to(ROOT).as_posix() for p in (ROOT / "clr_core").rglob("*")
               if p.suffix in (".py", ".json", ".typed") and "__pycache__" not in p.parts}
    assert "clr_core/py.typed" in library and library <= names
    app = {"clr_studio_app/app.py", "clr_studio_app/.streamlit/config.toml",
           *(f"clr_studio_app/pages/{p.name}" for p in (ROOT / "pages").glob("*.py")),
           *(f"clr_studio_app/ui/{p.name}" for p in (ROOT / "ui").glob("*.py"))}
    assert "clr_studio_app/ui/__init__.py" in app and app <= names
    # the app's folders only under clr_studio_app: no top-level `ui` or `pages` in site-packages
    tops = {n.split("/")[0] for n in names}
    assert tops == {"clr_core", "clr_studio_app", wheel.name.split("-")[0] + "-"
                    + clr_core.__version__ + ".dist-info"}
    version = wheel.name.split("-")[1]
    assert version == clr_core.__version__
    meta = zipfile.ZipFile(wheel).read(f"clr_studio-{version}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in meta and "Author: CLR Studio developers" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    requires = re.findall(r"^Requires-Dist: (.+)$", meta, flags=re.M)
    runtime = sorted(r for r in requires if "extra ==" not in r)
    assert runtime == sorted(r.replace(" ", "") for r in PYPROJECT["project"]["dependencies"])
    for extra in ("ray", "lightning", "hf", "dev", "bench"):
        assert f"Provides-Extra: {extra}" in meta


@pytest.mark.slow
def test_a_fresh_environment_would_receive_the_runtime_dependencies(wheel, tmp_path) -> None:
    """pip resolves the wheel as for an empty environment (``--ignore-installed``) without
    installing or downloading the packages (``--dry-run``: metadata only; torch comes from
    this machine's disk). Offline, the resolution cannot run; the wheel's Requires-Dist
    (checked above) is then all there is, and the test says so."""
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run",
                           "--ignore-installed", "--quiet", "--retries", "1", "--timeout", "30",
                           "--report", str(report), str(wheel)],
                          capture_output=True, text=True, timeout=280, cwd=tmp_path)
    if done.returncode != 0 and OFFLINE.search(done.stdout + done.stderr):
        warnings.warn("pip could not reach an index: the dry-run resolution was not checked, "
                      "only the wheel's Requires-Dist", stacklevel=1)
        return
    assert done.returncode == 0, done.stdout + done.stderr
    install = {_name(item["metadata"]["name"]): item for item in json.loads(
        report.read_text())["install"]}
    assert install["clr-studio"]["requested"]
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert _name(requirement) in install, requirement
    assert install["torch"]["metadata"]["version"] == "2.14.1"
    assert install["torchvision"]["metadata"]["version"] == "0.29.1"
    for optional in ("ray", "lightning", "transformers", "mlflow", "pytest", "torch-lr-finder"):
        assert optional not in install, f"{optional} is an extra's, not a runtime dependency"


@pytest.mark.slow
def test_the_installed_command_and_library_are_the_wheels(venv, tmp_path) -> None:
    version = _in_venv(venv, "clr-studio", "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"clr-studio {clr_core.__version__}"
    helped = _in_venv(venv, "clr-studio", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: clr-studio ")
    assert "app" in helped.stdout and "range-test" in helped.stdout
    helped = _in_venv(venv, "python", "-m", "clr_core", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: python -m clr_core ")
    where = _in_venv(venv, "python", "-c", "import json, sys, sysconfig, clr_core; print(json."
                     "dumps([clr_core.__file__, sysconfig.get_path('purelib'), sys.path]))",
                     cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    module, purelib, path = json.loads(where.stdout)
    assert Path(module).parent == Path(purelib) / "clr_core"  # not the checkout's, not editable
    assert str(ROOT) not in path


LIBRARY_RANGE_TEST = '''
import json
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import clr_core
from clr_core.range_test import run_range_test

torch.manual_seed(0)
x = torch.randn(512, 10)
loader = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
result = run_range_test(model, optimizer, nn.CrossEntropyLoss(), loader,
                        start_lr=1e-7, end_lr=10, num_iter=100, mode="exp")
rec = result.suggestions["recommended"]
print(json.dumps({"module": clr_core.__file__, "lrs": list(map(float, result.lrs)),
                  "base_lr": rec.base_lr, "max_lr": rec.max_lr, "low": rec.low,
                  "high": rec.high}))
'''


@pytest.mark.slow
def test_a_library_range_test_runs_from_the_wheel(venv, tmp_path) -> None:
    """The README's "Using the library" range test, on a model and loader of its own."""
    done = _in_venv(venv, "python", "-c", LIBRARY_RANGE_TEST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(out["module"]).is_relative_to(venv)
    assert out["lrs"][0] == pytest.approx(1e-7) and 10 < len(out["lrs"]) <= 100
    assert out["lrs"] == sorted(out["lrs"])  # an exponential sweep upward
    assert 0 < out["base_lr"] < out["max_lr"] and out["low"] <= out["max_lr"] <= out["high"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None


@pytest.mark.slow
def test_clr_studio_app_serves_the_installed_app(venv, tmp_path) -> None:
    """`clr-studio app` starts Streamlit on the wheel's app (the process is Streamlit, its
    script the venv's clr_studio_app/app.py) and answers its health check."""
    port = _free_port()
    log = (tmp_path / "app.log").open("w")
    proc = subprocess.Popen([str(venv / BIN / "clr-studio"), "app", "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1",
                             "--server.fileWatcherType", "none"],
                            cwd=tmp_path, env=_clean_env(tmp_path), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        answer = None
        deadline = time.monotonic() + 180  # a liveness limit, not a timing claim
        while answer is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = _health(port)
        assert answer == "ok", (tmp_path / "app.log").read_text()
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        if cmdline.exists():  # Linux: what the process runs
            argv = cmdline.read_bytes().decode().split("\0")
            script = Path(argv[argv.index("run") + 1])
            assert script.name == "app.py" and script.parent.name == "clr_studio_app"
            assert script.is_relative_to(venv)
            assert argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


HOME_PAGE = '''
import json, sys, sysconfig
from pathlib import Path
from streamlit.testing.v1 import AppTest


script = Path(sysconfig.get_path("purelib")) / "clr_studio_app" / "app.py"
at = AppTest.from_file(str(script), default_timeout=120).run()
print(json.dumps({"exceptions": [e.message for e in at.exception],
                  "titles": [t.value for t in at.title],
                  "ui": sys.modules["ui"].__file__}))
'''


@pytest.mark.slow
def test_the_installed_app_renders_its_home_page(venv, tmp_path) -> None:
    """The wheel's app runs: its `import ui` finds the wheel's ui/ (Streamlit puts the
    script's folder first on sys.path), and the designer renders."""
    done = _in_venv(venv, "python", "-c", HOME_PAGE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["exceptions"] == []
    assert out["titles"] and out["titles"][0].endswith("Schedule designer")
    assert Path(out["ui"]).parent.parent.name == "clr_studio_app"
    assert Path(out["ui"]).is_relative_to(venv)
