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
# Gather on SQLite against PocketBase (issue 19 raised health, view, 64-client creates).
TARGETS = {"health": 3, "tb100k": 6, "insert": 4, "read": 5, "list_all": 10, "list": 20}
# Gather on PostgreSQL against PocketBase: creates at least 2x, every read at least 1.5x.
PG_TARGETS = {"tb100k": 2, "insert": 2, "auth": None}
PG_READ_TARGET = 1.5


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "n/a"


def spread(num, den):
    """The lowest and highest ratio of the repetitions, each against its own pair."""
    pairs = [x / y for x, y in zip(num, den) if x and y]
    if len(pairs) < 2:
        return ""
    return f" ({min(pairs):.2f}-{max(pairs):.2f})"


def mark(value, target):
    return f"≥ {target}×" + (" ✓" if value is not None and value >= target else " ✗")


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
lines.append("Ratios are of the medians; in brackets the lowest and highest of the repetitions, each "
             "Gather run against the PocketBase run beside it.\n")
lines.append("| workload | PocketBase req/s | Gather req/s | ratio | target | PocketBase p99 ms | Gather p99 ms | p99 ratio (target ≥ 3×) | Gather on PostgreSQL req/s | PostgreSQL ratio | target | PostgreSQL p99 ms |")
lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
for key, label in PHASES:
    pa_all, g_all, c_all = (phase_values(r, key, "req_per_s") for r in (pb, g, gpg))
    pa99_all, g99_all, c99_all = (phase_values(r, key, "p99_ms") for r in (pb, g, gpg))
    a, b, c = med(pa_all), med(g_all), med(c_all)
    pa, pg_, cp = med(pa99_all), med(g99_all), med(c99_all)
    t = TARGETS.get(key)
    target = mark(b / a if a and b else None, t) if t else ""
    p99_ok = " ✓" if pa and pg_ and pa / pg_ >= 3 else " ✗"
    pt = PG_TARGETS.get(key, PG_READ_TARGET) if key != "auth" else None
    pg_target = mark(c / a if a and c else None, pt) if pt else ""
    lines.append(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio(b, a)}{spread(g_all, pa_all)} | {target} | "
                 f"{fmt(pa)} | {fmt(pg_)} | {ratio(pa, pg_)}{spread(pa99_all, g99_all)}{p99_ok} | "
                 f"{fmt(c)} | {ratio(c, a)}{spread(c_all, pa_all)} | {pg_target} | {fmt(cp)} |")
lines.append("\np99 target: each ≤ ⅓ of PocketBase's (p99 ratio ≥ 3×). auth-with-password is bound by "
             "the password hash both servers must compute; it has no target.\n")
lines.append("## Footprint\n")
lines.append("| figure | PocketBase | Gather | ratio | target | Gather on PostgreSQL |")
lines.append("|---|---|---|---|---|---|")
rows = [
    ("peak RSS under load (MB)", peak_rss_mb(pb), peak_rss_mb(g), peak_rss_mb(gpg),
     "≥ 4× smaller" + (" ✓" if peak_rss_mb(pb) and peak_rss_mb(g) and peak_rss_mb(pb) / peak_rss_mb(g) >= 4 else " ✗")),
    ("idle RSS (MB)", med([v / 1024 for v in run_values(pb, "idle_rss_kb")]), med([v / 1024 for v in run_values(g, "idle_rss_kb")]),
     med([v / 1024 for v in run_values(gpg, "idle_rss_kb")]),
     "≤ 20 MB" + (" ✓" if (med([v / 1024 for v in run_values(g, "idle_rss_kb")]) or 99) <= 20 else " ✗")),
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
