"""What a run has produced so far, apart from the machinery that advances it.

`RunState` holds a run's config, statistics, tokens and the round in
progress, and answers the questions the report and the views ask (done?
next phase? theory's alpha? cost?). `Simulation` extends it with the model
pair, method, policy and random stream that move it forward.

`RunState.before_start(config)` is a run that has not started and whose
models are not loaded yet: no numpy, no prompt tokens. The app paints its
first frame from it and builds the Simulation straight after.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

from specviz.engine.analysis.cost import CostBreakdown, cost_model_for
from specviz.engine.catalog import model_sets_alpha
from specviz.engine.run.config import SimConfig
from specviz.engine.run.rounds import Phase, Round, TokenKind
from specviz.engine.run.stats import RunStats

if TYPE_CHECKING:
    from specviz.engine.models.pair import ModelPair


class RunState:
    """A run's config, stats, history (prompt then emitted ids), kinds and current round."""

    model: ModelPair | None = None

    def __init__(self, config: SimConfig, prompt_ids: Sequence[int], uses_acceptance_rate: bool):
        self.config = config
        self.cost_model = cost_model_for(config)
        self.stats = RunStats()
        # history = prompt ids then emitted ids; compact, 4 bytes a token.
        self.history = array("i", prompt_ids)
        self.prompt_length = len(prompt_ids)
        self.kinds = bytearray()  # TokenKind per emitted token
        self.current: Round | None = None  # the round in progress or just finished
        self.last_phase: Phase | None = None  # the phase that ran last
        #: True when the alpha knob sets the model pair's acceptance rate
        self.uses_acceptance_rate = uses_acceptance_rate

    @classmethod
    def before_start(cls, config: SimConfig) -> RunState:
        """The run for `config` before its models are loaded (no prompt tokens yet)."""
        return cls(config, (), model_sets_alpha(config.model))

    # ---- queries -------------------------------------------------------

    @property
    def emitted(self) -> int:
        return len(self.history) - self.prompt_length

    @property
    def done(self) -> bool:
        return self.emitted >= self.config.target_length and self.last_phase in (None, Phase.ACCEPT)

    @property
    def next_phase(self) -> Phase | None:
        if self.done:
            return None
        return Phase.DRAFT if self.last_phase in (None, Phase.ACCEPT) else self.last_phase.next()

    @property
    def tokens(self) -> array[int]:
        """Emitted token ids (a view-free copy would cost O(n); slice as needed)."""
        return self.history[self.prompt_length :]

    def token_kind(self, position: int) -> TokenKind:
        return TokenKind(self.kinds[position])

    @property
    def alpha_is_set(self) -> bool:
        """True when the alpha knob is exactly the acceptance rate (the
        synthetic pair under speculative sampling); otherwise acceptance
        emerges from the models and the method, and is measured."""
        return self.uses_acceptance_rate and self.config.method == "speculative"

    def theory_alpha(self) -> float | None:
        """The alpha the closed forms should use: the knob where it is set,
        else the method's measured keep chance (RunStats.method_keep_rate;
        None until a draft has been tested)."""
        return self.config.acceptance_rate if self.alpha_is_set else self.stats.method_keep_rate

    def cost_counts(self) -> tuple[int, int, int, int, int]:
        """What the run is priced by: (rounds, draft passes, drafted, emitted, rounds that drafted)."""
        s = self.stats
        drafting_rounds = s.rounds - (s.drafted_histogram[0] if s.drafted_histogram else 0)
        return s.rounds, s.draft_passes, s.drafted, s.emitted, drafting_rounds

    def cost(self) -> CostBreakdown:
        return self.cost_model.breakdown(*self.cost_counts())
