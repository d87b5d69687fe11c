# triage-bot: small, non-root, every dependency pinned by requirements.lock.
#
#   docker build -t triage-bot .
#   docker run --rm -p 3000:3000 -v "$PWD/triage.yaml:/config/triage.yaml:ro" \
#     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e TRIAGE_ALERT_TOKEN -e REDIS_URL triage-bot
#
# The build stage installs only the runtime dependencies named in pyproject.toml, at the
# versions requirements.lock pins (dev tools such as mypy and pytest stay out), from wheels
# only: no compiler is needed here, and none reaches the final image.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, in their own layer: it is rebuilt only when the lock or pyproject change.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print(*deps, sep='\n')" > runtime.txt \
    && /opt/venv/bin/pip install --only-binary=:all: --constraint requirements.lock --requirement runtime.txt \
    && /opt/venv/bin/pip install --only-binary=:all: setuptools==84.2.1
# Then the project itself (pure Python), without touching the pinned dependencies.
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
# pip and setuptools leave the venv afterwards: the image installs nothing at run time.
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . \
    && /opt/venv/bin/pip uninstall --yes setuptools pip

FROM python:3.11-slim
# A fixed numeric uid/gid so mounted files and Kubernetes securityContext can name them.
RUN groupadd --system --gid 10001 triage \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin triage
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY playbooks ./playbooks
# TRIAGE_CONFIG: mount the team's configuration at /config/triage.yaml (read-only is fine).
# MPLCONFIGDIR: matplotlib needs a writable cache; /tmp works with a read-only root filesystem.
# TRIAGE_HEALTH_URL: what HEALTHCHECK asks; the service stand-in (same image) points it elsewhere.
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TRIAGE_CONFIG=/config/triage.yaml \
    TRIAGE_PLAYBOOKS=/app/playbooks \
    MPLCONFIGDIR=/tmp/matplotlib \
    TRIAGE_HEALTH_URL=http://127.0.0.1:3000/healthz
USER 10001:10001
EXPOSE 3000
# The slim image has no curl: the standard library asks /healthz (liveness, not Redis).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r; sys.exit(0 if r.urlopen(os.environ['TRIAGE_HEALTH_URL'], timeout=3).status == 200 else 1)"]
CMD ["triage-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]
