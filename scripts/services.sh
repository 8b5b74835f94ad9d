#!/usr/bin/env bash
# PostgreSQL and Redis for the tests: private servers from Debian's packages on free loopback ports,
# their data in DIR (a throwaway directory), nothing installed as a service.
#
#   eval "$(scripts/services.sh start DIR)"   # prints ANTEROOM_TEST_POSTGRES_URL and ANTEROOM_TEST_REDIS_URL
#   scripts/services.sh stop DIR
set -euo pipefail

action=${1:?start or stop}
dir=${2:?a directory for the servers\' data}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# PostgreSQL refuses to run as root: as root, its servers run as the package's postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$action" in
  start)
    mkdir -p "$dir"
    bin=$(pg_bin)
    [ -n "$bin" ] || { echo "PostgreSQL is not installed (Debian package postgresql)" >&2; exit 1; }
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/pg" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1
    pg_port=$(free_port)
    # fsync off: the data is thrown away after the tests; crash safety is PostgreSQL's, not ours.
    as_pg "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w \
      -o "-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=400" \
      start >/dev/null
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 50); do
      redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    echo "export ANTEROOM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$pg_port/postgres"
    echo "export ANTEROOM_TEST_REDIS_URL=redis://127.0.0.1:$redis_port"
    ;;
  stop)
    bin=$(pg_bin)
    if [ -d "$dir/pg" ] && [ -n "$bin" ]; then
      as_pg "$bin/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/redis.pid" ]; then
      kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
