#!/usr/bin/env bash
# Rankings at scale: 100k skills and 1M reviews, shaped as Gather stores them, on SQLite
# and PostgreSQL. Compares ranking at read time (sort by the formula) with stored,
# indexed ranks kept by set-based updates, and times the per-review work that keeps
# them (a skill's stats from its rows, the re-rank the new total causes).
#
#   bench/rankings.sh              # both engines; writes bench/RANKINGS.md
#   SKILLS=20000 REVIEWS=200000 bench/rankings.sh
#
# Needs the sqlite3 and psql command-line tools; PostgreSQL at GATHER_BENCH_PG
# (default postgres://postgres@127.0.0.1:5432/postgres), where it makes and drops the
# database gather_rank_bench.
set -euo pipefail
cd "$(dirname "$0")"
SKILLS=${SKILLS:-100000}
REVIEWS=${REVIEWS:-1000000}
REPS=${REPS:-5}
PG=${GATHER_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
OUT=RANKINGS.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The rank parts and normaliser as src/rankings keeps them; NORM is log10(total + 10).
schema() {
  cat <<SQL
CREATE TABLE skills (id TEXT PRIMARY KEY, review_count DOUBLE PRECISION NOT NULL DEFAULT 0,
  avg_score DOUBLE PRECISION NOT NULL DEFAULT 0, installs DOUBLE PRECISION NOT NULL DEFAULT 0,
  rank_reviews DOUBLE PRECISION NOT NULL DEFAULT 0, rank_base DOUBLE PRECISION NOT NULL DEFAULT 0,
  rank_norm DOUBLE PRECISION NOT NULL DEFAULT 0, rank_score DOUBLE PRECISION NOT NULL DEFAULT 0);
CREATE TABLE reviews (id TEXT PRIMARY KEY, skill TEXT NOT NULL, status TEXT NOT NULL,
  score DOUBLE PRECISION NOT NULL, challenge_id TEXT NOT NULL DEFAULT '');
SQL
}

# Statements timed, by name; :NORM is the normaliser after one more review, :FLOOR the
# smallest rank_reviews that normaliser can move by 0.005 (src/rankings/refresh.rs).
queries() {
  cat <<'SQL'
read_time_top20|SELECT id FROM skills WHERE review_count > 0 ORDER BY rank_reviews / :NORM + rank_base DESC LIMIT 20
stored_top20|SELECT id FROM skills ORDER BY rank_score DESC, review_count DESC LIMIT 20
skill_stats|SELECT COUNT(*), SUM(score) FROM reviews WHERE skill = 's0000042' AND status = 'complete' AND score > 0
total_reviews|SELECT SUM(review_count) FROM skills
normaliser_bounds|SELECT (SELECT MIN(rank_norm) FROM skills WHERE rank_norm > 0), (SELECT MAX(rank_norm) FROM skills WHERE rank_norm > 0)
rerank_after_one_review|UPDATE skills SET rank_score = rank_reviews / :NORM + rank_base, rank_norm = :NORM WHERE id = 's0000042' OR (rank_norm <= 0 AND rank_reviews > 0) OR (rank_reviews >= :FLOOR AND +rank_norm > 0 AND ABS(rank_reviews / rank_norm - rank_reviews / :NORM) >= 0.005)
rerank_scan_after_one_review|UPDATE skills SET rank_score = rank_reviews / :NORM + rank_base, rank_norm = :NORM WHERE rank_reviews > 0 AND CASE WHEN rank_norm > 0 THEN ABS(rank_reviews / rank_norm - rank_reviews / :NORM) ELSE 1 END >= 0.005
rerank_all_exact|UPDATE skills SET rank_score = rank_reviews / :NORM + rank_base, rank_norm = :NORM WHERE rank_reviews > 0
SQL
}

sqlite_run() {
  local db=$work/rank.db
  {
    echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    schema
    cat <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $SKILLS - 1)
INSERT INTO skills (id, installs) SELECT printf('s%07d', i), abs(random() % 1000) FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $REVIEWS - 1)
INSERT INTO reviews SELECT printf('r%08d', i), printf('s%07d', abs(random()) % $SKILLS), 'complete',
  1 + abs(random() % 10), CASE WHEN i % 5 = 0 THEN 'c' ELSE '' END FROM n;
CREATE INDEX idx_reviews_skill_status ON reviews (skill, status);
UPDATE skills SET review_count = r.n, avg_score = r.a FROM
  (SELECT skill, COUNT(*) AS n, AVG(score) AS a FROM reviews GROUP BY skill) AS r WHERE r.skill = skills.id;
UPDATE skills SET rank_reviews = 4 * avg_score * log10(review_count + 1),
  rank_base = 0.625 * log10(installs + 1) WHERE review_count > 0;
UPDATE skills SET rank_norm = log10($REVIEWS + 10), rank_score = rank_reviews / log10($REVIEWS + 10) + rank_base;
CREATE INDEX idx_skills_rank ON skills (rank_score, review_count);
CREATE INDEX idx_skills_rank_reviews ON skills (rank_reviews);
CREATE INDEX idx_skills_rank_norm ON skills (rank_norm);
ANALYZE;
SQL
  } | sqlite3 "$db" > /dev/null
  local norm floor
  norm=$(python3 -c "import math; print(math.log10($REVIEWS + 11))")
  floor=$(python3 -c "import math; print(0.005 / abs(1 / math.log10($REVIEWS + 10) - 1 / math.log10($REVIEWS + 11)))")
  while IFS='|' read -r name sql; do
    sql=${sql//:NORM/$norm}
    sql=${sql//:FLOOR/$floor}
    local times=()
    for _ in $(seq "$REPS"); do
      # The first statement may change rows; each repetition starts from the same data.
      t=$(printf '.timer on\nBEGIN;\n%s;\nROLLBACK;\n' "$sql" | sqlite3 "$db" | grep -o 'real [0-9.]*' | sed -n 2p | awk '{print $2 * 1000}')
      times+=("$t")
    done
    echo "sqlite|$name|${times[*]}"
  done < <(queries)
}

pg_run() {
  psql -q "$PG" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS gather_rank_bench" -c "CREATE DATABASE gather_rank_bench" > /dev/null
  local db=${PG%/*}/gather_rank_bench
  {
    schema
    cat <<SQL
INSERT INTO skills (id, installs) SELECT 's' || lpad(i::text, 7, '0'), floor(random() * 1000) FROM generate_series(0, $SKILLS - 1) i;
INSERT INTO reviews SELECT 'r' || lpad(i::text, 8, '0'), 's' || lpad(floor(random() * $SKILLS)::int::text, 7, '0'),
  'complete', 1 + floor(random() * 10), CASE WHEN i % 5 = 0 THEN 'c' ELSE '' END FROM generate_series(0, $REVIEWS - 1) i;
CREATE INDEX idx_reviews_skill_status ON reviews (skill, status);
UPDATE skills SET review_count = r.n, avg_score = r.a FROM
  (SELECT skill, COUNT(*) AS n, AVG(score) AS a FROM reviews GROUP BY skill) AS r WHERE r.skill = skills.id;
UPDATE skills SET rank_reviews = 4 * avg_score * log(review_count + 1), rank_base = 0.625 * log(installs + 1) WHERE review_count > 0;
UPDATE skills SET rank_norm = log($REVIEWS + 10), rank_score = rank_reviews / log($REVIEWS + 10) + rank_base;
CREATE INDEX idx_skills_rank ON skills (rank_score, review_count);
CREATE INDEX idx_skills_rank_reviews ON skills (rank_reviews);
CREATE INDEX idx_skills_rank_norm ON skills (rank_norm);
VACUUM ANALYZE;
SQL
  } | psql -q "$db" > /dev/null
  local norm floor
  norm=$(python3 -c "import math; print(math.log10($REVIEWS + 11))")
  floor=$(python3 -c "import math; print(0.005 / abs(1 / math.log10($REVIEWS + 10) - 1 / math.log10($REVIEWS + 11)))")
  while IFS='|' read -r name sql; do
    sql=${sql//:NORM/$norm}
    sql=${sql//:FLOOR/$floor}
    local times=()
    for _ in $(seq "$REPS"); do
      t=$(printf '\\timing on\nBEGIN;\n%s;\nROLLBACK;\n' "$sql" | psql -q "$db" | grep -o 'Time: [0-9.]*' | sed -n 2p | awk '{print $2}')
      times+=("$t")
    done
    echo "postgres|$name|${times[*]}"
  done < <(queries)
  psql -q "$PG" -c "DROP DATABASE gather_rank_bench" > /dev/null
}

results=$work/results
{ sqlite_run; pg_run; } | tee "$results"
python3 - "$results" "$SKILLS" "$REVIEWS" "$REPS" > "$OUT" <<'PY'
import statistics, sys
path, skills, reviews, reps = sys.argv[1:]
rows = [l.strip().split("|") for l in open(path) if l.count("|") == 2]
med = {(e, n): statistics.median(float(x) for x in t.split()) for e, n, t in rows}
names = []
for _, n, _ in rows:
    if n not in names:
        names.append(n)
print(f"# Rankings at {int(skills):,} skills and {int(reviews):,} reviews\n")
print(f"Made by `bench/rankings.sh` (median of {reps} runs, milliseconds, each statement in a")
print("transaction rolled back so every run sees the same data).\n")
print("| statement | SQLite | PostgreSQL |\n|---|---:|---:|")
for n in names:
    s, p = med.get(("sqlite", n)), med.get(("postgres", n))
    print(f"| `{n}` | {s:.1f} | {p:.1f} |")
PY
echo "wrote bench/$OUT"
