#!/usr/bin/env bash
# Restores a SQL dump into a throwaway PostgreSQL cluster with psql (stopping
# at the first error) and prints every row of every table in schema public,
# tab-separated, one table after another. Used to prove that a redacted dump
# still restores. Usage: scripts/pg_roundtrip.sh DUMP.sql
set -euo pipefail
dump="$(readlink -f "$1")"
bin="$(dirname "$(readlink -f "$(command -v initdb)")")"
dir="$(mktemp -d)"
chown postgres "$dir" 2>/dev/null || true
chmod 755 "$dir"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop() { as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap stop EXIT

as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
as_pg "$bin/pg_ctl" -D "$dir/data" -o "-k $dir -c listen_addresses=''" -l "$dir/log" -w start >/dev/null
url="postgres://postgres@localhost/postgres?host=$dir"

psql -q -X -v ON_ERROR_STOP=1 "$url" -f "$dump" >/dev/null
for t in $(psql -X -At "$url" -c "select tablename from pg_tables where schemaname = 'public' order by 1"); do
    echo "== $t"
    psql -X -At -F $'\t' "$url" -c "select * from public.\"$t\" order by 1"
done
