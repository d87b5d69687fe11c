"""Local stand-ins for what the bot talks to, for tests and the demo.

``bot.sim.slack`` is Slack (Web API, response_urls, uploads, Socket Mode) and
``bot.sim.slack_client`` is Slack's side that sends commands, clicks and events to the bot.
"""
