#!/usr/bin/env bash
# Prepares a Docker engine and local base images on a Debian 12 machine that can reach the
# Debian mirror and the npm registry but no container registry. Idempotent: every step
# checks first and says what it does or why it skips.
#
#   infra/ci/prepare-docker.sh          # as root (or with sudo available)
#
# 1. apt-get install docker.io docker-compose debootstrap, if missing.
# 2. Starts dockerd (Debian defaults: overlay2, bridge) if no engine answers; log in
#    /var/log/mnist-dockerd.log.
# 3. Builds the base images the Dockerfiles name, from nothing:
#    - mnist-ci/bookworm-minbase: `debootstrap --variant=minbase bookworm` + `docker import`,
#      apt sources from this host;
#    - node:20-bookworm-slim: that + this host's Node 20 binary, npm, headers and CA bundle,
#      laid out as the official image does (/usr/local, user `node` uid 1000);
#    - node:20-bookworm: that + build-essential and python3 (what the official image adds
#      for native addons).
#    An image of that name that is not ours (a real pull) is left alone.
#
# Exit status: 0 ready; 2 the engine cannot run here (the caller may skip, with this reason);
# 1 anything else. DOCKERD overrides the daemon to start (default /usr/sbin/dockerd).
set -euo pipefail

say() { printf '[prepare-docker] %s\n' "$*"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
SUITE=bookworm
BASE=mnist-ci/bookworm-minbase
LABEL=org.mnist.ci-base   # marks images this script made

# --- 1. packages ---------------------------------------------------------------------------
missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" iptables ca-certificates >/dev/null
else
  say "docker.io, docker-compose and debootstrap are installed"
fi

# Debian's client speaks the engine's API version; another `docker` earlier in PATH (a newer
# static client) would default to BuildKit, which tries to pull `# syntax=` frontends.
DOCKER=/usr/bin/docker

# --- 2. engine ----------------------------------------------------------------------------
if $DOCKER info >/dev/null 2>&1; then
  say "a Docker engine answers on $($DOCKER context inspect -f '{{.Endpoints.docker.Host}}' 2>/dev/null || echo the default socket)"
else
  dockerd=${DOCKERD:-/usr/sbin/dockerd}
  say "no engine answers: starting $dockerd (log: /var/log/mnist-dockerd.log)"
  $SUDO sh -c "setsid nohup $dockerd >/var/log/mnist-dockerd.log 2>&1 </dev/null &"
  for _ in $(seq 1 30); do $DOCKER info >/dev/null 2>&1 && break; sleep 1; done
  if ! $DOCKER info >/dev/null 2>&1; then
    say "the Docker engine cannot start here; last lines of its log:"
    tail -n 5 /var/log/mnist-dockerd.log 2>/dev/null | sed 's/^/  /' || true
    exit 2
  fi
  say "dockerd is up"
fi

ours() { [ "$($DOCKER image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true)" = "$2" ]; }
exists() { $DOCKER image inspect "$1" >/dev/null 2>&1; }

# --- 3a. Debian minbase -------------------------------------------------------------------
if exists "$BASE"; then
  say "$BASE exists"
else
  # The first Debian mirror this host's apt uses (deb822 or one-line format).
  mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list \
    | grep -v security | grep -oE 'https?://[^ ]+' | head -n 1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d /tmp/mnist-minbase.XXXXXX)
  trap '$SUDO rm -rf "$root"' EXIT
  say "debootstrap --variant=minbase $SUITE from $mirror (about 30 s)"
  $SUDO debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >/tmp/mnist-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/mnist-debootstrap.log; exit 1; }
  # apt inside the images uses this host's sources (same mirror, updates and security).
  $SUDO rm -f "$root/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && $SUDO cp "$f" "$root$f"
  done
  # Keep images small, as the official slim images do.
  $SUDO rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  say "docker import -> $BASE"
  $SUDO tar -C "$root" -c . | $DOCKER import \
    --change "LABEL $LABEL=$SUITE" --change 'CMD ["bash"]' - "$BASE" >/dev/null
  $SUDO rm -rf "$root"
  trap - EXIT
fi

# --- 3b. node:20-bookworm-slim ------------------------------------------------------------
node_bin=$(command -v node || true)
[ -n "$node_bin" ] || { say "no node on this host: install Node 20 first"; exit 1; }
node_version=$("$node_bin" -v)
case "$node_version" in v20.*) ;; *) say "host Node is $node_version, the Dockerfiles want 20"; exit 1 ;; esac
node_bin=$(readlink -f "$node_bin")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
node_prefix=$(dirname "$(dirname "$node_bin")")
headers="$node_prefix/include/node"
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$headers/node_api.h" ] || { say "Node headers not found at $headers"; exit 1; }
[ -f "$ca" ] || { say "no CA bundle at $ca (apt-get install ca-certificates)"; exit 1; }
stamp="$node_version-npm$(node -p "require('$npm_dir/package.json').version")"

if exists node:20-bookworm-slim && ! ours node:20-bookworm-slim "$stamp"; then
  if [ -n "$($DOCKER image inspect -f "{{index .Config.Labels \"$LABEL\"}}" node:20-bookworm-slim)" ]; then
    say "node:20-bookworm-slim is an older local build: rebuilding for Node $stamp"
  else
    say "node:20-bookworm-slim is not ours (a real pull?): leaving it"
    stamp=""
  fi
fi
if [ -n "$stamp" ] && ! ours node:20-bookworm-slim "$stamp"; then
  ctx=$(mktemp -d /tmp/mnist-node-ctx.XXXXXX)
  trap 'rm -rf "$ctx"' EXIT
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules" "$ctx/usr/local/include" "$ctx/usr/local/share/mnist-ci" "$ctx/etc/ssl/certs"
  cp "$node_bin" "$ctx/usr/local/bin/node"
  cp -a "$npm_dir" "$ctx/usr/local/lib/node_modules/npm"
  cp -a "$headers" "$ctx/usr/local/include/node"
  cp "$ca" "$ctx/etc/ssl/certs/ca-certificates.crt"
  # A copy apt's ca-certificates (update-ca-certificates) never rewrites, for Node.
  cp "$ca" "$ctx/usr/local/share/mnist-ci/host-ca.crt"
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE
COPY usr/ /usr/
COPY etc/ /etc/
# NODE_EXTRA_CA_CERTS: this host's CA bundle (it may hold a proxy's CA) reaches npm inside builds.
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node -v && npm -v
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/mnist-ci/host-ca.crt
LABEL $LABEL=$stamp
CMD ["node"]
EOF
  say "building node:20-bookworm-slim from $BASE + host Node $stamp"
  DOCKER_BUILDKIT=0 $DOCKER build -q -t node:20-bookworm-slim "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
  $DOCKER rmi node:20-bookworm >/dev/null 2>&1 || true   # built on the old slim: rebuild below
else
  [ -z "$stamp" ] || say "node:20-bookworm-slim is current (Node $stamp)"
fi

# --- 3c. node:20-bookworm -----------------------------------------------------------------
if exists node:20-bookworm; then
  say "node:20-bookworm exists"
else
  say "building node:20-bookworm: node:20-bookworm-slim + build-essential python3 (apt-get)"
  printf '%s\n' \
    'FROM node:20-bookworm-slim' \
    'RUN apt-get update && apt-get install -y --no-install-recommends build-essential python3 ca-certificates \' \
    ' && rm -rf /var/lib/apt/lists/*' \
    "LABEL $LABEL=$node_version-build" |
    DOCKER_BUILDKIT=0 $DOCKER build -q -t node:20-bookworm - >/dev/null
fi

$DOCKER image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E "^(node:20-bookworm|$BASE)" | sed 's/^/[prepare-docker]   /'
say "ready"
