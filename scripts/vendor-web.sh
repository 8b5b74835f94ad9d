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
  settings star star-off hand)

npm ci --no-audit --no-fund --loglevel=error >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/icons"
for icon in "${ICONS[@]}"; do
  cp "node_modules/lucide-static/icons/$icon.svg" "$out/icons/"
done
cp node_modules/lucide-static/LICENSE "$out/icons/LICENSE"

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
