"""The built-in playbooks, shipped as package data (one failure pattern per YAML file).

They are read with ``importlib.resources`` so the bot finds them wherever it is installed;
``TRIAGE_PLAYBOOKS`` names a directory whose files add playbooks or replace a built-in one of
the same id (bot/triage/playbook_loader.py).
"""
