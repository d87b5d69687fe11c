"""``triage-bot serve`` as a real process, driven from an async test (the stand-in runs there).

Output (JSON log lines, and what the CLI prints) goes to a file the test reads; nothing waits
with a fixed sleep: health answers are polled with a deadline.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support.redis_server import free_port

#: Variables of the test's shell that would change what the bot under test reads.
LEAKS = ("SLACK_", "TRIAGE_", "REDIS_URL", "PROMETHEUS_URL", "LOKI_URL", "JAEGER_URL",
         "TEMPO_URL")


def clean_environ(**values: str) -> dict[str, str]:
    """This process's environment without the bot's variables, plus ``values``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(LEAKS)}
    return {**base, **values}


@dataclass
class ServeProcess:
    """A running (or finished) ``serve``: its process, address and output file."""

    process: asyncio.subprocess.Process
    base_url: str
    output: Path

    def text(self) -> str:
        """Everything the process printed so far."""
        return self.output.read_text(encoding="utf-8", errors="replace")

    async def status(self, path: str) -> int | None:
        """HTTP status of GET ``path``, or None while nothing answers."""
        try:
            async with aiohttp.ClientSession() as http, http.get(
                    self.base_url + path, timeout=aiohttp.ClientTimeout(total=2)) as answer:
                return answer.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def stop(self, within: float = 30.0) -> int:
        """SIGTERM, then the exit code (killed past ``within``)."""
        if self.process.returncode is None:
            self.process.terminate()
        try:
            async with asyncio.timeout(within):
                return await self.process.wait()
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


async def start_serve(command: list[str], config: Path, env: dict[str, str], cwd: Path,
                      output: Path) -> ServeProcess:
    """Start ``command serve`` on a free loopback port with ``config``; return at once."""
    port = free_port()
    with output.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *command, "serve", "--host", "127.0.0.1", "--port", str(port),
            "--config", str(config), cwd=cwd, env=env, stdout=sink, stderr=sink)
    return ServeProcess(process, f"http://127.0.0.1:{port}", output)
