"""Slack rendering and delivery: turns incidents and findings into Block Kit and posts them."""
