#!/usr/bin/env bash
# Restores a SQL dump into a throwaway PostgreSQL cluster with psql (stopping
# at the first error) and prints every row of every table in schema public,
# tab-separated, one table after another. Used to prove that a redacted dump
# still restores. Usage: scripts/pg_roundtrip.sh DUMP.sql
set -euo pipefail
dump="$(readlink -f "$1")"
# shellcheck source=scripts/pg_cluster.sh
source "$(dirname "$0")/pg_cluster.sh"

psql -q -X -v ON_ERROR_STOP=1 "$url" -f "$dump" >/dev/null
for t in $(psql -X -At "$url" -c "select tablename from pg_tables where schemaname = 'public' order by 1"); do
    echo "== $t"
    psql -X -At -F $'\t' "$url" -c "select * from public.\"$t\" order by 1"
done
