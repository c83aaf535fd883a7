#!/usr/bin/env bash
# Builds the addon against a oneDNN 3.x install prefix (DNNL_ROOT) and runs the oneDNN
# suite on that build; on exit, rebuilds against the system oneDNN as usual. Not run by
# CI, which has only Debian's oneDNN 2.6: build oneDNN 3.x from source first (README,
# "Building against another oneDNN"). Usage: scripts/test-onednn3.sh /opt/onednn3
set -euo pipefail
prefix=${1:?usage: $0 ONEDNN_3_PREFIX}
cd "$(dirname "$0")/.."
trap 'env -u DNNL_ROOT node scripts/build.mjs' EXIT
DNNL_ROOT=$prefix TFJS_ONEDNN_STRICT=1 node scripts/build.mjs
test -f build/Release/tfjs_onednn.node || { cat build/onednn-unavailable.txt >&2; exit 1; }
ldd build/Release/tfjs_onednn.node | grep dnnl
version=$(node -e "console.log(require('./build/Release/tfjs_onednn.node').version())")
[[ $version == 3.* ]] || { echo "expected oneDNN 3.x, the addon loads $version" >&2; exit 1; }
npm run test:onednn
