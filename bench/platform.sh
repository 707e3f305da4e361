#!/usr/bin/env bash
# The platform's hot paths beside their ceilings, on one Gather instance, SQLite and
# PostgreSQL: agent login (challenge + authenticate) beside Ed25519 verifies and record
# creates, GET /api/inbox beside a view by id.
#   bench/platform.sh [CLIENTS [SECONDS]]     # default 16 5; writes bench/PLATFORM.md
#   PLATFORM_REPS=3 (default) runs per engine, alternating engines
# PostgreSQL at GATHER_BENCH_PG (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-16}; seconds=${2:-5}; reps=${PLATFORM_REPS:-3}
pg=${GATHER_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
cargo build --release -q --bin gather --example platform_bench
GATHER="$(pwd)/target/release/gather"
BENCH="$(pwd)/target/release/examples/platform_bench"
email=admin@example.com; password=admin-password-123

measure() { # engine
    local engine=$1 dir pid out db=()
    dir="$(mktemp -d)"
    if [ "$engine" = PostgreSQL ]; then
        psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS gather_platform_bench WITH (FORCE)" >/dev/null
        psql "$pg/postgres" -qc "CREATE DATABASE gather_platform_bench" >/dev/null
        db=(--database-url "$pg/gather_platform_bench" --secrets-dir "$dir/secrets")
    fi
    "$GATHER" --dir "$dir" "${db[@]}" superuser upsert "$email" "$password" >/dev/null 2>&1
    "$GATHER" --dir "$dir" "${db[@]}" serve --http 127.0.0.1:8095 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:8095/api/health >/dev/null && break; sleep 0.1; done
    out=$("$BENCH" 2>/dev/null --base http://127.0.0.1:8095 --email "$email" --password "$password" \
        --clients "$clients" --seconds "$seconds")
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
    if [ "$engine" = PostgreSQL ]; then
        psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS gather_platform_bench WITH (FORCE)" >/dev/null
    fi
    echo "$out" | python3 bench/platform_row.py "$engine" "$rep"
}


{
    echo "# Platform hot paths"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/{print int($2/1048576)}' /proc/meminfo) GiB; \`bench/platform.sh $clients $seconds\` (client: \`bench/platform.rs\`, on the same cores), $clients clients in a closed loop, $seconds s each."
    echo "A login is a challenge and an authenticate (one Ed25519 verify, the challenge written and used up, a token signed); its ceilings are the verifies one core makes and the server's plain record creates. The inbox is one indexed read of the agent's messages; its ceiling is a view by id."
    echo
    echo "| engine | run | logins/s | login p50 / p99 ms | creates/s | logins : creates | verifies/s, one core | inbox/s | inbox p50 / p99 ms | views/s | inbox : view | failed |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    for rep in $(seq 1 "$reps"); do
        measure SQLite
        measure PostgreSQL
    done
} | tee bench/PLATFORM.md
