"""The triage core: incidents as a responder works them, with no knowledge of Slack."""
