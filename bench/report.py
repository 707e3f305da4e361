#!/usr/bin/env python3
"""Builds bench/RESULTS.md from a bench/compare.sh results folder: PocketBase and Gather
side by side (medians over repetitions), the ratio, the target, and Gather on PostgreSQL."""
import glob, json, os, platform, statistics, subprocess, sys

folder = sys.argv[1]


def load(label):
    runs = []
    for path in sorted(glob.glob(os.path.join(folder, f"{label}-[0-9]*.json"))):
        with open(path) as f:
            runs.append(json.load(f))
    return runs


def phase_values(runs, phase, key):
    vals = []
    for meta in runs:
        for run in meta["runs"]:
            r = run.get("phases", {}).get(phase)
            if isinstance(r, dict) and r.get(key) is not None:
                vals.append(r[key])
    return vals


def run_values(runs, key):
    return [run[key] for meta in runs for run in meta["runs"] if run.get(key) is not None]


def med(vals):
    return statistics.median(vals) if vals else None


def peak_rss_mb(runs):
    vals = [r.get("vmhwm_kb") for meta in runs for run in meta["runs"] for r in run.get("phases", {}).values()
            if isinstance(r, dict) and r.get("vmhwm_kb")]
    return max(vals) / 1024 if vals else None


pb, g, gpg = load("pocketbase"), load("gather"), load("gather-pg")

# (label, value getter, higher is better, target as a multiple of PocketBase or absolute)
PHASES = [
    ("health", "GET /api/health"),
    ("tb100k", "create 100k records, 64 clients"),
    ("insert", "create, 16 clients"),
    ("read", "view by id"),
    ("list", "list, filter + sort, perPage=50, with count"),
    ("list_skip", "list, filter + sort, skipTotal"),
    ("list_all", "list perPage=50 with count"),
    ("list_expand", "list with expand"),
    ("auth", "auth-with-password"),
]
TARGETS = {"tb100k": 4, "insert": 4, "read": 3, "list_all": 10, "list": 20}


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "n/a"


lines = []
cpu = ""
try:
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
except OSError:
    pass
mem = ""
try:
    with open("/proc/meminfo") as f:
        mem = f"{int(f.readline().split()[1]) / 1048576:.0f} GiB"
except OSError:
    pass
date = (g or pb or [{}])[0].get("date", "")
lines.append("# Benchmarks: Gather vs PocketBase 0.40.6\n")
lines.append(f"Run {date} by `bench/compare.sh` on {os.cpu_count()} cores ({cpu}), {mem} RAM, "
             f"Linux {platform.release()}; load generator (wrk, 1 thread, via `shared/bench/pbbench.py`) "
             "and server share the cores. Every request carries a user token and every rule checks "
             "`@request.auth.id`. Medians over "
             f"{len(g)} alternating repetitions; ratios > 1 mean Gather is better. This machine varies "
             "±15-20% between runs: compare ratios, not absolute figures across runs.\n")
lines.append("## Throughput (requests/s) and latency\n")
lines.append("| workload | PocketBase req/s | Gather req/s | ratio | target | PocketBase p99 ms | Gather p99 ms | p99 ratio | Gather on PostgreSQL req/s |")
lines.append("|---|---|---|---|---|---|---|---|---|")
for key, label in PHASES:
    a, b = med(phase_values(pb, key, "req_per_s")), med(phase_values(g, key, "req_per_s"))
    pa, pg_ = med(phase_values(pb, key, "p99_ms")), med(phase_values(g, key, "p99_ms"))
    c = med(phase_values(gpg, key, "req_per_s"))
    t = TARGETS.get(key)
    target = f"≥ {t}×" + (" ✓" if a and b and b / a >= t else " ✗") if t else ""
    lines.append(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio(b, a)} | {target} | {fmt(pa)} | {fmt(pg_)} | "
                 f"{ratio(pa, pg_)} | {fmt(c)} |")
lines.append("\np99 target: each ≤ ⅓ of PocketBase's (p99 ratio ≥ 3×).\n")
lines.append("## Footprint\n")
lines.append("| figure | PocketBase | Gather | ratio | target | Gather on PostgreSQL |")
lines.append("|---|---|---|---|---|---|")
rows = [
    ("peak RSS under load (MB)", peak_rss_mb(pb), peak_rss_mb(g), peak_rss_mb(gpg), "≥ 4× smaller"),
    ("idle RSS (MB)", med([v / 1024 for v in run_values(pb, "idle_rss_kb")]), med([v / 1024 for v in run_values(g, "idle_rss_kb")]),
     med([v / 1024 for v in run_values(gpg, "idle_rss_kb")]), "≤ 20 MB"),
    ("cold start, empty data dir (ms)", med(run_values(pb, "cold_start_ms")), med(run_values(g, "cold_start_ms")),
     med(run_values(gpg, "cold_start_ms")), ""),
    ("start with existing data (ms)", med(run_values(pb, "restart_with_data_ms")), med(run_values(g, "restart_with_data_ms")),
     med(run_values(gpg, "restart_with_data_ms")), "≤ 50 ms"),
    ("binary size (MB)", (pb[0]["binary_bytes"] / 1048576) if pb else None, (g[0]["binary_bytes"] / 1048576) if g else None, None, ""),
]
for label, a, b, c, target in rows:
    lines.append(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio(a, b)} | {target} | {fmt(c)} |")
lines.append("\nRealtime fan-out (K SSE subscribers, every event to all) is measured by `bench/fanout.sh`: see [FANOUT.md](FANOUT.md).\n")
print("\n".join(lines))
