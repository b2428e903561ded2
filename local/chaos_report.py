"""`make chaos`'s report: latency and statuses per route, the 503s and retries, and each
invariant's verdict with a few examples of every breach."""

from __future__ import annotations

from collections import Counter

from local.chaos_journal import MAX_EXAMPLES, Invariant, Operation


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(operations: list[Operation], invariants: list[Invariant], seconds: float) -> list[str]:
    exchanges = [e for op in operations for e in op.exchanges]
    lines = [f"{len(exchanges)} requests in {seconds:.1f} s ({len(exchanges) / seconds:.1f}/s)"]
    header = f"{'route':<52} {'n':>5}  {'p50':>6} {'p95':>6} {'p99':>6} ms  statuses"
    lines += ["", header, "-" * len(header)]
    routes = sorted({e.route for e in exchanges}, key=lambda r: (r.split()[1], r.split()[0]))
    for route, group in [(r, [e for e in exchanges if e.route == r]) for r in routes] + [
        ("all", exchanges)
    ]:
        ms = [e.ms for e in group]
        statuses = Counter(e.status for e in group)
        lines.append(
            f"{route:<52} {len(group):>5}  {percentile(ms, 0.5):>6.0f} {percentile(ms, 0.95):>6.0f}"
            f" {percentile(ms, 0.99):>6.0f}     "
            + " ".join(f"{s}:{statuses[s]}" for s in sorted(statuses))
        )
    codes = Counter(
        e.reply["error"].get("code")
        for e in exchanges
        if isinstance(e.reply, dict) and isinstance(e.reply.get("error"), dict)
    )
    unavailable = [e for e in exchanges if e.status == 503]
    retries = sum(len(op.exchanges) - 1 for op in operations)
    lines += [
        "",
        f"503 unavailable: {len(unavailable)} "
        f"({sum('retry-after' in e.headers for e in unavailable)} with Retry-After); "
        f"retries made: {retries}; 412 version_conflict: {codes['version_conflict']}; "
        f"409 session_not_active: {codes['session_not_active']}; "
        f"409 patch_failed: {codes['patch_failed']}",
        "",
        f"{'invariant':<66} {'checked':>7}  result",
        "-" * 84,
    ]
    for inv in invariants:
        verdict = "held" if inv.held else f"BREACHED ({len(inv.breaches)})"
        lines.append(f"{inv.name:<66} {inv.checked:>7}  {verdict}")
    for inv in invariants:
        for breach in inv.breaches[:MAX_EXAMPLES]:
            lines.append(f"  {inv.name}: {breach}")
    return lines
