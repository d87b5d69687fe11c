#!/usr/bin/env bash
# Build the triage-bot image with podman (or buildah's engine under it), offline-friendly.
#
#   deploy/image/build.sh            # -> triage-bot:local
#   IMAGE=triage-bot:1.2 deploy/image/build.sh
#
# The Dockerfile starts FROM debian:bookworm-slim, the image users pull. When no image of
# that name is in local storage (no registry reachable, or a fresh CI machine), the same
# Debian release is made here from Debian's own packages (mmdebstrap --variant=minbase, with
# the documentation and locales left out as the -slim variant does) and imported under that
# name. The build then never pulls: --pull=never.
#
# Builds run with --isolation=chroot and the host network, which work without a container
# runtime's privileges; the host's CA bundle is mounted read-only into every RUN and named
# to pip, so pip trusts whatever proxy this machine's TLS goes through.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${IMAGE:-triage-bot:local}
BASE=docker.io/library/debian:bookworm-slim
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_base() {
  echo "build.sh: no $BASE in local storage; making it from Debian's packages (mmdebstrap)" >&2
  # What debian:bookworm-slim leaves out (debuerreotype's --slim): docs, man pages, locales.
  # Quoted: dpkg matches the patterns, this shell must not expand them against the host.
  local excludes=('/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*'
                  '/usr/share/locale/*' '/usr/share/groff/*' '/usr/share/lintian/*'
                  '/usr/share/linda/*')
  local opts=()
  for path in "${excludes[@]}"; do opts+=(--dpkgopt="path-exclude=$path"); done
  opts+=(--dpkgopt="path-include=/usr/share/doc/*/copyright")
  # Downloads from the mirror fail now and then: apt retries each file, and the whole
  # bootstrap is tried up to three times.
  local attempt
  for attempt in 1 2 3; do
    # merged-usr: /usr merged as the official image has it (usr-is-merged), rather than by
    # the usrmerge package, which would pull perl in (~50 MB).
    if mmdebstrap --quiet --variant=minbase --mode=auto --format=tar "${opts[@]}" \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --aptopt='Acquire::Retries "5"' \
        "$SUITE" "$work/base.tar" \
        "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
        "deb http://deb.debian.org/debian-security $SUITE-security main" >&2; then
      break
    fi
    [ "$attempt" -lt 3 ] || { echo "build.sh: mmdebstrap failed 3 times" >&2; exit 1; }
    echo "build.sh: mmdebstrap failed (attempt $attempt), trying again" >&2
    rm -f "$work/base.tar"
  done
  podman import --change 'CMD ["bash"]' "$work/base.tar" "$BASE" >/dev/null
}

# Not `exists || make_base`: errexit does not apply inside a function called from an || list.
if ! podman image exists "$BASE"; then
  make_base
fi

# pip inside the build trusts the host's CA bundle (PIP_CERT, a build argument of the build
# stage only), mounted as a directory beside, not over, the image's own /etc/ssl/certs.
opts=()
if [ -f "$CA_BUNDLE" ]; then
  mkdir "$work/ca" && cp "$CA_BUNDLE" "$work/ca/ca.crt"
  opts+=(-v "$work/ca:/run/host-ca:ro" --build-arg PIP_CERT=/run/host-ca/ca.crt)
fi

start=$(date +%s)
podman build --isolation=chroot --network=host --pull=never "${opts[@]}" \
  --format docker --layers --tag "$IMAGE" --file Dockerfile .
echo "build.sh: built $IMAGE in $(( $(date +%s) - start )) s" >&2
podman image inspect --format 'build.sh: {{.Id}} {{.Size}} bytes' "$IMAGE" >&2
