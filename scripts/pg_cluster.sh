# Sourced by scripts that need a throwaway PostgreSQL cluster: starts one
# in a temporary directory on a unix socket (no TCP), sets $url, and stops
# and removes it when the calling script exits. initdb refuses to run as
# root, so as root the server runs as the postgres user.
bin="$(dirname "$(readlink -f "$(command -v initdb)")")"
pg_dir="$(mktemp -d)"
chmod 755 "$pg_dir"
chown postgres "$pg_dir" 2>/dev/null || true
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_stop() {
    as_pg "$bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
}
trap pg_stop EXIT
as_pg "$bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null
as_pg "$bin/pg_ctl" -D "$pg_dir/data" -o "-k $pg_dir -c listen_addresses=''" \
    -l "$pg_dir/log" -w start >/dev/null
url="postgres://postgres@localhost/postgres?host=$pg_dir"
