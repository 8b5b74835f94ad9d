#!/usr/bin/env bash
# Runs every test anteroom has, installing what they need when it is missing. CI runs exactly this
# (.ci/run). Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, installed only when absent: python3 (the webhook receiver the
# tests verify signatures with), chromium and node/npm (the browser tests), coturn
# (the TURN server the pre-call network check is tested against), nginx (the reverse proxy the
# forwarded-address rules are tested behind), util-linux's unshare (a small private disk for the
# full-disk test) and setpriv (the browser without the right to raise priorities), postgresql and
# redis-server (the cluster's store and bus).
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v chromium >/dev/null || missing+=(chromium)
command -v turnserver >/dev/null || missing+=(coturn)
command -v nginx >/dev/null || missing+=(nginx)
{ command -v unshare && command -v setpriv; } >/dev/null || missing+=(util-linux)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# PostgreSQL and Redis: the cluster's store and bus (private servers, started below).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if ((${#missing[@]})); then
  echo "==> installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

echo "==> formatting and lints"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

echo "==> the browser client's pure modules (flow, connection, layout, roster) and its npm copies"
node --test web/test/
scripts/vendor-web.sh --check

echo "==> PostgreSQL and Redis for the tests (private servers on free loopback ports)"
services=$(mktemp -d)
trap 'scripts/services.sh stop "$services"; rm -rf "$services"' EXIT
eval "$(scripts/services.sh start "$services")"

echo "==> building the tests (and the server binary the integration and browser tests run)"
cargo test --locked --lib --bins --tests --no-run

# The test binaries spend most of their time waiting on servers they started (about a third of
# one core each), so three run at once: the unit tests with the media and cluster suites, the
# integration tests on the SQLite store, and the same integration tests on the PostgreSQL store.
# Each lane's output is shown whole once all three have ended.
echo "==> unit and integration tests, three lanes at once (the real server on random loopback ports)"
lanes="$services/lanes"
mkdir -p "$lanes"
lane() {
  local name=$1
  shift
  set +e
  "$@" >"$lanes/$name.log" 2>&1
  echo $? >"$lanes/$name.rc"
}
lane "units, media and cluster" cargo test --locked --lib --bins --test bandwidth --test cluster &
lane "integration, SQLite store" cargo test --locked --test it &
lane "integration, PostgreSQL store" env ANTEROOM_TEST_STORE=postgres cargo test --locked --test it &
wait
failed=()
for name in "units, media and cluster" "integration, SQLite store" "integration, PostgreSQL store"; do
  echo "==> $name"
  cat "$lanes/$name.log"
  [ "$(cat "$lanes/$name.rc")" = 0 ] || failed+=("$name")
done
if ((${#failed[@]})); then
  printf '==> failed: %s\n' "${failed[@]}"
  exit 1
fi

# target/debug/anteroom is the binary `cargo test` built for the integration tests (with the
# features the test dependencies add, as those tests run it); a separate `cargo build` would
# rebuild some thirty crates without them, minutes on a clean checkout.
echo "==> browser tests (Debian's chromium, fake camera and microphone; screenshots in e2e/output/)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)
