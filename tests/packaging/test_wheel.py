"""What ``pip install .`` ships: the bot, its handlers and the built-in playbooks; no simulator.

The simulators (``triage_sim``, the triage-bot-sim distribution in sim/) and fakeredis are for
tests and the demo; the wheel and its metadata must carry neither. The slow tests install the
wheel into a fresh venv from the runtime lock, the way the image does, and run the command
from an empty folder: ``demo`` must say which extra to install; ``check`` must pass on a sample
configuration and ``serve`` must come up against a real redis-server and the Slack stand-in
(the playbooks are package data, found from anywhere); with the simulators installed too,
the demo must play from an empty folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT
from tests.support.polling import eventually
from tests.support.serve_process import ServeProcess, clean_environ, start_serve
from triage_sim.slack.standin import SlackStandIn

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
    shipped = sorted(f.removeprefix("bot/playbooks/") for f in files
                     if f.startswith("bot/playbooks/") and f.endswith(".yaml"))
    assert shipped == sorted(p.name for p in (ROOT / "bot" / "playbooks").glob("*.yaml"))
    assert len(shipped) == 7


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


def _fresh_venv(directory: Path, *installs: list[str]) -> Path:
    """A venv with the runtime lock, then each of ``installs`` (pip install arguments)."""
    venv.EnvBuilder(with_pip=True).create(directory)
    pip = [str(directory / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    for argv in (["-r", str(ROOT / "requirements.lock")], *installs):
        done = _run([*pip, *argv], cwd=directory)
        assert done.returncode == 0, done.stdout + done.stderr
    return directory / "bin"


def _outside_env(bin_dir: Path) -> dict[str, str]:
    """Nothing of this checkout, the test venv or the shell's bot settings leaks in."""
    env = {k: v for k, v in clean_environ().items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv holding the runtime lock and the bot's wheel alone."""
    return _fresh_venv(tmp_path_factory.mktemp("venv"), ["--no-deps", str(wheel)])


@slow
def test_wheel_in_a_fresh_venv_runs_and_names_the_demo_extra(installed: Path,
                                                              tmp_path: Path) -> None:
    bin_dir = installed
    empty = tmp_path / "empty"
    empty.mkdir()
    env = _outside_env(bin_dir)
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


SAMPLE_CONFIG = """\
slack: {default_channel: C0INCIDENTS}
schedule: {digest_at: null}
services:
  - name: checkout
    channel: C0CHECKOUT
    prometheus: {job: checkout}
"""


@slow
async def test_installed_wheel_checks_and_serves_from_an_empty_folder(
        installed: Path, tmp_path: Path, redis_url: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    config = tmp_path / "triage.yaml"
    config.write_text(SAMPLE_CONFIG, encoding="utf-8")
    command = str(installed / "triage-bot")
    env = _outside_env(installed)
    checked = _run([command, "check", "--config", str(config)], cwd=empty, env=env,
                   timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"OK: {config}: 1 services (checkout); backends: none; "
                                     "7 playbooks (async-deadlock, cpu-spike, generic, ")
    async with SlackStandIn() as slack:
        env.update(SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET="s3cret",
                   SLACK_API_URL=slack.api_url, REDIS_URL=redis_url,
                   TRIAGE_ALERT_TOKEN="an-alert-token-long-enough")
        started = time.monotonic()
        bot = await start_serve([command], config, env, empty, tmp_path / "serve.log")
        try:
            await eventually(lambda: _answers(bot, "/healthz"), within=60,
                             what="/healthz of the installed bot", every=0.05)
            alive_s = time.monotonic() - started
            await eventually(lambda: _answers(bot, "/readyz"), within=30, what="/readyz")
            ready_s = time.monotonic() - started
        finally:
            code = await bot.stop()
        assert code == 0, bot.text()
        assert len(slack.calls_to("auth.test")) >= 1
    print(f"\ninstalled wheel: /healthz after {alive_s:.2f} s, /readyz after {ready_s:.2f} s")
    assert list(empty.iterdir()) == [], "serve or check wrote into the working folder"


async def _answers(bot: ServeProcess, path: str) -> bool:
    if bot.process.returncode is not None:
        raise AssertionError(f"serve exited {bot.process.returncode}:\n{bot.text()}")
    return await bot.status(path) == 200


@slow
def test_demo_plays_from_an_empty_folder_with_the_simulators_installed(
        wheel: Path, tmp_path: Path) -> None:
    bin_dir = _fresh_venv(tmp_path / "venv", ["--no-deps", str(wheel), str(ROOT / "sim")],
                          ["-c", str(ROOT / "requirements-dev.lock"), "fakeredis[lua]"])
    empty = tmp_path / "empty"
    empty.mkdir()
    env = _outside_env(bin_dir)
    played = _run([str(bin_dir / "triage-bot"), "demo"], cwd=empty, env=env, timeout=300)
    assert played.returncode == 0, played.stdout + played.stderr
    assert "Leading pattern: memory-growth." in played.stdout
    out = empty / "out" / "demo-memory-growth"
    assert (out / "index.html").is_file() and (out / "rca.md").is_file()
