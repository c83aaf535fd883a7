#!/usr/bin/env bash
# What `npm test` needs beyond `npm ci`, on Debian: installs the missing system packages
# (as root, or through sudo) and builds the oneDNN addon if it was skipped for want of
# libdnnl-dev. Quick and silent when everything is there. `npm test` and `.ci/run` both
# call it, so the README's test command works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# command or file to look for -> the Debian package that provides it
declare -A NEED=(
  [nats-server]=nats-server               # integration tests start their own broker (-js)
  [/usr/include/oneapi/dnnl/dnnl.hpp]=libdnnl-dev  # the onednn backend's addon (+ g++, make, python3)
  [g++]=g++
  [make]=make
  [python3]=python3
  [/usr/share/datasets/fashion-mnist]=dataset-fashion-mnist  # the fashion-mnist source's tests
  [promtool]=prometheus                   # /metrics and alert rules; a real Prometheus scrapes a test cluster
  [chromium]=chromium                     # the dashboard's headless browser test
  [/usr/share/fonts/truetype/dejavu]=fonts-dejavu-core
  [ip]=iproute2                           # the multi-host test: network namespaces, tc tbf
  [openssl]=openssl                       # the data plane's TLS test makes its certificates
)
missing=()
for what in "${!NEED[@]}"; do
  if [[ $what == /* ]]; then [ -e "$what" ] || missing+=("${NEED[$what]}")
  else command -v "$what" >/dev/null 2>&1 || missing+=("${NEED[$what]}"); fi
done

if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: missing ${missing[*]} and no apt-get here; install the equivalents (see README 'Tests')" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"
    else
      echo "test-deps: missing ${missing[*]}; run: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends ca-certificates "${missing[@]}" >/dev/null
fi

# npm ci skips the addon quietly without libdnnl-dev; now that it is there, build it
# (before npm ci, as in .ci/run, npm ci builds it).
if [ -d node_modules/node-addon-api ] && [ ! -f packages/tfjs-backend-onednn/build/Release/tfjs_onednn.node ]; then
  echo "test-deps: building the oneDNN addon" >&2
  TFJS_ONEDNN_STRICT=1 npm run -s build -w @mnist/tfjs-backend-onednn
fi
