"""What ``pip install .`` ships: the bot and its handlers, no simulator, no fakeredis.

The simulators (``triage_sim``, the triage-bot-sim distribution in sim/) and fakeredis are for
tests and the demo; the wheel and its metadata must carry neither. The slow test installs the
wheel into a fresh venv from the runtime lock, the way the image does, and runs the command
from an empty folder: it must work, and ``demo`` must say which extra to install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

#: Set to 1 to skip the tests that build venvs (quick local runs); CI runs them.
SKIP_SLOW = os.environ.get("TRIAGE_SKIP_SLOW") == "1"
slow = pytest.mark.skipif(SKIP_SLOW, reason="TRIAGE_SKIP_SLOW=1")
DEMO_MESSAGE = "triage-bot demo needs the demo extra: pip install 'triage-bot[demo]'"


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bot's wheel, built from this checkout as ``pip wheel . --no-deps`` builds it."""
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                 "--wheel-dir", str(out), str(ROOT)], cwd=out)
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = out.glob("triage_bot-*.whl")
    return built


def _metadata(wheel: Path) -> dict[str, list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(name).decode("utf-8"))
    return {key: message.get_all(key) or [] for key in ("Requires-Dist", "Provides-Extra")}


def required_with(requirements: list[str], extra: str = "") -> set[str]:
    """Names of the distributions an install with ``extra`` ("" for none) pulls in."""
    found = set()
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
            found.add(canonicalize_name(requirement.name))
    return found


def test_wheel_ships_no_simulator(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        files = archive.namelist()
    sim = [f for f in files if f.startswith(("triage_sim/", "bot/sim/", "sim/"))
           or "/recordings/" in f or f == "bot/demo.py"]
    assert not sim, f"the simulator is in the wheel: {sim[:10]}"
    tops = {f.split("/", 1)[0] for f in files if not f.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"bot", "handlers"}
    assert "bot/cli/__init__.py" in files and "bot/cli/demo.py" in files


def test_wheel_requires_no_fakeredis_outside_the_demo_extra(wheel: Path) -> None:
    metadata = _metadata(wheel)
    plain = required_with(metadata["Requires-Dist"])
    assert "fakeredis" not in plain, plain
    assert {"redis", "slack-bolt", "aiohttp"} <= plain
    assert "demo" in metadata["Provides-Extra"]
    assert "fakeredis" in required_with(metadata["Requires-Dist"], "demo")


def test_required_with_tells_a_plain_requirement_from_an_extras() -> None:
    """The helper the metadata test leans on."""
    listed = ["a>=1", 'b; extra == "demo"', 'c; python_version >= "3"']
    assert required_with(listed) == {"a", "c"}
    assert required_with(listed, "demo") == {"a", "b", "c"}


@slow
def test_wheel_in_a_fresh_venv_runs_and_names_the_demo_extra(wheel: Path,
                                                              tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
    done = _run([*pip, "-r", str(ROOT / "requirements.lock")], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    done = _run([*pip, "--no-deps", str(wheel)], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    # Nothing of this checkout or of the test venv may leak in through the environment.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    command = str(bin_dir / "triage-bot")
    helped = _run([command, "--help"], cwd=empty, env=env, timeout=120)
    assert helped.returncode == 0, helped.stderr
    assert "demo" in helped.stdout and "triage" in helped.stdout
    for argv, name in (([command, "demo"], "demo"), ([command, "sim", "list"], "sim")):
        refused = _run(argv, cwd=empty, env=env, timeout=120)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert DEMO_MESSAGE.replace("demo needs", f"{name} needs") in refused.stderr
        assert "Traceback" not in refused.stderr
    probe = _run([str(bin_dir / "python"), "-c",
                  "import importlib.util as u; print(u.find_spec('fakeredis'), "
                  "u.find_spec('triage_sim'))"], cwd=empty, env=env, timeout=60)
    assert probe.stdout.split() == ["None", "None"], probe.stdout + probe.stderr
    assert list(empty.iterdir()) == [], "the commands wrote into the working folder"
