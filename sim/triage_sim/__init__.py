"""The simulators and the demo: local stand-ins for everything triage-bot talks to.

Kept out of the bot's distribution (``pip install .`` ships none of it); installed from the
checkout as ``triage-bot-sim`` (``sim/pyproject.toml``) for tests, benchmarks and the demo.

- :mod:`triage_sim.slack`: Slack (Web API, response_urls, uploads, Socket Mode) and Slack's
  side that sends commands, clicks and events to the bot.
- :mod:`triage_sim.service`: a misbehaving service (metrics, pprof, Loki, Jaeger, Tempo) and
  the scenarios it plays.
- :mod:`triage_sim.replay`: Prometheus history backfill, record and replay.
- :mod:`triage_sim.export`: a channel of the Slack stand-in as HTML or text.
- :mod:`triage_sim.demo`: one whole incident on this machine alone.
- :mod:`triage_sim.memory_redis`: an in-process Redis for when no server is running.
"""
