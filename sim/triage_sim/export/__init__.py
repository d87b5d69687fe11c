"""A channel of the Slack stand-in as a page a person can open, or as terminal text."""
