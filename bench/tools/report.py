"""Renders bench/run.sh's results as one markdown table, with the ratios and the targets.

  report.py --machine DIR   prints the machine's description as JSON (run.sh saves it)
  report.py DIR             prints the table from DIR/results.jsonl and DIR/machine.json
"""

import json
import os
import platform
import subprocess
import sys


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> dict:
    model = ""
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": sh("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "rustc": sh("rustc", "--version"),
        "python": platform.python_version(),
        "wrk": sh("sh", "-c", "wrk -v 2>&1 | head -n1"),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
        "settings": {
            k: os.environ.get(k, d)
            for k, d in [
                ("DURATION", "15"),
                ("WARMUP", "3"),
                ("CONNS", "32"),
                ("STORM_CONNS", "16"),
                ("THREADS", str(os.cpu_count())),
                ("USERS", "10000"),
                ("ARGON2_M", "65536"),
                ("ARGON2_T", "3"),
                ("ARGON2_P", "4"),
                ("JWT_LIFETIME", "3600"),
            ]
        },
    }


NAMES = {
    "a": "(a) GET /users/me",
    "b": "(b) login",
    "c": "(c) register, unique emails",
    "d": "(d) GET /users/me during a login storm",
    "d-storm": "(d) the login storm itself",
    "e": "(e) bare axum handler (floor)",
    "f": "(f) argon2id, HashPool, all cores (limit)",
}
SERVERS = {
    "ours": "axum-users",
    "ours-log": "axum-users, access log on (RUST_LOG=info)",
    "ref": "FastAPI Users",
    "floor": "axum",
    "argon2": "axum-users-core",
}


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def fmt_ms(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:,.0f}"


def report(directory: str) -> None:
    rows = {}
    with open(os.path.join(directory, "results.jsonl")) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                rows[(r["scenario"], r["server"])] = r
    try:
        with open(os.path.join(directory, "machine.json")) as f:
            m = json.load(f)
    except (OSError, ValueError):
        m = {}
    s = m.get("settings", {})

    def get(scenario: str, server: str):
        return rows.get((scenario, server))

    def ratio(a, b, field="rps"):
        if a is None or b is None or not b[field]:
            return None
        return a[field] / b[field]

    print(
        f"Machine: {m.get('nproc')} cores ({m.get('cpu')}), {m.get('memory_gib')} GiB, "
        f"{m.get('os')}, kernel {m.get('kernel')}; {m.get('rustc')}; Python {m.get('python')}; "
        f"{m.get('wrk')}. Load average at start: {' '.join(m.get('loadavg_at_start', []))}."
    )
    print(
        f"Each run: wrk -t{s.get('THREADS')} -c{s.get('CONNS')} for {s.get('DURATION')} s "
        f"(login storm: -t1 -c{s.get('STORM_CONNS')}); {s.get('USERS')} users per database; "
        f"argon2id m={s.get('ARGON2_M')} t={s.get('ARGON2_T')} p={s.get('ARGON2_P')}; "
        f"JWT lifetime {s.get('JWT_LIFETIME')} s."
    )
    print()
    print("| scenario | server | req/s | p50 ms | p99 ms | errors | peak RSS MiB | ratio |")
    print("|---|---|--:|--:|--:|--:|--:|---|")
    limit = get("f", "argon2")
    for scenario in ["a", "b", "c", "d", "d-storm", "e", "f"]:
        for server in ["ours", "ours-log", "ref", "floor", "argon2"]:
            r = get(scenario, server)
            if r is None:
                continue
            notes = []
            if server == "ours":
                ref = get(scenario, "ref")
                if ratio(r, ref):
                    notes.append(f"{ratio(r, ref):,.1f}× reference")
                if scenario == "a" and ratio(r, get("e", "floor")):
                    notes.append(f"{ratio(r, get('e', 'floor')):.0%} of floor")
                if scenario in ("b", "c", "d-storm") and ratio(r, limit):
                    notes.append(f"{ratio(r, limit):.0%} of limit")
                if scenario == "d" and ratio(r, get("a", "ours")):
                    notes.append(f"{ratio(r, get('a', 'ours')):.0%} of unloaded")
            if server == "ours-log" and ratio(r, get("e", "floor")):
                notes.append(f"{ratio(r, get('e', 'floor')):.0%} of floor")
            if server == "ref":
                if scenario in ("b", "c", "d-storm") and ratio(r, limit):
                    notes.append(f"{ratio(r, limit):.0%} of limit")
                if scenario == "d" and ratio(r, get("a", "ref")):
                    notes.append(f"{ratio(r, get('a', 'ref')):.0%} of unloaded")
            print(
                f"| {NAMES[scenario]} | {SERVERS[server]} | {fmt_rate(r['rps'])} | "
                f"{fmt_ms(r['p50_ms'])} | {fmt_ms(r['p99_ms'])} | {r['errors']} | "
                f"{r['rss_kib'] / 1024:,.0f} | {'; '.join(notes)} |"
            )

    print()
    print("| target | wanted | measured | |")
    print("|---|---|---|---|")

    def target(name, wanted, value, ok, shown):
        mark = "met" if ok else ("**missed**" if value is not None else "not measured")
        print(f"| {name} | {wanted} | {shown if value is not None else '—'} | {mark} |")

    a, ref_a, floor = get("a", "ours"), get("a", "ref"), get("e", "floor")
    x = ratio(a, ref_a)
    target("/users/me vs FastAPI Users", "≥ 40×", x, x is not None and x >= 40, f"{x or 0:,.1f}×")
    x = ratio(a, floor)
    target("/users/me vs bare axum", "≥ 50 %", x, x is not None and x >= 0.5, f"{(x or 0):.0%}")
    target(
        "/users/me p99 at 32 connections", "≤ 5 ms", a and a["p99_ms"],
        a is not None and a["p99_ms"] <= 5, f"{a['p99_ms']:.2f} ms" if a else "",
    )
    for scenario, name in [("b", "login"), ("c", "register")]:
        r = get(scenario, "ours")
        x = ratio(r, limit)
        target(
            f"{name} vs argon2 limit, 0 errors", "≥ 90 %, 0", x,
            x is not None and x >= 0.9 and r["errors"] == 0,
            f"{(x or 0):.0%}, {r['errors'] if r else '—'} errors",
        )
    d = get("d", "ours")
    x = ratio(d, a)
    target("/users/me during a login storm vs unloaded", "≥ 50 %", x, x is not None and x >= 0.5, f"{(x or 0):.0%}")
    target(
        "/users/me p99 during a login storm", "≤ 10 ms", d and d["p99_ms"],
        d is not None and d["p99_ms"] <= 10, f"{d['p99_ms']:.2f} ms" if d else "",
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--machine":
        print(json.dumps(machine(), indent=2))
    elif len(sys.argv) == 2:
        report(sys.argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
