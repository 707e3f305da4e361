#!/usr/bin/env bash
# Chat fan-out on one Gather instance, SQLite and PostgreSQL: MEMBERS members in one
# channel, each on its own SSE stream and token, one posting RATE messages/s for SECONDS.
#   bench/chat.sh [MEMBERS [RATE [SECONDS]]]     # default 1000 100 10; writes bench/CHAT.md
#   CHAT_REPS=3 (default) runs per engine, alternating engines
# PostgreSQL at GATHER_BENCH_PG (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-1000}; rate=${2:-100}; seconds=${3:-10}; reps=${CHAT_REPS:-3}
pg=${GATHER_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release -q --bin gather --example chat_bench
GATHER="$(pwd)/target/release/gather"
BENCH="$(pwd)/target/release/examples/chat_bench"
email=admin@example.com; password=admin-password-123

measure() { # engine
    local engine=$1 dir pid out db=()
    dir="$(mktemp -d)"
    if [ "$engine" = PostgreSQL ]; then
        psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS gather_chat_bench WITH (FORCE)" >/dev/null
        psql "$pg/postgres" -qc "CREATE DATABASE gather_chat_bench" >/dev/null
        db=(--database-url "$pg/gather_chat_bench" --secrets-dir "$dir/secrets")
    fi
    "$GATHER" --dir "$dir" "${db[@]}" superuser upsert "$email" "$password" >/dev/null 2>&1
    "$GATHER" --dir "$dir" "${db[@]}" serve --http 127.0.0.1:8094 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:8094/api/health >/dev/null && break; sleep 0.1; done
    out=$("$BENCH" 2>/dev/null --base http://127.0.0.1:8094 --email "$email" --password "$password" --pid "$pid" \
        --members "$members" --rate "$rate" --seconds "$seconds")
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
    if [ "$engine" = PostgreSQL ]; then
        psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS gather_chat_bench WITH (FORCE)" >/dev/null
    fi
    echo "| $engine | $rep | $(echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print(' | '.join(str(d[k]) for k in ['members','messages','failed_posts','delivered_share','latency_ms_p50','latency_ms_p99','latency_ms_max','rss_before_mb','rss_connected_mb','kib_per_member','peak_rss_mb']))") |"
}

{
    echo "# Chat fan-out"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/{print int($2/1048576)}' /proc/meminfo) GiB; \`bench/chat.sh $members $rate $seconds\` (client: \`bench/chat.rs\`, on the same cores)."
    echo "$members members (humans, each its own token and SSE stream) in one channel; one posts $rate messages/s for $seconds s through the records API."
    echo "Latency: from sending the post to a member reading the frame, over every delivery. Memory: the server's RSS before and after the members connect."
    echo
    echo "| engine | run | members | messages | failed posts | delivered | p50 ms | p99 ms | max ms | RSS idle MB | RSS connected MB | KiB per member | peak RSS MB |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for rep in $(seq 1 "$reps"); do
        measure SQLite
        measure PostgreSQL
    done
} | tee bench/CHAT.md
