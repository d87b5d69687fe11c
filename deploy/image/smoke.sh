#!/usr/bin/env bash
# Smoke-test the built image without starting a container (a container runtime may be unable
# to here): its filesystem is mounted (podman image mount), laid out as Kubernetes runs it
# (root read-only, an empty tmpfs on /tmp, the configuration mounted at /config/triage.yaml)
# in a private mount namespace, and its commands run as the image's own user with
# chroot --userspec. The chroot shares this machine's network, so the bot reaches a real
# redis-server on the loopback.
#
#   deploy/image/smoke.sh                 # triage-bot:local
#   IMAGE=triage-bot:1.2 deploy/image/smoke.sh
#
# Checks: `triage-bot check` passes on a sample configuration and finds the built-in
# playbooks; the root filesystem is read-only and the image still works (matplotlib's cache
# under /tmp); `triage-bot serve` answers /healthz, /readyz (Redis reachable) and /metrics,
# and exits 0 on SIGTERM. Needs root (mounts and chroot), podman, redis-server, curl.
set -euo pipefail

IMAGE=${IMAGE:-triage-bot:local}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CONFIG=${SMOKE_CONFIG:-$REPO/deploy/triage.yaml}
DEADLINE_S=${SMOKE_DEADLINE_S:-60}

BOT_LOG=
say() { echo "smoke: $*" >&2; }
fail() {
  say "FAILED: $*"
  if [ -n "$BOT_LOG" ]; then tail -n 40 "$BOT_LOG" >&2; fi
  exit 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Poll a command until it succeeds or the deadline passes.
wait_for() {
  local what=$1 deadline=$((SECONDS + DEADLINE_S))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: not within ${DEADLINE_S}s"
    sleep 0.2
  done
}

# 200 from the URL; a bot that died stops the wait at once.
alive_and_200() {
  kill -0 "$BOT_PID" 2>/dev/null || fail "serve exited before answering"
  curl -fsS --max-time 2 -o /dev/null "$1"
}

outside() {
  local mnt user size
  user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
  case "$user" in
    ''|0|0:*|root|root:*) fail "$IMAGE runs as root (USER '$user')" ;;
    *[!0-9:]*) fail "USER '$user' is not numeric: chroot --userspec needs uid:gid" ;;
  esac
  size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
  say "image $IMAGE: $((size / 1000000)) MB ($size bytes), user $user"
  mnt=$(podman image mount "$IMAGE")
  trap 'podman image unmount "$IMAGE" >/dev/null' EXIT
  WORK=$(mktemp -d)
  trap 'podman image unmount "$IMAGE" >/dev/null; rm -rf "$WORK"' EXIT
  podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" \
    | grep . > "$WORK/env"
  # Every mount below dies with this namespace.
  unshare --mount --propagation private "$0" --inside "$mnt" "$user" "$WORK"
}

# Lay the image out as a pod sees it: read-only root, tmpfs /tmp, config and /proc, /dev.
layout() {
  local mnt=$1 work=$2 root=$2/root
  mkdir -p "$work/upper" "$work/work" "$work/rw" "$root"
  # A writable overlay only to create the mount points the image lacks (/config) ...
  mount -t overlay overlay -o "lowerdir=$mnt,upperdir=$work/upper,workdir=$work/work" \
    "$work/rw"
  mkdir -p "$work/rw/config" "$work/rw/proc" "$work/rw/dev" "$work/rw/tmp"
  # ... then the root the bot sees: that tree, read-only.
  mount --bind "$work/rw" "$root"
  mount -o remount,bind,ro "$root"
  mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"
  touch "$work/rw/config/triage.yaml"
  mount --bind "$CONFIG" "$root/config/triage.yaml"
  mount -o remount,bind,ro "$root/config/triage.yaml"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
}

REDIS_PID=
BOT_PID=
SLACK_PID=
inside() {
  local mnt=$1 user=$2 work=$3
  trap 'kill $REDIS_PID $BOT_PID $SLACK_PID 2>/dev/null || true' EXIT
  layout "$mnt" "$work"
  local root=$work/root
  local -a image_env
  mapfile -t image_env < "$work/env"
  # As the image's user, with the image's environment and nothing of this shell's.
  exec_as_user() { exec chroot --userspec="$user" "$root" /usr/bin/env -i "${image_env[@]}" "$@"; }
  as_user() { (exec_as_user "$@"); }

  # 1. The configuration and the built-in playbooks, where the image's defaults look.
  local out
  out=$(cd / && as_user triage-bot check) || fail "triage-bot check: $out"
  say "$out"
  [[ $out == OK:* ]] || fail "triage-bot check did not say OK"
  [[ $out =~ [1-9][0-9]*\ playbooks ]] || fail "no playbooks found: $out"

  # 2. A read-only root, honoured: even root cannot write outside /tmp; the user can in /tmp.
  if chroot "$root" /usr/bin/touch /opt/venv/smoke 2>/dev/null; then
    fail "the root filesystem is writable"
  fi
  as_user /usr/bin/touch /tmp/smoke || fail "/tmp is not writable by $user"
  as_user python -c 'import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as p; p.figure().savefig("/tmp/smoke.png")' \
    || fail "matplotlib cannot draw with a read-only root"
  say "read-only root honoured; /tmp writable; matplotlib draws (MPLCONFIGDIR under /tmp)"

  # 3. serve, against a real redis-server on the loopback.
  local redis_port bot_port
  redis_port=$(free_port)
  bot_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" >"$work/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_for "redis-server" redis-cli -p "$redis_port" ping
  local closed slack_port scopes
  closed=$(free_port)
  # serve checks its Slack token (auth.test, the manifest's scopes) before it starts: a tiny
  # stand-in on the host's loopback answers as an installed app would.
  slack_port=$(free_port)
  scopes=$(sed -n '/^    bot:/,/^  [a-z]/s/^      - //p' "$REPO/slack-app-manifest.yml" | paste -sd, -)
  python3 "$REPO/deploy/image/fake_slack.py" "$slack_port" "$scopes" &
  SLACK_PID=$!
  wait_for "the Slack stand-in" curl -fsS -o /dev/null -X POST \
    "http://127.0.0.1:$slack_port/api/auth.test"
  # Started with exec in the background job: its PID is the bot's, which SIGTERM must reach.
  exec_as_user SLACK_BOT_TOKEN=xoxb-smoke SLACK_SIGNING_SECRET=smoke-secret \
    TRIAGE_ALERT_TOKEN=smoke-alert-token-5c0f1e2d REDIS_URL="redis://127.0.0.1:$redis_port/0" \
    SLACK_API_URL="http://127.0.0.1:$slack_port/api/" PROMETHEUS_URL="http://127.0.0.1:$closed" \
    triage-bot serve --host 127.0.0.1 --port "$bot_port" >"$work/bot.log" 2>&1 &
  BOT_PID=$!
  BOT_LOG=$work/bot.log
  local base=http://127.0.0.1:$bot_port
  wait_for "/healthz" alive_and_200 "$base/healthz"
  for path in /readyz /metrics; do
    curl -fsS --max-time 5 -o /dev/null "$base$path" || fail "$path did not answer 200"
  done
  say "serve answered /healthz, /readyz and /metrics as $user"
  kill -TERM "$BOT_PID"
  local code=0
  wait "$BOT_PID" || code=$?
  BOT_PID=
  [ "$code" -eq 0 ] || fail "serve exited $code on SIGTERM"
  say "serve exited 0 on SIGTERM"
  say "OK"
}

if [ "${1:-}" = "--inside" ]; then
  inside "$2" "$3" "$4"
else
  outside
fi
