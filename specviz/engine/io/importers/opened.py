"""An import opened in the app: the series `derive.summarise` gave, the one shown, and a run set up from it.

`specviz import FILE --open` builds an `OpenedImport` and hands it to the
app, which draws the shown series beside the closed forms and, on one key,
restarts the run with `config_for_series`: k from the log's draft_length,
alpha from alpha_iid, the cost settings the advice was priced with. A value
the import does not know (null) keeps the run's own, and says so.

Pure Python, numpy-free: nothing here draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from specviz.engine.analysis.cost import CostModel
from specviz.engine.catalog import model_sets_alpha
from specviz.engine.io.importers.derive import advise
from specviz.engine.run.config import MAX_DRAFT_LENGTH, SimConfig, switch_model

# The pair whose alpha knob is the acceptance rate: a run set up from alpha_iid needs it.
ALPHA_PAIR = "synthetic"


class SeriesNotFound(ValueError):
    """A --series that names no series of the import. The message is one line."""


@dataclass
class OpenedImport:
    """What `specviz import ... --open` gives the app.

    summary: `derive.summarise`'s output (what `--json` prints), every series;
    cost: the SimConfig cost knobs its advice was priced with (SimConfig.section("cost"));
    shown: the index of the series the views draw.
    """

    summary: dict[str, Any]
    cost: dict[str, Any]
    shown: int = 0

    @property
    def series(self) -> list[dict[str, Any]]:
        series: list[dict[str, Any]] = self.summary["series"]
        return series

    @property
    def current(self) -> dict[str, Any]:
        return self.series[self.shown]

    def name(self, index: int | None = None) -> str:
        """A series as the legend and captions name it: engine, then its label
        (model, engine index, category) or, for a log of one series, the file's name."""
        series = self.series[self.shown if index is None else index]
        source = str(series.get("source", ""))
        return f"{series['engine']} · {series['label'] or PurePath(source).name or series['format']}"

    def warnings(self) -> list[str]:
        """The import's warnings that bear on the shown series: its own, and those of no series."""
        return [*self.current.get("warnings", []), *self.summary.get("warnings", [])]

    def show(self, index: int) -> None:
        if not 0 <= index < len(self.series):
            raise IndexError(index)
        self.shown = index

    def advice_under(self, cost_model: CostModel) -> dict[str, Any] | None:
        """The shown series' advice priced by `cost_model` (the run's): the
        importer's own advice when the run keeps the import's cost settings, so
        the measured curve and the closed form are always priced alike."""
        return advise(self.current, cost_model, self.summary.get("extrapolation", "last"))


def find_series(summary: dict[str, Any], wanted: str) -> int:
    """The index of the series `wanted` names: its label exactly, or its number from 1.
    Raises SeriesNotFound, naming the series there are."""
    series = summary["series"]
    labels = [item["label"] for item in series]
    if wanted.strip().isdigit() and 1 <= int(wanted) <= len(series):
        return int(wanted) - 1
    matches = [index for index, label in enumerate(labels) if label == wanted]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(f"{index + 1} {label or '(no label)'!r}" for index, label in enumerate(labels))
    if matches:
        raise SeriesNotFound(f"several series are labelled {wanted!r}: give its number (series: {listed})")
    raise SeriesNotFound(
        f"no series labelled {wanted!r} (allowed: a label or a number from 1 to {len(series)}: {listed})"
    )


def config_for_series(config: SimConfig, opened: OpenedImport) -> tuple[SimConfig, list[str]]:
    """`config` set up from the shown series: its draft_length as k, alpha_iid
    as the acceptance rate, the import's cost settings; and one line per
    value, saying where it came from or, when the import does not know it,
    that the run keeps its own. Raises ConfigError for a value SimConfig refuses."""
    series = opened.current
    changes: dict[str, Any] = dict(opened.cost)
    said = []
    k, alpha = series.get("draft_length"), series.get("alpha_iid")
    if k is None:
        said.append(
            f"k unknown (the import gives no draft_length: -k on the command line sets it), kept {config.draft_length}"
        )
    elif not 1 <= k <= MAX_DRAFT_LENGTH:
        said.append(f"k = {k} from the log is past {MAX_DRAFT_LENGTH}, kept {config.draft_length}")
    else:
        changes["draft_length"] = k
        said.append(f"k = {k} (the log's draft_length)")
    if alpha is None:
        said.append(
            f"α unknown (alpha_iid is null: it needs the mean acceptance length and k), kept {config.acceptance_rate:g}"
        )
    else:
        # Rounded as the panel's field shows it, so typing it back gives the same run.
        changes["acceptance_rate"] = round(alpha, 4)
        said.append(f"α = {round(alpha, 4):g} (alpha_iid, the i.i.d. fit)")
        if not model_sets_alpha(config.model):
            config, _ = switch_model(config, ALPHA_PAIR)
            said.append(f"the {ALPHA_PAIR} pair, whose α is the acceptance rate")
    changed = config.replace(**changes)
    if changed.cost_model is None:
        said.append(
            f"c = {changed.draft_cost:g}" + (f", v = {changed.verify_overhead:g}" if changed.verify_overhead else "")
        )
    else:
        said.append(f"cost {changed.cost_model} at b = {changed.batch_size:,}")
    return changed, said
