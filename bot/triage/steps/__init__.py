"""The four step runners of the walk: metrics, logs, traces, profile."""
