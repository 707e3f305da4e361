#!/usr/bin/env bash
# PostgreSQL's own ceiling on this machine: what pgbench gets from the server with the
# statements a Gather create and view send, so the Gather-on-PostgreSQL figures of
# RESULTS.md can be read against it. Writes bench/PGBENCH.md.
#
#   bench/pgbench.sh            # 16 and 64 clients, 10 s per workload
#   bench/pgbench.sh 20         # seconds per workload
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-10}"
pg="${GATHER_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
db=gather_pgbench
command -v pgbench >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-contrib >/dev/null
}
psql "$pg/test" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
trap 'psql "$pg/test" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
# The table pbbench's collection becomes in Gather, and 10,000 rows to read.
psql "$pg/$db" -q <<'SQL'
CREATE TABLE users (id TEXT PRIMARY KEY);
INSERT INTO users VALUES ('owner00000000001');
CREATE TABLE _collections (id TEXT PRIMARY KEY, updated TEXT NOT NULL);
INSERT INTO _collections VALUES ('c1', '2026-12-04 00:00:00.000Z');
CREATE TABLE bench_items (id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL DEFAULT '',
    num DOUBLE PRECISION NOT NULL DEFAULT 0, flag BOOLEAN NOT NULL DEFAULT FALSE,
    owner TEXT NOT NULL DEFAULT '', created TEXT NOT NULL DEFAULT '', updated TEXT NOT NULL DEFAULT '');
CREATE INDEX ON bench_items (created);
INSERT INTO bench_items SELECT substr(md5(i::text), 1, 15), 'title ' || i, i, true,
    'owner00000000001', '2026-12-04 00:00:00.000Z', '2026-12-04 00:00:00.000Z'
    FROM generate_series(1, 10000) i;
VACUUM ANALYZE;
SQL
work="$(mktemp -d)"
# A create alone: one INSERT per transaction (a commit, and its WAL flush, per row).
cat > "$work/insert.sql" <<'SQL'
INSERT INTO bench_items VALUES (substr(md5(random()::text), 1, 15), 'title', 1, true,
    'owner00000000001', now()::text, now()::text);
SQL
# What a group commit of 16 Gather creates sends (the schema row and the related record
# are checked once per transaction, then one INSERT per create); rows/s are 16 x tps.
{
    echo "BEGIN;"
    echo "SELECT updated FROM _collections WHERE id = 'c1' FOR SHARE;"
    echo "SELECT COUNT(*) FROM users WHERE id IN ('owner00000000001');"
    for _ in $(seq 1 16); do cat "$work/insert.sql"; done
    echo "COMMIT;"
} > "$work/group.sql"
# A view by id.
cat > "$work/view.sql" <<'SQL'
\set n random(1, 10000)
SELECT id, title, num, flag, owner, created, updated FROM bench_items WHERE id = substr(md5(:n::text), 1, 15);
SQL
run() { # label script clients
    pgbench -n -M prepared -T "$secs" -c "$3" -j 1 -f "$work/$2" "$pg/$db" 2>/dev/null |
        awk -v l="$1" -v c="$3" '/^tps/ {printf "| %s | %s | %.0f |\n", l, c, $3} /latency average/ {lat=$4}'
}
{
    echo "# PostgreSQL's own ceiling (pgbench)"
    echo
    echo "Run $(date -u '+%Y-%m-%d %H:%M') by \`bench/pgbench.sh $secs\` on $(nproc) cores, $(psql "$pg/test" -Atc 'SHOW server_version'); pgbench (1 thread, prepared statements) and PostgreSQL share the cores, as Gather, wrk and PostgreSQL do in \`RESULTS.md\`. Server settings as installed (\`synchronous_commit\` $(psql "$pg/test" -Atc 'SHOW synchronous_commit'), \`fsync\` $(psql "$pg/test" -Atc 'SHOW fsync'))."
    echo
    echo "| workload | clients | transactions/s |"
    echo "|---|---|---|"
    for c in 16 64; do
        run "INSERT, one per transaction" insert.sql "$c"
        run "a group of 16 creates: schema row FOR SHARE, relation count, 16 INSERTs" group.sql "$c"
        run "SELECT by primary key" view.sql "$c"
    done
    echo
    echo "A group's rows/s are 16 x its transactions/s. The statements are round trips on one"
    echo "connection each; pgbench's clients are PostgreSQL sessions, where Gather has 4 writer"
    echo "connections and 16 readers behind its HTTP clients."
} > PGBENCH.md
cat PGBENCH.md
