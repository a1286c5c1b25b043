"""The round state machine: DRAFT -> VERIFY -> ACCEPT, one phase per step.

`Simulation.step()` runs one phase and returns a `PhaseEvent`; `finish_round()`
and `run()` run the very same phase methods back to back, so stepping in the
TUI, `specviz run` and the tests all produce the same tokens from a seed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from specviz.engine.analysis import theory
from specviz.engine.catalog import PROMPT_LOOKUP
from specviz.engine.drafting.policies import build_policy
from specviz.engine.models.pair import DraftDists, ModelPair, build_model, sample_index
from specviz.engine.run.config import SimConfig, is_tree, starting_draft_length
from specviz.engine.run.random import UniformSource, UniformStream
from specviz.engine.run.rounds import DeferredFloats, Phase, Round, TokenKind
from specviz.engine.run.run_state import RunState
from specviz.engine.run.stats import RunStats
from specviz.engine.run.tree_round import TreeStepper
from specviz.engine.verification.methods import build_method

RoundListener = Callable[[Round], None]
# Enum member lookups cost ~0.1 us each; the phases set these once a round.
DRAFT, VERIFY, ACCEPT = Phase.DRAFT, Phase.VERIFY, Phase.ACCEPT
CORRECTION, BONUS = int(TokenKind.CORRECTION), int(TokenKind.BONUS)


@dataclass(frozen=True, slots=True)
class PhaseEvent:
    """A phase that just ran, and the round it belongs to (filled up to that phase)."""

    phase: Phase
    round: Round


class Simulation(RunState):
    """A speculative decoding run over a model pair, from a config and its seed."""

    model: ModelPair  # always loaded here, unlike RunState.before_start's

    def __init__(self, config: SimConfig, model: ModelPair | None = None):
        self.model = model if model is not None else build_model(config)
        super().__init__(config, self.model.encode_prompt(config.prompt), self.model.uses_acceptance_rate)
        self.method = build_method(config)
        self.policy = build_policy(config)
        # Under speculative sampling a round's keep chances are its overlaps.
        self.stats.keeps_with_overlap = self.method.acceptance_is_beta
        self.draws: UniformSource = UniformStream(config.seed)
        self.next_draft_length = self.policy.initial_length
        self._listeners: list[RoundListener] = []
        # A token tree replaces the three phases, the method and the stats (run/tree_round.py).
        self.tree: TreeStepper | None = TreeStepper.attach(self) if is_tree(config) else None

    def text(self) -> str:
        return self.model.decode(self.history[self.prompt_length :])

    def prompt_text(self) -> str:
        return self.model.decode(self.history[: self.prompt_length])

    def add_listener(self, listener: RoundListener) -> None:
        """Call `listener(round)` after every completed round."""
        self._listeners.append(listener)

    def restart_from_prompt(self) -> None:
        """Forget the emitted tokens (not the stats or the random stream), so the
        next round starts again from the prompt: how the audit samples the
        first token many times from one fixed context."""
        del self.history[self.prompt_length :]
        del self.kinds[:]
        self.current = None
        self.last_phase = None
        self.next_draft_length = self.policy.initial_length

    # ---- stepping -------------------------------------------------------

    def step(self) -> PhaseEvent | None:
        """Run the next phase; None once the target length is reached."""
        phase = self.next_phase
        if phase is None:
            return None
        if phase is Phase.DRAFT:
            self._draft()
        elif phase is Phase.VERIFY:
            self._verify()
        else:
            self._accept()
        assert self.current is not None  # the phase just run opened or filled it
        return PhaseEvent(phase, self.current)

    def finish_round(self) -> Round | None:
        """Run the phases left in the current round (a whole round if none is open)."""
        if self.done:
            return None
        if self.last_phase in (None, Phase.ACCEPT):
            self._draft()
        if self.last_phase is Phase.DRAFT:
            self._verify()
        self._accept()
        return self.current

    def run(self, max_rounds: int | None = None, should_stop: Callable[[], bool] | None = None) -> RunStats:
        """Run to the target length (or `max_rounds` more rounds); returns the stats.

        `should_stop` is polled every 1,024 rounds so a caller (a UI worker,
        Ctrl-C handling) can stop a long run between rounds.
        """
        if self.last_phase not in (None, Phase.ACCEPT):
            self.finish_round()
        draft, verify, accept = self._draft, self._verify, self._accept
        target = self.config.target_length + self.prompt_length
        history = self.history
        limit = max_rounds if max_rounds is not None else -1
        rounds = 0
        while len(history) < target and rounds != limit:
            draft()
            verify()
            accept()
            rounds += 1
            if should_stop is not None and not rounds & 1023 and should_stop():
                break
        return self.stats

    # ---- the three phases ---------------------------------------------

    # Each round sets aside 2k + 1 uniforms when it starts: u_draft[i] for the
    # i-th draft, u_accept[i] for its acceptance test, and one for the
    # correction or bonus token. A fixed budget per round keeps the random
    # stream aligned however a round ends, and lets a method use its uniform
    # however it likes (sample-match samples y ~ p with it).

    def _draft(self) -> None:
        history = self.history
        emitted = len(history) - self.prompt_length
        # Cut the last round so it cannot overshoot n: a round emits at most
        # k + 1 tokens, so draft at most remaining - 1.
        k = self.next_draft_length
        remaining = self.config.target_length - emitted
        if k >= remaining:
            k = remaining - 1
        draws = self.draws.take(2 * k + 1)
        drafted: list[int] = []
        draft_probs: list[float] = []
        proposals: list[DraftDists] = []
        if k:
            model, policy = self.model, self.policy
            propose_next = model.propose_next
            stops_early = policy.stops_early
            vocab_size = len(model.vocab)
            # The hot loop of the engine: sample_index is inlined (a call costs
            # as much as the work here). One draft pass a drafted token.
            # (list.append spelled out: CPython specialises it; a bound
            # method kept in a local is slower.) The loop ends at k drafts at
            # the latest, before the acceptance uniforms: no slice needed.
            dists = model.propose_first(history)
            left = k  # drafts this round may still make
            for u in draws:
                if dists is None:  # the drafter has nothing more to propose
                    break
                q_cdf = dists.q_cdf
                token = bisect_right(q_cdf, u * q_cdf[-1])
                if token == vocab_size:
                    token = sample_index(q_cdf, u)
                drafted.append(token)
                draft_probs.append(dists.q_view[token])
                proposals.append(dists)
                # The policy judges the token just drafted; a stop keeps it.
                left -= 1
                if not left or (stops_early and not policy.keep_drafting(dists, token)):
                    break
                dists = propose_next(token)
        self.current = Round.opened(self.stats.rounds, emitted, k, draws, drafted, draft_probs, proposals)
        self.last_phase = DRAFT

    def _verify(self) -> None:
        round_ = self.current
        assert round_ is not None  # VERIFY follows the DRAFT that opened it
        drafted = round_.drafted
        # The target's one pass: p at each drafted position and the one after.
        dists = round_.dists = self.model.score(self.history, drafted, round_.proposals)
        method = self.method
        acceptance_probability = None if method.acceptance_is_beta else method.acceptance_probability
        if self.model.defers_target:
            # The same entries, each computed when first read (rounds.DeferredFloats).
            count = len(drafted)
            round_.target_probs = DeferredFloats(lambda i: dists[i].p_view[drafted[i]], count)
            overlaps: list[float] | DeferredFloats = DeferredFloats(lambda i: dists[i].beta, count)
            if acceptance_probability is not None:
                round_.betas = DeferredFloats(lambda i: acceptance_probability(dists[i]), count)
        else:
            # p(x) at each drafted position, and beta = sum_x min(p, q) there: the
            # method's chance of keeping a draft under speculative sampling (one
            # list for both), another list for the other methods. (One loop: a
            # comprehension costs a call in CPython 3.11, more than five appends.)
            target_probs: list[float] = []
            overlaps = []
            for d, token in zip(dists, drafted):
                target_probs.append(d.p_view[token])
                overlaps.append(d.beta)
            round_.target_probs = target_probs
            if acceptance_probability is not None:
                round_.betas = [acceptance_probability(d) for d in dists[: len(drafted)]]
        round_.overlaps = overlaps
        if acceptance_probability is None:
            round_.betas = overlaps
        self.last_phase = VERIFY

    def _accept(self) -> None:
        round_ = self.current
        assert round_ is not None  # ACCEPT follows the VERIFY of the open round
        method, draws = self.method, round_.draws
        k = round_.draft_length
        drafted = round_.drafted
        accepted = round_.accepted = method.kept_prefix(round_, draws[k : 2 * k])
        if accepted < len(drafted):
            round_.rejected = True
            final = round_.correction = method.correction(round_.dists[accepted], draws[2 * k])
            final_kind = CORRECTION
        else:
            final = round_.bonus = method.bonus(round_.dists[accepted], draws[2 * k])
            final_kind = BONUS
        # Append what round_.emitted / emitted_kinds describe, without building them.
        history, kinds = self.history, self.kinds
        if accepted:
            history.extend(drafted[:accepted])
            kinds.extend(b"\x00" * accepted)  # TokenKind.ACCEPTED
        history.append(final)
        kinds.append(final_kind)
        round_.completed = True
        self.stats.record(round_)
        policy = self.policy
        if not policy.fixed_length:
            self.next_draft_length = policy.next_length(self.next_draft_length, accepted, len(drafted))
        self.last_phase = ACCEPT
        for listener in self._listeners:
            listener(round_)

    # ---- reports --------------------------------------------------------

    def summary(self, include_text: bool = True) -> dict[str, Any]:
        """The run as one JSON-ready dict (the `specviz run --json` object)."""
        config = self.config
        k = starting_draft_length(config)  # the batch table's k, else -k
        data: dict[str, Any] = {"config": config.to_dict()}
        data.update(self.stats.to_dict())
        # One entry per position 1..k at least (a dynamic policy may draft past
        # the starting k; those positions stay). Where no round drafted:
        # vLLM's rate is 0 (kept there / num_drafts) once anything was drafted;
        # the rates conditional on drafting or testing the position have none.
        drafts = self.stats.num_drafts
        for key, missing in (
            ("per_position_acceptance", 0.0 if drafts else None),
            ("per_position_acceptance_of_drafted", None),
            ("conditional_acceptance", None),
        ):
            data[key] = data[key] + [missing] * (k - len(data[key]))
        cost = self.cost()
        data["cost_ms"] = cost.to_dict()
        data["speedup"] = cost.speedup
        # The closed forms at the alpha theory uses; all None while that alpha is
        # measured and nothing has been tested.
        data["theory_alpha"] = alpha = self.theory_alpha()
        tokens = theory.expected_tokens_per_round(alpha, k) if alpha is not None else None
        data["expected_tokens_per_round"] = tokens
        # The cost model's speedup of rounds of k drafts (the constant-ratio model's is theory.expected_speedup's).
        data["expected_speedup"] = self.cost_model.expected_speedup(tokens, k) if tokens is not None else None
        data["cost_model"] = self.cost_model.describe()
        data["expected_draft_acceptance_rate"] = (
            theory.draft_acceptance_rate(alpha, k) if alpha is not None and k else None
        )
        # A round is one target pass; each drafted token one draft pass (the
        # hf pair counts its real passes, and they agree: tests/engine/test_hf_pair.py).
        data["target_forward_passes"] = self.stats.rounds
        data["draft_forward_passes"] = 0 if config.draft == PROMPT_LOOKUP else self.stats.draft_passes
        if config.timing == "measured":
            data["measured"] = self.model.measured_timing(self.history, self.stats.emitted)
        if self.tree is not None:
            self.tree.summary(data, self.cost_model)
        if include_text:
            data["prompt"] = self.prompt_text()
            data["text"] = self.text()
            if self.model.subword_tokens:
                data["token_ids"] = list(self.tokens)
        return data
