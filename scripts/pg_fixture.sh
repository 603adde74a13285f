#!/usr/bin/env bash
# Makes real pg_dump fixtures from a throwaway PostgreSQL cluster:
#   OUT/copy.sql            plain format, COPY blocks (pg_dump's default)
#   OUT/inserts.sql         plain format, --inserts
#   OUT/column-inserts.sql  plain format, --column-inserts
#   OUT/custom.dump         custom format (phisafe must reject it helpfully)
# Every value is synthetic. Usage: scripts/pg_fixture.sh OUT
set -euo pipefail
out="$1"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# shellcheck source=scripts/pg_cluster.sh
source "$(dirname "$0")/pg_cluster.sh"

psql -q -v ON_ERROR_STOP=1 "$url" <<'SQL'
CREATE TABLE patients (
    id integer PRIMARY KEY,
    first_name text,
    last_name text,
    ssn text,
    dob date,
    phone text,
    email text,
    note text,
    scan bytea,
    CONSTRAINT ssn_unique UNIQUE (ssn)
);
INSERT INTO patients VALUES
  (1, 'Maria', 'Lopez', '219-09-9999', '1957-04-12', '(415) 555-2671', 'maria.lopez@example.org',
   E'Seen 03/14/2024.\nCall back re: results\tSSN 536-22-1837', convert_to('Patient SSN 401-33-2761', 'UTF8')),
  (2, 'Tomás', 'O''Brien', NULL, '1961-07-02', '617-555-4411', 'tobrien@example.com',
   'quote '' and backslash \ here', NULL),
  (3, 'Wei', 'Chen', '401-33-2761', '1988-02-14', NULL, 'wei.chen@example.net', 'no PHI in this note', '\x00ff');
CREATE TABLE visits (visit_id integer, patient_id integer, reason text);
INSERT INTO visits VALUES (10, 1, 'follow-up'), (11, 3, 'mail jo@clinic.example');
SQL

pg_dump --no-owner "$url" > "$out/copy.sql"
pg_dump --no-owner --inserts "$url" > "$out/inserts.sql"
pg_dump --no-owner --column-inserts "$url" > "$out/column-inserts.sql"
pg_dump --no-owner -Fc "$url" > "$out/custom.dump"
