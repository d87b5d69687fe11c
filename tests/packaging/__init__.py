"""Helpers for tests/test_packaging.py: reading the Dockerfile, .dockerignore, the compose file
and the Slack app manifest the way Docker, Compose and Slack read them."""
