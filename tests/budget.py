"""How long the fuzz-style tests run: a bounded budget in the suite, the long version on demand.

`SPECVIZ_LONG_TESTS=1` runs the long version of every fuzz-style test (the random-key
test, the hypothesis properties); docs/testing-long.md says what each one does then.
"""

from __future__ import annotations

import os

LONG = os.environ.get("SPECVIZ_LONG_TESTS", "").strip() not in ("", "0")


def budget(default: int, long: int, variable: str | None = None) -> int:
    """`default` in the suite, `long` with SPECVIZ_LONG_TESTS=1; `variable`, when set in
    the environment to a whole number, overrides both."""
    if variable and os.environ.get(variable, "").strip():
        value = os.environ[variable].strip()
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{variable}={value!r}: a whole number of at least 1 is allowed")
        return int(value)
    return long if LONG else default
