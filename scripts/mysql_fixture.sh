#!/usr/bin/env bash
# Makes real mysqldump fixtures from a throwaway MariaDB server (Debian's
# mariadb-server; its mysqldump writes MySQL's dump syntax):
#   OUT/extended.sql          mysqldump's default: extended (multi-row) INSERTs
#   OUT/complete-insert.sql   --complete-insert: column lists in every INSERT
#   OUT/single-row.sql        --skip-extended-insert: one INSERT per row
# The committed copies live in tests/data/mysql; rerun this to refresh
# them (it needs mariadb-server and mariadb-client installed). Every value
# is synthetic. Usage: scripts/mysql_fixture.sh OUT
set -euo pipefail
out="$1"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
dir="$(mktemp -d)"
cleanup() {
    mariadb-admin --no-defaults --socket="$dir/sock" -u root shutdown >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
user="$(id -un)"
mariadb-install-db --no-defaults --datadir="$dir/data" --user="$user" \
    --auth-root-authentication-method=normal >/dev/null
mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/sock" --skip-networking \
    --user="$user" --log-error="$dir/log" --pid-file="$dir/pid" &
for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.1; done
sql() { mariadb --no-defaults --socket="$dir/sock" -u root "$@"; }
sql <<'SQL'
CREATE DATABASE clinic CHARACTER SET utf8mb4;
USE clinic;
CREATE TABLE patients (
    id int NOT NULL,
    first_name varchar(64),
    last_name varchar(64),
    ssn varchar(11),
    dob date,
    phone varchar(32),
    email varchar(128),
    note text,
    scan blob,
    PRIMARY KEY (id)
) ENGINE=InnoDB;
INSERT INTO patients VALUES
  (1, 'Maria', 'Lopez', '219-09-9999', '1957-04-12', '(415) 555-2671', 'maria.lopez@example.org',
   'Seen 03/14/2024.\nCall back re: results\tSSN 536-22-1837', 'Patient SSN 401-33-2761'),
  (2, 'Tomás', 'O''Brien', NULL, '1961-07-02', '617-555-4411', 'tobrien@example.com',
   'quote '' and backslash \\ here; "double" too', NULL),
  (3, 'Wei', 'Chen', '401-33-2761', '1988-02-14', NULL, 'wei.chen@example.net', 'no PHI in this note', X'00FF');
CREATE TABLE visits (visit_id int, patient_id int, reason text);
INSERT INTO visits VALUES (10, 1, 'follow-up'), (11, 3, 'mail jo@clinic.example');
SQL
dump() { mariadb-dump --no-defaults --socket="$dir/sock" -u root --skip-dump-date "$@" clinic; }
dump > "$out/extended.sql"
dump --complete-insert > "$out/complete-insert.sql"
dump --skip-extended-insert > "$out/single-row.sql"
