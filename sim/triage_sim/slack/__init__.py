"""Slack, played locally.

:mod:`.standin` is Slack's server side (Web API, response_urls, uploads, Socket Mode) that the
bot talks to; :mod:`.sender` is Slack's client side that sends commands, clicks and events to
the bot. :mod:`.blockkit` validates Block Kit the way Slack's servers do.
"""
