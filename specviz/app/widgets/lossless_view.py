"""Losslessness, live: the tokens the run emitted after one fixed context against the target there."""

from __future__ import annotations

from typing import Any

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from specviz.app.context_counts import ContextCounts, counts_for
from specviz.app.view_catalog import view_title
from specviz.app.widgets.chart import theme_rgb
from specviz.app.widgets.chart_view import ChartView
from specviz.engine.analysis.audit import (  # scipy itself loads only when a test runs
    MIN_EXPECTED,
    SIGNIFICANCE,
    enough_to_judge,
    expected_tv_distance,
    reference_in,
)


class LosslessView(ChartView):
    NAME = "lossless"
    TITLE = view_title("lossless")
    HELP = f"""\
**Losslessness** (`5`). An audit of the run itself: every token the run
emitted right after one fixed context, counted, against the target's
distribution p in that context (argmax p for greedy), with the total-variation
distance and a chi-square goodness-of-fit p-value (scipy; sparse bins
pooled, as `specviz audit` does). After few tokens even a lossless run's TV
is far from 0: beside it stands the TV that chance alone gives after as many
independent draws from p (exact, from each count's binomial mean absolute
deviation), and until the chi-square test can judge at all (two bins of
{MIN_EXPECTED:g} expected tokens, the rarer tokens pooled into one) the view says
there are too few tokens to judge. The context is the one the run emitted after
most often (it changes only when another is seen 10% more often); for a
lossless method the tokens after it are independent draws from p there, so
the bars agree more closely as the run goes on. `typical` is lossy: given
enough tokens its p-value falls below 0.001. The chi-square test (the one
`specviz audit` and `compare` run) works in a background thread. `specviz
audit` instead starts afresh from the prompt many times and tests the first
M tokens (default 2) jointly, which also sees a draft kept at position 2.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.counts: ContextCounts | None = None
        self.fit: tuple[float, float] | None = None  # (statistic, p-value) for `fit_key`
        self.fit_key: tuple | None = None
        self.enough = False  # enough tokens in the context for the test to judge (enough_to_judge)
        self.tv_distance: float | None = None
        # What a lossless run would show by chance after as many tokens: ((context, samples), TV).
        self.chance_tv: tuple[tuple, float] | None = None

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static(id="lossless-verdict", classes="view-caption")

    def new_run(self, simulation: Any) -> None:
        self.counts = counts_for(simulation)
        self.fit = self.fit_key = self.tv_distance = self.chance_tv = None
        self.enough = False

    def on_resize(self) -> None:
        if self.simulation is not None and self.displayed:
            self.catch_up()  # how many bars fit depends on the width

    def reference(self, simulation: Any) -> tuple[str, np.ndarray]:
        """What the method's tokens must follow in the fixed context: ("p" | "argmax p", probabilities)."""
        return reference_in(simulation.method, simulation.model.dists(self.counts.context))

    def draw(self, simulation: Any) -> None:
        counts = self.counts
        caption, chart = self.fresh_chart()
        plt = chart.plt
        counts.update(simulation.history)
        if counts.context is None or not counts.samples:
            self.update_caption(caption, "No token emitted yet: run some rounds (enter, e or a) to collect them.")
            self.update_caption(self.query_one("#lossless-verdict", Static), "")
            chart.refresh()
            return
        vocab = simulation.model.vocab
        label, expected = self.reference(simulation)
        samples = counts.samples
        observed = counts.counts / samples
        self.tv_distance = 0.5 * float(np.abs(observed - expected).sum())
        bars = max(3, min(12, (chart.size.width or self.size.width) // 9))
        order = np.argsort(-np.maximum(expected, observed), kind="stable")[:bars]
        names = [vocab[i][:7] for i in order]
        plt.multiple_bar(
            names,
            [observed[order].tolist(), expected[order].tolist()],
            labels=["emitted", label],
            color=[theme_rgb(self, "primary"), theme_rgb(self, "secondary")],
        )
        plt.ylabel("probability")
        context = " ".join(vocab[i] for i in counts.context)
        chance = self.chance_level(expected, samples)
        self.update_caption(
            caption,
            f"after “{context}”: {samples:,} of the run's {counts.scanned - counts.first:,} tokens "
            f"· TV distance {self.tv_distance:.3f} (by chance alone {chance:.3f} at {samples:,}) "
            f"· reference {label} · method {simulation.config.method}",
        )
        chart.refresh()
        key = (id(simulation), counts.context, samples)
        if key != self.fit_key:
            self.fit_key = key
            self.fit = None
            self.enough = enough_to_judge(expected, samples)
            if self.enough:
                self._test(key, counts.counts.copy(), expected.copy())
        self._show_verdict(simulation)

    def chance_level(self, expected: np.ndarray, samples: int) -> float:
        """The TV distance a lossless run shows by chance after `samples` tokens
        here (computed once per count: it is exact, not cheap)."""
        key = (self.counts.context if self.counts else None, samples)
        if self.chance_tv is None or self.chance_tv[0] != key:
            self.chance_tv = (key, expected_tv_distance(expected, samples))
        return self.chance_tv[1]

    @work(thread=True, exclusive=True, group="lossless")
    def _test(self, key: tuple, observed: np.ndarray, expected: np.ndarray) -> None:
        from specviz.engine.analysis.audit import (
            goodness_of_fit,  # scipy: imported off the UI thread
        )

        statistic, pvalue, _ = goodness_of_fit(observed, expected)
        self.app.call_from_thread(self._fitted, key, statistic, pvalue)

    def _fitted(self, key: tuple, statistic: float, pvalue: float) -> None:
        if key == self.fit_key:
            self.fit = (statistic, pvalue)
            self._show_verdict(self.simulation)

    def _show_verdict(self, simulation: Any) -> None:
        verdict = self.query_one("#lossless-verdict", Static)
        counts = self.counts
        claims = simulation.method.lossless
        claim = "claims lossless" if claims else "is LOSSY by design"
        if counts is None or not counts.samples or not self.enough:
            seen = 0 if counts is None else counts.samples
            # A lossless run's TV is far from 0 after few tokens: say how far chance alone puts it.
            chance = f": chance alone gives TV {self.chance_tv[1]:.3f} here" if seen and self.chance_tv else ""
            self.update_caption(
                verdict,
                Content.assemble(
                    (f"too few tokens to judge yet ({seen:,} here)", "bold"),
                    f"{chance} · {simulation.config.method} {claim} · the chi-square test runs once two "
                    f"bins expect {MIN_EXPECTED:g} tokens each",
                ),
            )
            return
        if self.fit is None:
            self.update_caption(verdict, f"{simulation.config.method} {claim} · chi-square test running…")
            return
        _, pvalue = self.fit
        consistent = pvalue >= SIGNIFICANCE
        text = f"chi-square p-value {pvalue:.3g}: " if pvalue >= 1e-300 else "chi-square p-value < 1e-300: "
        if consistent:
            style = "$text-success" if claims else "$text-warning"
            said = "consistent with the reference" + ("" if claims else " (the bias has not shown yet)")
        else:
            style = "$text-error"
            said = "differs from the reference" + (
                " (expected: lossy rule)" if not claims else " — a lossless claim refuted!"
            )
        self.update_caption(
            verdict,
            Content.assemble(
                text, (said, f"bold {style}"), f" · {simulation.config.method} {claim} · threshold {SIGNIFICANCE:g}"
            ),
        )
