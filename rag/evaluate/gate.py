"""The regression gate: stored floors (minimums) and ceilings (``<metric>_max``) for a run's metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path


def check_floors(metrics: Mapping[str, float | int], floors_file: Path) -> tuple[int, list[str]]:
    """(number of bounds, the ones missed as one-line messages) for ``metrics`` against ``floors_file``."""
    wanted: dict[str, float] = json.loads(floors_file.read_text())
    missed = []
    for key, bound in wanted.items():
        if key.endswith("_max"):
            name = key[: -len("_max")]
            if metrics.get(name, 0) > bound:
                missed.append(f"{name} {metrics.get(name, 0):.4f} > ceiling {bound}")
        elif metrics.get(key, 0) < bound:
            missed.append(f"{key} {metrics.get(key, 0):.4f} < floor {bound}")
    return len(wanted), missed
