#!/usr/bin/env bash
# Field-encryption benchmark, with pgcrypto in the same run: measures
# pgp_sym_encrypt / pgp_sym_decrypt (default settings) on the same 32- and
# 256-byte values in a throwaway PostgreSQL cluster, then runs the criterion
# bench and prints every ratio (scripts/crypto_ratios.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg_cluster.sh
n="${PGCRYPTO_VALUES:-5000}"
mkdir -p target/criterion
psql -q -At "$url" <<SQL > target/criterion/pgcrypto.json
CREATE EXTENSION pgcrypto;
-- The same bytes the criterion bench seals: "0123456789-ABCDEFGHIJ " repeated.
CREATE TABLE v32 AS SELECT left(repeat('0123456789-ABCDEFGHIJ ', 20), 32) AS v
    FROM generate_series(1, $n);
CREATE TABLE v256 AS SELECT left(repeat('0123456789-ABCDEFGHIJ ', 20), 256) AS v
    FROM generate_series(1, $n);
CREATE TABLE e32 AS SELECT pgp_sym_encrypt(v, 'passphrase') AS c FROM v32;
CREATE TABLE e256 AS SELECT pgp_sym_encrypt(v, 'passphrase') AS c FROM v256;
CREATE FUNCTION per_second(query text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; n bigint;
BEGIN
    t0 := clock_timestamp();
    EXECUTE query INTO n;
    RETURN n / extract(epoch FROM clock_timestamp() - t0);
END \$\$;
SELECT json_build_object(
    'values', $n,
    'encrypt-32', per_second('SELECT count(pgp_sym_encrypt(v, ''passphrase'')) FROM v32'),
    'decrypt-32', per_second('SELECT count(pgp_sym_decrypt(c, ''passphrase'')) FROM e32'),
    'encrypt-256', per_second('SELECT count(pgp_sym_encrypt(v, ''passphrase'')) FROM v256'),
    'decrypt-256', per_second('SELECT count(pgp_sym_decrypt(c, ''passphrase'')) FROM e256'));
SQL
echo "pgcrypto: $(cat target/criterion/pgcrypto.json)"
# Stopped before the criterion run: its checkpoints would share the disk
# with the audit log's fsyncs.
pg_stop
cargo bench -p phisafe-benches --bench crypto "$@"
python3 scripts/crypto_ratios.py
