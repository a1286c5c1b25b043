"""Settings every test shares.

Hypothesis draws its examples from a fixed seed in the suite, so a run on CI
is the run a developer repeats (a property that fails fails every time, and
its example is fixed into a plain test); the long run (SPECVIZ_LONG_TESTS=1)
draws fresh examples each time, to keep finding new ones.
"""

from __future__ import annotations

from hypothesis import settings

from tests.budget import LONG

settings.register_profile("suite", derandomize=True)
settings.register_profile("long", derandomize=False)
settings.load_profile("long" if LONG else "suite")


# The browser tests mostly wait on a server and Chromium. Collected last (tests/web
# sorts last), they ran as one worker's tail after the rest had finished; first,
# they overlap the CPU-bound tests. The order is the same in every xdist worker.
WAITING_FIRST = ("tests/web/",)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.nodeid.startswith(WAITING_FIRST))
