"""Which round the round table, the distributions view and the token stream show.

They follow the run (its current round) until `<` steps back to a completed
round from the recent-rounds window (the last `recent_rounds.CAPACITY`); `>`
steps forward again, and past the newest they follow the run once more. The
distributions view shows one draft position of the shown round: the one
chosen (by ←/→ there, or a click on the round table's row), else the one worth
seeing first (the rejection, or where the bonus came from).

The App owns one RoundChoice per run; the views read it as `app.round_choice`
(`choice_of`).
"""

from __future__ import annotations

from typing import Any

from specviz.app.recent_rounds import CAPACITY, recent_rounds
from specviz.engine.run.rounds import Phase


class RoundChoice:
    def __init__(self) -> None:
        self.past: Any = None  # a completed Round from the window, or None: the live round
        self._position: tuple[Any, Phase | None, int] | None = None  # (round, phase, position) chosen

    @property
    def live(self) -> bool:
        return self.past is None

    def shown(self, simulation: Any) -> tuple[Any, Phase | None]:
        """The round shown and the phase it is shown after."""
        if self.past is not None:
            return self.past, Phase.ACCEPT
        return simulation.current, simulation.last_phase

    def go_live(self) -> None:
        self.past = None

    # ---- past rounds -----------------------------------------------------------

    def _window(self, simulation: Any) -> list[Any]:
        """The completed rounds one can step back to, oldest first (not the live one)."""
        current = simulation.current
        return [r for r in recent_rounds(simulation).past if r is not current]

    def _index(self, window: list[Any]) -> int | None:
        return next((i for i, r in enumerate(window) if r is self.past), None)

    def cannot_step(self, simulation: Any, delta: int) -> str:
        """Why stepping `delta` rounds would change nothing, in a few words ("" when it would)."""
        window = self._window(simulation)
        if self.past is None:
            if delta > 0:
                return "Already at the run's own round (< steps back)"
            return "" if window else "No completed round to step back to yet"
        if delta < 0 and self._index(window) == 0:
            return f"Round {self.past.index + 1:,} is the oldest kept (the last {CAPACITY:,} rounds are kept)"
        return ""

    def step(self, simulation: Any, delta: int) -> None:
        """Step `delta` rounds back (-1) or forward (+1); forward past the newest, back to the run."""
        window = self._window(simulation)
        index = len(window) if self.past is None else self._index(window)
        if index is None:  # gone from the window: back to the run
            self.past = None
            return
        index = max(0, index + delta)
        self.past = window[index] if index < len(window) else None

    # ---- the draft position --------------------------------------------------

    def position(self, round_: Any, phase: Phase | None) -> int:
        """The position the distributions view shows in `round_` after `phase`."""
        from specviz.engine.analysis.distributions import default_position

        chosen = self._position
        if chosen is not None and chosen[0] is round_ and chosen[1] is phase:
            return chosen[2]
        if phase is None:
            return 0
        return min(default_position(round_, phase), len(round_.drafted))

    def chosen(self, round_: Any, phase: Phase | None) -> int | None:
        """The position chosen by hand in `round_` after `phase`, if any."""
        chosen = self._position
        return chosen[2] if chosen is not None and chosen[0] is round_ and chosen[1] is phase else None

    def choose_position(self, round_: Any, phase: Phase | None, position: int) -> None:
        """Show `position` (clamped to 0 .. len(drafted), the one after the drafts last)."""
        self._position = (round_, phase, max(0, min(position, len(round_.drafted))))


def choice_of(widget: Any) -> RoundChoice:
    """The App's RoundChoice (a fresh one, following the run, outside the App)."""
    found = getattr(widget.app, "round_choice", None)
    return found if isinstance(found, RoundChoice) else RoundChoice()
