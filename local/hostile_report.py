"""The table `python -m local.hostile` prints: one row a case, then the statuses and the
breaches counted."""

from __future__ import annotations

from collections import Counter

from local.hostile_cases import GATEWAY
from local.hostile_runner import Result


def report(results: list[Result], seconds: float) -> list[str]:
    statuses = Counter(r.status for r in results)
    breached = [r for r in results if r.breaches]
    lines = [f"{len(results)} hostile requests in {seconds:.1f} s", ""]
    header = f"{'case':<58} {'method':<8} {'want':>4} {'got':>4}  result"
    lines += [header, "-" * len(header)]
    for r in results:
        verdict = "ok" if not r.breaches else "BREACH: " + "; ".join(r.breaches)
        by = "gw" if r.case.by == GATEWAY else ""
        lines.append(
            f"{r.case.name[:58]:<58} {r.case.method[:8]:<8} {r.case.status:>4} {r.status:>4}"
            f"{by:>2} {verdict}"
        )
    lines += [
        "",
        "statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())),
        f"5xx: {sum(n for s, n in statuses.items() if s >= 500)}; writes: "
        f"{sum('the table changed' in r.breaches for r in results)}; breaches: {len(breached)}",
    ]
    return lines
