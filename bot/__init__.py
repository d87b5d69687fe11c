"""triage-bot: a ChatOps bot that walks responders from metrics to logs, traces and profiles."""

__version__ = "0.1.0"
