"""The table `python -m local.hostile` prints: one row a case (the status and code documented
and answered), then the statuses and the breaches counted."""

from __future__ import annotations

import json
from collections import Counter

from local.hostile_cases import GATEWAY
from local.hostile_runner import Result


def got(result: Result) -> str:
    """The answer's status and error code (or `gw` for API Gateway's own body)."""
    try:
        body = json.loads(result.body)
    except ValueError:
        return str(result.status)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{result.status} {error.get('code')}"
    if isinstance(body, dict) and set(body) == {"message"}:
        return f"{result.status} gw"
    return str(result.status)


def report(results: list[Result], seconds: float) -> list[str]:
    statuses = Counter(r.status for r in results)
    breached = [r for r in results if r.breaches]
    writes = sum(any("the table changed" in b for b in r.breaches) for r in results)
    lines = [f"{len(results)} hostile requests in {seconds:.1f} s", ""]
    header = f"{'case':<58} {'method':<7} {'want':<28} {'got':<28} result"
    lines += [header, "-" * len(header)]
    for r in results:
        verdict = "ok" if not r.breaches else "BREACH: " + "; ".join(r.breaches)
        by = " gw" if r.case.by == GATEWAY else ""
        want = f"{r.case.status} {r.case.code or ''}{by}"
        lines.append(
            f"{r.case.name[:58]:<58} {r.case.method[:7]:<7} {want:<28} {got(r)[:28]:<28} {verdict}"
        )
    lines += [
        "",
        "statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())),
        f"5xx: {sum(n for s, n in statuses.items() if s >= 500)}; writes: "
        f"{writes}; breaches: {len(breached)}",
    ]
    return lines
