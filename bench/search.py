#!/usr/bin/env python3
"""Full-text search against a LIKE scan, on Gather's own skills collection, SQLite and
PostgreSQL, in one run.

For each engine: a fresh `gather serve` (release build), SKILLS skills written through
the batch API (so the index is kept the way every write keeps it), then, one request at
a time over one kept-alive connection, the records list of `skills` with
`?search=<words>` (the index, best match first) and with the filter the old `q` was,
`name ~ w || display_name ~ w || description ~ w || skill_md ~ w` (a scan), each with
its total. Every request uses a different word, so no answer comes from a cache.
Prints and writes bench/SEARCH.md: p50 / p99 milliseconds and the ratio.

    bench/search.py                       # 100,000 skills, both engines
    bench/search.py --skills 20000 --reps 100 --engines sqlite

PostgreSQL at GATHER_BENCH_PG (default postgres://postgres@127.0.0.1:5432), where it
makes and drops the database gather_search_bench.
"""

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATHER = os.path.join(ROOT, "target", "release", "gather")
PORT = 8093
EMAIL, PASSWORD = "bench@example.com", "bench-password-123"
PG = os.environ.get("GATHER_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PG_DB = "gather_search_bench"
BATCH = 50  # the batch API's default maxRequests


def vocabulary(n, rng):
    """n distinct pronounceable words (stable under stemming: consonant-vowel pairs)."""
    cons, vows = "bdfgklmnprstvz", "aeiou"
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(cons) + rng.choice(vows) for _ in range(3)))
    return sorted(words)


class Corpus:
    def __init__(self, seed=7, size=20000):
        self.rng = random.Random(seed)
        self.words = vocabulary(size, self.rng)
        # Zipf-like: the word of rank r is drawn with weight 1/r.
        self.cum = list(itertools.accumulate(1.0 / (r + 1) for r in range(size)))

    def text(self, n):
        return " ".join(self.rng.choices(self.words, cum_weights=self.cum, k=n))

    def skill(self, i):
        title = self.text(3)
        body = "\n".join(self.text(15) + "." for _ in range(10))
        return {
            "name": f"skill-{i:07d}",
            "display_name": title.title(),
            "description": self.text(25),
            "skill_md": f"---\nname: skill-{i:07d}\ndescription: {title}\n---\n# {title}\n\n{body}\n",
        }


class Client:
    def __init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        self.token = None

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = self.token
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        payload = r.read()
        if r.status >= 400:
            raise RuntimeError(f"{method} {path}: {r.status} {payload[:300]!r}")
        return json.loads(payload) if payload else None


def start(engine, data_dir):
    env = dict(os.environ)
    if engine == "postgres":
        psql(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)', f'CREATE DATABASE "{PG_DB}"')
        env["DATABASE_URL"] = f"{PG}/{PG_DB}"
    else:
        env.pop("DATABASE_URL", None)
    args = ["--dir", data_dir, "--secrets-dir", os.path.join(data_dir, "secrets")]
    subprocess.run([GATHER, *args, "superuser", "upsert", EMAIL, PASSWORD], env=env,
                   check=True, capture_output=True)
    proc = subprocess.Popen([GATHER, *args, "serve", "--http", f"127.0.0.1:{PORT}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            c.request("GET", "/api/health")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gather did not start")


def psql(*commands):
    for c in commands:
        subprocess.run(["psql", "-q", f"{PG}/test", "-c", c], check=True, capture_output=True)


def fill(client, corpus, n):
    url = "/api/collections/skills/records"
    started = time.time()
    for first in range(0, n, BATCH):
        reqs = [{"method": "POST", "url": url, "body": corpus.skill(i)}
                for i in range(first, min(n, first + BATCH))]
        client.call("POST", "/api/batch", {"requests": reqs})
    return time.time() - started


def like_filter(word):
    cols = ["name", "display_name", "description", "skill_md"]
    return " || ".join(f"{c} ~ '{word}'" for c in cols)


def timed(client, params):
    path = "/api/collections/skills/records?" + urllib.parse.urlencode(params)
    t = time.perf_counter()
    body = client.call("GET", path)
    return (time.perf_counter() - t) * 1000, body["totalItems"]


def run(engine, skills, reps, corpus_seed):
    corpus = Corpus(corpus_seed)
    data_dir = tempfile.mkdtemp(prefix="gather-search-")
    proc = start(engine, data_dir)
    try:
        client = Client()
        auth = client.call("POST", "/api/collections/_superusers/auth-with-password",
                           {"identity": EMAIL, "password": PASSWORD})
        client.token = auth["token"]
        fill_s = fill(client, corpus, skills)
        words = corpus.words
        # A word's place in `corpus.words` is its Zipf rank: common ones near the top,
        # rare ones far down; a pair is one of each kind.
        rng = random.Random(1)
        cases = {
            "common word (~top 100)": [words_at(words, rng, 0, 100) for _ in range(reps)],
            "rare word (rank 5k-20k)": [words_at(words, rng, 5000, 20000) for _ in range(reps)],
            "two words": [f"{words_at(words, rng, 0, 300)} {words_at(words, rng, 300, 3000)}"
                          for _ in range(reps)],
        }
        out = {"fill_s": fill_s, "cases": {}}
        for name, queries in cases.items():
            row = {}
            for kind in ("search", "like"):
                times, hits = [], []
                for q in queries:
                    if kind == "search":
                        params = {"search": q, "perPage": 20}
                    else:
                        filt = " && ".join(f"({like_filter(w)})" for w in q.split())
                        params = {"filter": filt, "perPage": 20}
                    ms, total = timed(client, params)
                    times.append(ms)
                    hits.append(total)
                row[kind] = {"p50": pct(times, 50), "p99": pct(times, 99),
                             "hits_median": statistics.median(hits)}
            out["cases"][name] = row
        return out
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
        if engine == "postgres":
            psql(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def words_at(words, rng, lo, hi):
    return words[rng.randrange(lo, min(hi, len(words)))]


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skills", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "SEARCH.md"))
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "gather"], cwd=ROOT, check=True)
    results = {e: run(e, a.skills, a.reps, 7) for e in a.engines.split(",")}
    lines = [
        f"# Skill search at {a.skills:,} skills",
        "",
        f"{time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores; `bench/search.py` "
        f"({a.reps} requests per row, each with a different word, one at a time; milliseconds "
        "per request through `GET /api/collections/skills/records`, page of 20 with its total).",
        "`search` is `?search=` (the full-text index, best match first); `LIKE` is the filter "
        "`q` used to be (`~` on name, display name, description and SKILL.md: a scan).",
        "",
        "| engine | query | search p50 | search p99 | LIKE p50 | LIKE p99 | p50 ratio | matches (median) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, r in results.items():
        for name, row in r["cases"].items():
            s, l = row["search"], row["like"]
            ratio = l["p50"] / s["p50"] if s["p50"] else float("inf")
            lines.append(
                f"| {engine} | {name} | {s['p50']:.1f} | {s['p99']:.1f} | {l['p50']:.1f} | "
                f"{l['p99']:.1f} | {ratio:.0f}x | {s['hits_median']:.0f} / {l['hits_median']:.0f} |")
    lines.append("")
    lines.append("Writing the skills through the batch API (50 per request, index kept by the "
                 "database): " + ", ".join(f"{e} {r['fill_s']:.0f} s" for e, r in results.items()) + ".")
    lines.append("The matches agree here because the corpus's words are whole and stable under stemming; in general search matches stemmed words and LIKE any substring. A common word costs search most: every match is ranked and counted for the page's total.")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
