#!/usr/bin/env bash
# Column-encryption benchmark in a throwaway PostgreSQL cluster (default
# settings apart from the socket): encrypt-column rows/s, and reading one
# column as plaintext, through pgp_sym_decrypt and through phisafe with
# audit, on the same 100,000-row table in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pg_cluster.sh
source scripts/pg_cluster.sh
PHISAFE_BENCH_PG_URL="$url" cargo bench -p phisafe-benches --bench db "$@"
