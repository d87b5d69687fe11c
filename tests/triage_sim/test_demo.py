"""The demo is also a test: it plays a scenario end to end and writes what it promises."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import ROOT
from triage_sim.demo import run_demo
from triage_sim.service.scenarios import SCENARIOS


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources += [v for k, v in attrs if k == "src" and v]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("name", ["memory-growth", "tokio-starvation"])
async def test_demo_plays_the_incident_and_writes_page_charts_and_rca(
    name: str, tmp_path: Path
) -> None:
    lines: list[str] = []
    result = await run_demo(name, tmp_path / "out", echo=lines.append)
    scenario = SCENARIOS[name]
    assert result.replay_misses == (), "recordings are stale: run `triage-bot sim record --all`"
    assert result.leader == scenario.playbook
    assert result.seconds < 60
    assert any("clicks profile" in line for line in lines)
    page = _Images()
    page.feed(result.export.index_html.read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert f"INC-1 · {scenario.service.name}" in text
    assert "Leading candidate" in text
    assert len(page.sources) >= 3
    for source in page.sources:
        assert (result.out_dir / source).read_bytes().startswith(b"\x89PNG")
    rca = result.rca_path.read_text(encoding="utf-8")
    assert rca.startswith("# RCA INC-1")
    assert "## Root cause" in rca and "## Evidence cited" in rca
    assert "Profile" in result.transcript and "Metrics" in result.transcript


def test_demo_command_lists_the_scenarios() -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--list"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == list(SCENARIOS)


def test_demo_refuses_an_unknown_scenario() -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--scenario", "nope"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "unknown scenario 'nope'; known: memory-growth" in done.stderr
