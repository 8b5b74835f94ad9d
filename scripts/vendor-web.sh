#!/usr/bin/env bash
# Copies what the browser client takes from npm (web/package.json, web/package-lock.json) into
# web/vendor/, which the binary serves. Usage: scripts/vendor-web.sh [--check]
# With --check it changes nothing and fails when web/vendor/ differs from the locked packages.
set -euo pipefail
cd "$(dirname "$0")/../web"

# The icons the client uses (lucide-static, ISC licence).
ICONS=(mic mic-off video video-off monitor-up monitor-x message-square users lock lock-open log-out
  phone-off maximize minimize pin pin-off link layout-grid square-user-round x send bell chevron-left
  chevron-right user-check user-x clock refresh-cw door-open ellipsis wifi-off picture-in-picture-2
  settings star star-off hand smile-plus trash-2 circle-dot circle-stop)

npm ci --no-audit --no-fund --loglevel=error >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/icons"
for icon in "${ICONS[@]}"; do
  cp "node_modules/lucide-static/icons/$icon.svg" "$out/icons/"
done
cp node_modules/lucide-static/LICENSE "$out/icons/LICENSE"

# The reactions' pictures (@twemoji/svg, jdecked's Twemoji), the same in every browser: thumbs up,
# clapping hands, red heart, tears of joy, open mouth, party popper.
EMOJI=(1f44d 1f44f 2764 1f602 1f62e 1f389)
mkdir -p "$out/emoji"
for emoji in "${EMOJI[@]}"; do
  cp "node_modules/@twemoji/svg/$emoji.svg" "$out/emoji/"
done
cp node_modules/@twemoji/svg/license "$out/emoji/LICENSE"
cat > "$out/emoji/NOTICE" <<'NOTICE'
The pictures in this directory are Twemoji (https://github.com/jdecked/twemoji),
copyright 2020 Twitter, Inc and other contributors, licensed under CC-BY 4.0
(https://creativecommons.org/licenses/by/4.0/), as packaged by @twemoji/svg (LICENSE).
NOTICE

# Background blur and pictures (@mediapipe/selfie_segmentation, Apache-2.0): the script, its
# WebAssembly build for browsers with SIMD (every current one; others are offered no effects) and
# the landscape model, the one the client asks for (modelSelection 1); without the package's
# execute bits.
SEGMENTATION=(selfie_segmentation.js selfie_segmentation.binarypb selfie_segmentation_landscape.tflite
  selfie_segmentation_solution_simd_wasm_bin.js selfie_segmentation_solution_simd_wasm_bin.wasm
  selfie_segmentation_solution_simd_wasm_bin.data)
mkdir -p "$out/segmentation"
for file in "${SEGMENTATION[@]}"; do
  install -m 644 "node_modules/@mediapipe/selfie_segmentation/$file" "$out/segmentation/"
done
cat > "$out/segmentation/NOTICE" <<'NOTICE'
The files in this directory are MediaPipe's Selfie Segmentation solution
(https://github.com/google-ai-edge/mediapipe), copyright Google LLC, licensed under
the Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0), as packaged by
@mediapipe/selfie_segmentation 0.1.1675465747 on npm.
NOTICE

# Links in chat messages (linkifyjs, MIT): its ES module, as published.
mkdir -p "$out/linkify"
cp node_modules/linkifyjs/dist/linkify.mjs "$out/linkify/"
cp node_modules/linkifyjs/LICENSE "$out/linkify/LICENSE"

if [[ "${1:-}" == "--check" ]]; then
  if ! diff -r "$out" vendor >/dev/null; then
    echo "web/vendor/ differs from the npm packages web/package-lock.json names; run scripts/vendor-web.sh" >&2
    diff -r "$out" vendor | head -20 >&2
    exit 1
  fi
  echo "web/vendor/ matches web/package-lock.json"
  exit 0
fi
rm -rf vendor
cp -r "$out" vendor
echo "web/vendor/ refreshed from web/package-lock.json"
