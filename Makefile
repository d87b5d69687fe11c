# The two commands the README promises, and what they stand on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lint lock serve clean

# The development venv: runtime + demo + dev pins (requirements-dev.lock), the bot and the
# simulators (sim/, the triage-bot-sim distribution) installed editable from this checkout.
$(BIN)/triage-bot: requirements-dev.lock pyproject.toml sim/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e . -e ./sim
	touch $@

venv: $(BIN)/triage-bot

# The whole incident on this machine alone (SCENARIO=tokio-starvation etc.; see --list).
# The venv holds the demo extra and the simulators.
demo: venv
	$(BIN)/triage-bot demo $(if $(SCENARIO),--scenario $(SCENARIO))

test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# Re-pin after changing dependencies in pyproject.toml: requirements.lock is the runtime only
# (what the image installs), requirements-dev.lock adds the demo and dev extras (the venv, CI).
lock: venv
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra demo --extra dev -o requirements-dev.lock

serve: venv
	$(BIN)/triage-bot serve --config $${TRIAGE_CONFIG:-triage.yaml}

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# The container image (podman, offline-friendly; see deploy/image/build.sh), then its smoke
# test: IMAGE=triage-bot:local by default.
.PHONY: image image-smoke
image:
	deploy/image/build.sh

image-smoke: image
	deploy/image/smoke.sh
