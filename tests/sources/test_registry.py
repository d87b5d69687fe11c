"""Sources: clients built from BackendsConfig, clear errors for what is not configured."""

from __future__ import annotations

import pytest

from bot.config import BackendsConfig
from bot.errors import SourceUnavailable
from bot.sources import JaegerClient, LokiClient, PrometheusClient, Sources, TempoClient


async def test_unconfigured_backends_say_which_setting_is_missing() -> None:
    async with await Sources.open(BackendsConfig()) as sources:
        assert sources.configured == []
        expected = {
            "prometheus": "prometheus: no Prometheus configured (backends.prometheus)",
            "loki": "loki: no Loki configured (backends.loki)",
            "jaeger": "jaeger: no Jaeger configured (backends.jaeger)",
            "tempo": "tempo: no Tempo configured (backends.tempo)",
            "traces": "traces: no tracing backend configured "
                      "(backends.jaeger or backends.tempo)",
        }
        for attribute, message in expected.items():
            with pytest.raises(SourceUnavailable) as caught:
                getattr(sources, attribute)
            assert str(caught.value) == message


async def test_configured_backends_get_clients_and_sessions_close() -> None:
    backends = BackendsConfig(prometheus="http://127.0.0.1:9090", loki="http://127.0.0.1:3100",
                              jaeger="http://127.0.0.1:16686", tempo="http://127.0.0.1:3200",
                              timeout_seconds=3, max_concurrency=2)
    sources = await Sources.open(backends, loki_tenant="team-a")
    assert isinstance(sources.prometheus, PrometheusClient)
    assert sources.prometheus.timeout == 3
    assert isinstance(sources.loki, LokiClient)
    assert isinstance(sources.jaeger, JaegerClient)
    assert isinstance(sources.tempo, TempoClient)
    assert sources.traces is sources.jaeger
    assert sources.configured == ["prometheus", "loki", "jaeger", "tempo"]
    sessions = list(sources._sessions)
    assert len(sessions) == 4  # one per backend, Prometheus included
    await sources.close()
    assert all(s.closed for s in sessions)


async def test_tempo_serves_traces_without_jaeger() -> None:
    async with await Sources.open(BackendsConfig(tempo="http://127.0.0.1:3200")) as sources:
        assert sources.traces is sources.tempo
