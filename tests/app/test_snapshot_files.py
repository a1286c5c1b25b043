"""Every recorded snapshot belongs to a test that still exists.

syrupy fails a serial run on a snapshot no test uses, but not a run split
across pytest-xdist workers (each sees only its share), which is how the
suite runs; this test keeps that check.
"""

from __future__ import annotations

import importlib
from pathlib import Path

SNAPSHOTS = Path(__file__).parent / "__snapshots__"


def test_every_snapshot_has_its_test():
    folders = sorted(p for p in SNAPSHOTS.iterdir() if p.is_dir())
    assert folders, f"no snapshots under {SNAPSHOTS}"
    stale = []
    for folder in folders:
        try:
            module = importlib.import_module(f"tests.app.{folder.name}")
        except ModuleNotFoundError:
            stale.extend(str(p.relative_to(SNAPSHOTS)) for p in folder.iterdir())
            continue
        for snapshot in folder.iterdir():
            # syrupy names a snapshot after its test, with [params] for a parametrized one.
            name = snapshot.stem.split("[", 1)[0]
            if not callable(getattr(module, name, None)):
                stale.append(str(snapshot.relative_to(SNAPSHOTS)))
    assert not stale, f"snapshots without a test (delete them): {stale}"
