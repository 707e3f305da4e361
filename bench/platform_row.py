"""One row of bench/PLATFORM.md from platform_bench's JSON (stdin): engine and run from argv."""
import json
import sys

engine, run = sys.argv[1], sys.argv[2]
d = json.load(sys.stdin)
login, create, inbox, view = d["login"], d["create"], d["inbox"], d["view"]


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def lat(x):
    return f"{x['p50_ms']:.1f} / {x['p99_ms']:.1f}"


failed = sum(x["failed"] for x in (login, create, inbox, view))
cells = [
    engine, run,
    f"{login['per_second']:.0f}", lat(login), f"{create['per_second']:.0f}",
    ratio(login["per_second"], create["per_second"]),
    f"{d['ed25519_verifies_per_second_one_core']:.0f}",
    f"{inbox['per_second']:.0f}", lat(inbox), f"{view['per_second']:.0f}",
    ratio(inbox["per_second"], view["per_second"]), str(failed),
]
print("| " + " | ".join(cells) + " |")
