#!/usr/bin/env python3
"""Summarize the pool sweep's raw outputs (docs/bench/pool.sh).

Run from the repository root:

    python3 docs/bench/pool-summary.py > docs/bench/pool-summary.txt

Reads every pass's docs/bench/pool-ledger2*.txt and docs/bench/pool-reads*.txt,
each a sequence of safebench invocations ("# round ..." and "$ COMMAND" lines, then
the tables), and prints per pool size (and GOMAXPROCS): the medians over the
invocations, and sqlite3-safe against two-pool paired invocation by
invocation (each invocation ran both, interleaved).
"""

import glob
import re
import statistics
import sys

UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(cell):
    m = re.fullmatch(r"([\d.]+)(ns|us|ms|s)", cell)
    if not m:
        return None
    return float(m.group(1)) * UNITS[m.group(2)]


def dur(s):
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            v = s / scale
            return (f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}") + unit
    return f"{s * 1e9:.0f}ns"


def invocations_of(paths):
    """Yields (pass index, labels, tables) over the files, in order."""
    for i, path in enumerate(paths):
        for labels, tables in invocations(path):
            yield i, labels, tables


def per_pass(pairs, n):
    """The median ratio of each pass, "a / b"."""
    out = []
    for i in range(n):
        rs = [r for p, r in pairs if p == i]
        out.append(f"{statistics.median(rs):.2f}" if rs else "-")
    return " / ".join(out)


def invocations(path):
    """Yields (labels, tables): labels from the "# round" line (pool,
    gomaxprocs), tables {workload: {(config, op): row}} where row has the
    invocation's ops/s, its runs' ops/s, p99, p99.9, errors, chain."""
    labels, tables, workload = None, None, None
    with open(path) as f:
        lines = f.read().split("\n")
    for line in lines:
        if line.startswith("# round"):
            if tables is not None:
                yield labels, tables
            labels = {"pool": int(re.search(r"-pool (\d+)", line).group(1))}
            g = re.search(r"GOMAXPROCS=(\d+)", line)
            labels["gomaxprocs"] = int(g.group(1)) if g else None
            tables, workload = {}, None
            continue
        if tables is None:
            continue
        m = re.match(r"^pool, (\S+): sqlite3-safe opened (\d+) connections?, goroutines waited for one (\d+) times, (\S+) in all", line)
        if m:
            tables.setdefault("_pool", {})[m.group(1)] = {
                "opened": int(m.group(2)), "waits": int(m.group(3)), "wait": seconds(m.group(4))}
            continue
        m = re.match(r"^(ledger2|mixed|mixed4x): ", line)
        if m:
            workload = m.group(1)
            tables[workload] = {}
            continue
        if not line.strip():
            workload = None
            continue
        if workload is None:
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) != 16 or cells[0] == "CONFIG":
            continue
        ops = float(cells[2])
        runs = [ops]
        if cells[3] != "-":
            lo, hi = cells[3].split("-")
            runs = [float(lo), float(hi)]  # -count 2: the two runs
        errors = 0
        if cells[10] != "0":
            errors = sum(int(n) for n in re.findall(r":(\d+)", cells[10].split(" (")[0]))
        tables[workload][(cells[0], cells[1])] = {
            "ops": ops, "runs": runs, "p50": seconds(cells[7]), "p99": seconds(cells[8]),
            "p999": seconds(cells[9]), "errors": errors, "chain": cells[11],
        }
    if tables is not None:
        yield labels, tables


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def rate(v):
    return "-" if v is None else f"{v:.0f}"


def ledger2(paths):
    by_pool = {}
    plain = []
    for i, labels, tables in invocations_of(paths):
        t = tables.get("ledger2", {})
        safe, tp = t.get(("sqlite3-safe", "append")), t.get(("two-pool", "append"))
        if safe and tp:
            by_pool.setdefault(labels["pool"], []).append((safe, tp, i))
        if ("sqlite3", "append") in t:
            plain.append(t[("sqlite3", "append")])
    out = []
    out.append("ledger2 (100 goroutines, 20,000 blocks in all): sqlite3-safe by -pool, beside two-pool in the same invocations")
    out.append("blocks/s: median over every run (-count 2 per invocation); x two-pool: median of the invocations' ratios")
    out.append("(sqlite3-safe's OPS/S over two-pool's in the same invocation), MIN-MAX of those ratios; p99.9: median of the")
    out.append("invocations' p99.9; errors: summed; chain: intact in every run. PER PASS: x TWO-POOL in each pass's")
    out.append(f"invocations alone ({', '.join(paths)}).")
    out.append("")
    hdr = ("POOL", "INVOCATIONS", "SAFE BLOCKS/S", "TWO-POOL BLOCKS/S", "x TWO-POOL", "MIN-MAX", "PER PASS", "SAFE P99", "SAFE P99.9", "TWO-POOL P99.9", "SAFE ERRORS", "TWO-POOL ERRORS", "CHAIN")
    rows = [hdr]
    for pool in sorted(by_pool):
        pairs = by_pool[pool]
        ratios = [s["ops"] / t["ops"] for s, t, _ in pairs]
        chain = "yes" if all(s["chain"] == "yes" and t["chain"] == "yes" for s, t, _ in pairs) else "no"
        rows.append((
            "0 (default)" if pool == 0 else str(pool), str(len(pairs)),
            rate(med([r for s, _, _ in pairs for r in s["runs"]])), rate(med([r for _, t, _ in pairs for r in t["runs"]])),
            f"{statistics.median(ratios):.2f}", f"{min(ratios):.2f}-{max(ratios):.2f}",
            per_pass([(i, s["ops"] / t["ops"]) for s, t, i in pairs], len(paths)),
            dur(med([s["p99"] for s, _, _ in pairs])), dur(med([s["p999"] for s, _, _ in pairs])), dur(med([t["p999"] for _, t, _ in pairs])),
            str(sum(s["errors"] for s, _, _ in pairs)), str(sum(t["errors"] for _, t, _ in pairs)), chain,
        ))
    out += table(rows)
    if plain:
        out.append("")
        out.append(f"plain sqlite3 (in the -pool 0 invocations, {len(plain)} of them; -pool does not apply to it): "
                   f"{rate(med([r for p in plain for r in p['runs']]))} blocks/s, p99.9 {dur(med([p['p999'] for p in plain]))}, "
                   f"{sum(p['errors'] for p in plain)} errors in {len(plain) * 2 * 20000} appends, chain intact in every run: "
                   f"{'yes' if all(p['chain'] == 'yes' for p in plain) else 'no'}")
    return out


def reads(paths):
    by = {}
    for i, labels, tables in invocations_of(paths):
        for w, t in tables.items():
            if w.startswith("_"):
                continue
            t = dict(t)
            t["pass"] = i
            by.setdefault((w, labels["gomaxprocs"], labels["pool"]), []).append(t)
    out = []
    out.append("read-heavy: mixed (1 writer, 4 readers) and mixed4x (4 writers, 16 readers), 3s each, sqlite3-safe by -pool beside")
    out.append("two-pool, at GOMAXPROCS=2 and 8 (2 CPUs). ops/s: median over the invocations (one run each); x TWO-POOL: median of")
    out.append("the invocations' ratios of sqlite3-safe's reads/s to two-pool's (PER PASS: in each pass alone, a / b), WRITES the")
    out.append(f"same for writes/s; p99: median of the invocations' read p99 ({', '.join(paths)}).")
    out.append("")
    hdr = ("WORKLOAD", "GOMAXPROCS", "POOL", "N", "SAFE READS/S", "SAFE WRITES/S", "TWO-POOL READS/S", "TWO-POOL WRITES/S", "READS x TWO-POOL", "PER PASS", "WRITES x TWO-POOL", "SAFE READ P99", "SAFE WRITE P99.9", "SAFE ERRORS")
    rows = [hdr]
    for (w, g, pool) in sorted(by, key=lambda k: (["mixed", "mixed4x"].index(k[0]), k[1], k[2])):
        ts = by[(w, g, pool)]

        def col(cfg, op, key="ops"):
            return med([t[(cfg, op)][key] for t in ts if (cfg, op) in t])

        ratios = [t[("sqlite3-safe", "read")]["ops"] / t[("two-pool", "read")]["ops"] for t in ts]
        wratios = [t[("sqlite3-safe", "write")]["ops"] / t[("two-pool", "write")]["ops"] for t in ts]
        passes = [(t["pass"], r) for t, r in zip(ts, ratios)]
        errs = sum(t[("sqlite3-safe", op)]["errors"] for t in ts for op in ("read", "write"))
        rows.append((w, str(g), "0 (default)" if pool == 0 else str(pool), str(len(ts)),
                     rate(col("sqlite3-safe", "read")), rate(col("sqlite3-safe", "write")),
                     rate(col("two-pool", "read")), rate(col("two-pool", "write")),
                     f"{statistics.median(ratios):.2f}", per_pass(passes, len(paths)), f"{statistics.median(wratios):.2f}",
                     dur(col("sqlite3-safe", "read", "p99")),
                     dur(col("sqlite3-safe", "write", "p999")), str(errs)))
    out += table(rows)
    return out


def sizes(paths):
    by = {}
    for _, labels, tables in invocations_of(paths):
        t = tables.get("mixed4x", {})
        if ("sqlite3-safe", "write") in t:
            by.setdefault(labels["pool"], []).append((t, tables.get("_pool", {}).get("mixed4x")))
    out = []
    out.append("mixed4x (4 writers, 16 readers: 20 goroutines), 3s, sqlite3-safe alone at GOMAXPROCS=2, by -pool: medians over the")
    out.append(f"invocations (one run each); CONN WAITS: waits for a connection and their total time, from the -pool line ({', '.join(paths)}).")
    out.append("")
    rows = [("POOL", "N", "WRITES/S", "MIN-MAX", "READS/S", "MIN-MAX", "WRITE P99.9", "READ P99.9", "CONN WAITS", "WAITED")]
    for pool in sorted(by):
        xs = by[pool]
        w = [t[("sqlite3-safe", "write")]["ops"] for t, _ in xs]
        r = [t[("sqlite3-safe", "read")]["ops"] for t, _ in xs]
        pl = [p for _, p in xs if p]
        rows.append(("0 (default)" if pool == 0 else str(pool), str(len(xs)), rate(med(w)), f"{min(w):.0f}-{max(w):.0f}",
                     rate(med(r)), f"{min(r):.0f}-{max(r):.0f}",
                     dur(med([t[("sqlite3-safe", "write")]["p999"] for t, _ in xs])),
                     dur(med([t[("sqlite3-safe", "read")]["p999"] for t, _ in xs])),
                     rate(med([p["waits"] for p in pl])) if pl else "-", dur(med([p["wait"] for p in pl])) if pl else "-"))
    out += table(rows)
    return out


def table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]


def main():
    out = ["# python3 docs/bench/pool-summary.py > docs/bench/pool-summary.txt", ""]
    out += ledger2(sorted(glob.glob("docs/bench/pool-ledger2*.txt"), key=lambda p: p[:-4]))
    out.append("")
    out += reads(sorted(glob.glob("docs/bench/pool-reads*.txt"), key=lambda p: p[:-4]))
    sz = sorted(glob.glob("docs/bench/pool-mixed4x-sizes*.txt"), key=lambda p: p[:-4])
    if sz:
        out.append("")
        out += sizes(sz)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
