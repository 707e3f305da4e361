#!/usr/bin/env bash
# Runs gather on a PostgreSQL database named after a bench data directory, creating it
# first:  bench/gather_pg.sh DIR <gather args...>;  bench/gather_pg.sh --drop-all
set -euo pipefail
pg="${GATHER_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
gather="$(cd "$(dirname "$0")/.." && pwd)/target/release/gather"
if [ "${1:-}" = "--drop-all" ]; then
    psql "$pg/test" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'gather_bench_%'" |
        while read -r db; do psql "$pg/test" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done
    exit 0
fi
dir="$1"; shift
db="gather_bench_$(basename "$(dirname "$dir")")_$(basename "$dir")"
db="$(echo "$db" | tr -c 'a-zA-Z0-9_\n' '_' | cut -c1-60)"
psql "$pg/test" -qc "CREATE DATABASE \"$db\"" >/dev/null 2>&1 || true
exec env DATABASE_URL="$pg/$db" "$gather" --dir "$dir" --secrets-dir "$dir/secrets" "$@"
