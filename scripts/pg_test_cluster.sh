#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for tests and prints its URL. The
# cluster lives until process OWNER_PID exits: a detached watcher then
# stops it and removes its directory. Used by scripts/test.sh (owner: the
# script) and by test binaries run without it (owner: the test process).
#
#   url="$(scripts/pg_test_cluster.sh OWNER_PID)"
set -euo pipefail
owner="$1"
bin="$(dirname "$(readlink -f "$(command -v initdb)")")"
dir="$(mktemp -d /tmp/phisafe-pgtest.XXXXXX)"
chmod 755 "$dir"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
as_pg "$bin/pg_ctl" -D "$dir/data" \
    -o "-k $dir -c listen_addresses='' -c max_connections=200 -c fsync=off" \
    -l "$dir/log" -w start >/dev/null
# The watcher is detached from our stdout so callers reading the URL see
# end-of-file as soon as we exit.
setsid bash -c "
    while kill -0 $owner 2>/dev/null; do sleep 1; done
    $(declare -f as_pg)
    as_pg '$bin/pg_ctl' -D '$dir/data' -m immediate -w stop >/dev/null 2>&1
    rm -rf '$dir'
" </dev/null >/dev/null 2>&1 &
echo "postgres://postgres@localhost/postgres?host=$dir"
