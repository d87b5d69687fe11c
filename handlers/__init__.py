"""Slack listeners and the alert webhook: parse, validate, call the core, render, post."""
