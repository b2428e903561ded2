"""How strict the embedded DynamoDB is: settings from the environment, and the hooks to run.

Strict by default, as AWS is:

| variable | default | meaning |
|---|---|---|
| `LOCAL_STRICT` | 1 | 0: moto as it is, with ddb_transactions' fixes (for comparison) |
| `LOCAL_DDB_TX_MS` | 15 | how long an applied transaction holds its items before its reply |
| `LOCAL_DDB_TTL_SWEEP_S` | 60 | seconds between TTL sweeps; 0: never |
| `LOCAL_DDB_FAULTS` | none | faults on demand (see ddb_faults) |
| `LOCAL_DDB_SEED` | none | seed of the fault draws and of the TTL sweeper's order |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from local import ddb_limits
from local.ddb_capacity import Capacity
from local.ddb_conflicts import Conflicts
from local.ddb_faults import FaultSpec
from local.ddb_hooks import Hook, install


@dataclass(frozen=True)
class StrictSettings:
    strict: bool = True
    tx_ms: float = 15.0
    ttl_sweep_s: float = 60.0
    faults: FaultSpec = field(default_factory=FaultSpec)
    seed: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StrictSettings:
        """The settings in `env` (default os.environ); ValueError names a bad one."""
        env = os.environ if env is None else env
        strict = _flag(env, "LOCAL_STRICT", True)
        tx_ms = _number(env, "LOCAL_DDB_TX_MS", 15.0)
        ttl_sweep_s = _number(env, "LOCAL_DDB_TTL_SWEEP_S", 60.0)
        faults = FaultSpec.parse(env.get("LOCAL_DDB_FAULTS", ""))
        seed_text = env.get("LOCAL_DDB_SEED", "").strip()
        try:
            seed = int(seed_text) if seed_text else None
        except ValueError:
            raise ValueError(f"LOCAL_DDB_SEED={seed_text!r} is not an integer") from None
        if not strict:
            return cls(strict=False, tx_ms=0.0, ttl_sweep_s=0.0, seed=seed)
        return cls(strict, tx_ms, ttl_sweep_s, faults, seed)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r} is not 1 or 0")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None
    if number < 0:
        raise ValueError(f"{name}={value!r} must not be negative")
    return number


def strict_hooks(conflicts: Conflicts) -> list[Hook]:
    """The checks of the strict stack, in the order DynamoDB makes them: a request over a
    limit is refused before it can conflict; capacity is counted on the final page."""
    return [ddb_limits.hook, conflicts.hook, Capacity().hook]


def install_strict(settings: StrictSettings, *, in_process: bool) -> Conflicts | None:
    """Install the hooks `settings` asks for (none when not strict); the conflict tracker.

    In-process a request holds its items only while it runs (callers wait for each reply
    before the next request); the server holds them for `tx_ms` before replying."""
    from local.ddb_transactions import install_patches

    install_patches()
    if not settings.strict:
        install([])
        return None
    conflicts = Conflicts(settings.tx_ms / 1000, release_with_request=in_process)
    install(strict_hooks(conflicts))
    return conflicts
