"""Prometheus for the simulators: a scenario's history backfilled into a real Prometheus
(:mod:`.history`, :mod:`.prometheus_process`), the walk's queries recorded against it
(:mod:`.record`, :mod:`.walk`) and replayed where no Prometheus runs (:mod:`.prom_replay`).
"""
