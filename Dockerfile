# triage-bot: small, non-root, read-only-root friendly, every dependency pinned by
# requirements.lock (the runtime-only lock: no test, lint or demo tools).
#
#   make image                  # deploy/image/build.sh: podman, offline-friendly
#   docker build -t triage-bot .
#   docker run --rm -p 3000:3000 --read-only --tmpfs /tmp \
#     -v "$PWD/triage.yaml:/config/triage.yaml:ro" \
#     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e TRIAGE_ALERT_TOKEN -e REDIS_URL triage-bot
#
# Debian's python3 (3.11 in bookworm) on debian:bookworm-slim: the same base whether it is
# pulled or made locally from Debian's packages (deploy/image/build.sh does that when no
# registry is reachable). Dependencies come as wheels only: no compiler anywhere.

# The runtime every stage shares: Python, CA certificates for Slack's TLS, the bot's user.
FROM debian:bookworm-slim AS runtime
# Apt versions unpinned: Debian stable's point and security releases replace them (and
# ca-certificates must follow); the base image's tag and Debian's suite are the pin.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && groupadd --system --gid 10001 triage \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin triage

FROM runtime AS build
# A CA bundle for pip when this machine's TLS goes through an inspecting proxy (build.sh
# passes the host's, mounted for the build only); unset, pip uses its own.
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Apt versions unpinned, as above: the suite is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
WORKDIR /src
RUN python3 -m venv /opt/venv
# Dependencies first, in their own layer: rebuilt only when the lock changes.
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --only-binary=:all: --requirement requirements.lock
# Then the project itself as a wheel, without touching the pinned dependencies.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
    && /opt/venv/bin/pip uninstall --yes pip setuptools \
    && find /opt/venv -name __pycache__ -type d -prune -exec rm -rf {} +

FROM runtime
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The built-in playbooks are package data inside the wheel; mount the team's own and point
# TRIAGE_PLAYBOOKS at them to add playbooks or replace a built-in one by id.
# TRIAGE_CONFIG: mount the team's configuration at /config/triage.yaml (read-only is fine).
# MPLCONFIGDIR, XDG_CACHE_HOME, HOME: matplotlib and anything else that caches write under
# /tmp, an emptyDir/tmpfs beside a read-only root filesystem.
# TRIAGE_HEALTH_URL: what HEALTHCHECK asks; the service stand-in (same image) points it elsewhere.
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TRIAGE_CONFIG=/config/triage.yaml \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/cache \
    HOME=/tmp \
    TRIAGE_HEALTH_URL=http://127.0.0.1:3000/healthz
USER 10001:10001
EXPOSE 3000
# The slim image has no curl: the standard library asks /healthz (liveness, not Redis).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r; sys.exit(0 if r.urlopen(os.environ['TRIAGE_HEALTH_URL'], timeout=3).status == 200 else 1)"]
CMD ["triage-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]
