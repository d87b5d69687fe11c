"""A real primary, a replica and three sentinels (``redis-server --sentinel``) on free ports."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.support.redis_server import free_port

MASTER = "triage"


class SentinelGroup:
    """Primary + replica + 3 sentinels; ``failover`` asks the sentinels to promote the replica."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="triage-sentinel-"))
        self.data_ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{MASTER}/0"

    def _spawn(self, *args: str) -> None:
        self.processes.append(subprocess.Popen(
            [self.binary, *args], cwd=self.dir,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def start(self, deadline_s: float = 20.0) -> None:
        primary, replica = self.data_ports
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._spawn("--port", str(primary), *common, "--dir", str(self.dir))
        self._spawn("--port", str(replica), *common, "--dir", str(self.dir),
                    "--replicaof", "127.0.0.1", str(primary))
        for port in self.sentinel_ports:
            conf = self.dir / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n"
                f"sentinel down-after-milliseconds {MASTER} 1000\n"
                f"sentinel failover-timeout {MASTER} 5000\n")
            self._spawn(str(conf), "--sentinel")
        self._wait(lambda: self._replica_linked() and self._sentinels_see_replica(), deadline_s,
                   "the replica and the sentinels")

    def _wait(self, check: object, deadline_s: float, what: str) -> None:
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                if check():  # type: ignore[operator]
                    return
            except (redis.ConnectionError, redis.ResponseError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"sentinel group: timed out waiting for {what}")
            time.sleep(0.05)

    def _replica_linked(self) -> bool:
        with redis.Redis(port=self.data_ports[1], socket_timeout=1) as r:
            return bool(r.info("replication").get("master_link_status") == "up")

    def _sentinels_see_replica(self) -> bool:
        for port in self.sentinel_ports:
            with redis.Redis(port=port, socket_timeout=1, decode_responses=True) as s:
                if not s.execute_command("SENTINEL", "REPLICAS", MASTER):
                    return False
                master = s.execute_command("SENTINEL", "MASTER", MASTER)
                if int(master["num-other-sentinels"]) < 2:
                    return False
        return True

    def primary_port(self) -> int:
        with redis.Redis(port=self.sentinel_ports[0], socket_timeout=1,
                         decode_responses=True) as s:
            return int(s.sentinel_get_master_addr_by_name(MASTER)[1])

    def failover(self, deadline_s: float = 30.0) -> float:
        """Promote the replica; seconds until every sentinel names the new primary."""
        old = self.primary_port()
        started = time.monotonic()
        with redis.Redis(port=self.sentinel_ports[0], socket_timeout=2) as s:
            s.execute_command("SENTINEL", "FAILOVER", MASTER)
        self._wait(lambda: self.primary_port() != old and self._promoted(), deadline_s,
                   "the failover")
        return time.monotonic() - started

    def _promoted(self) -> bool:
        with redis.Redis(port=self.primary_port(), socket_timeout=1) as r:
            return bool(r.info("replication").get("role") == "master")

    def cleanup(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
