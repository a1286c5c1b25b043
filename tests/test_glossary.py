"""Issue 13: what every rule and number means, in one module (specviz/render/glossary.py)
that the app's help renders and docs/speculative-decoding.md carries."""

from __future__ import annotations

from pathlib import Path

from specviz.engine import catalog
from specviz.engine.analysis import theory
from specviz.engine.drafting.policies import policy_class
from specviz.engine.run.config import SimConfig
from specviz.engine.verification.methods import method_class
from specviz.render import glossary

PAGE = Path(__file__).resolve().parents[1] / "docs" / "speculative-decoding.md"


def test_the_docs_page_carries_the_glossary_as_generated():
    page = PAGE.read_text(encoding="utf-8")
    assert glossary.with_reference(page) == page, (
        "docs/speculative-decoding.md is behind specviz/render/glossary.py: "
        "run python3 -m specviz.render.glossary docs/speculative-decoding.md"
    )
    assert "## Glossary" in page and "## When speculation pays" in page


def test_the_glossary_names_every_term_a_learner_meets():
    text = glossary.glossary_markdown()
    terms = ["α", "β", "k", "c", "v", "T", "u", "p_{k+1}", "num_drafts", "num_draft_tokens", "num_accepted_tokens"]
    terms += ["mean acceptance length", "draft acceptance rate", "per-position acceptance", "speedup"]
    terms += ["effective acceptance rate", "draft passes"]
    defined = {term.strip() for entry, _ in glossary.GLOSSARY for term in entry.replace("=", ",").split(",")}
    defined |= {entry.split(" (")[0] for entry, _ in glossary.GLOSSARY}
    assert set(terms) <= defined, set(terms) - defined
    assert "Not α" in text  # the draft acceptance rate is not alpha
    bridge = glossary.tutorial_markdown()
    for words in ("acceptance rate γ", "target calls", "effective acceptance rate", "accepted / (accepted + rejected)"):
        assert words in bridge


def _speedup(alpha: float, k: int, c: float) -> float:
    # REFERENCE §2, written out here rather than read from the engine.
    return (1 - alpha ** (k + 1)) / ((1 - alpha) * (k * c + 1))


def test_when_speculation_pays_quotes_the_engines_numbers(monkeypatch):
    c = SimConfig().draft_cost
    text = glossary.when_it_pays_markdown()
    assert f"{_speedup(0.9, 5, c):.2f}×" in text and f"{_speedup(0.5, 5, c):.2f}×" in text
    assert "E[tokens] = 3.36 for γ = 0.8, k = 5; the formula it quotes gives 3.689" in glossary.tutorial_markdown()
    # Batch 1 gains, a large batch loses: the cost model's verdicts, by batch size.
    assert "at b = 1 (k = " in text and "plain decoding is faster at every k" in text
    # The figures follow the engine, not a copy of its numbers: change the closed form and they change.
    monkeypatch.setattr(theory, "expected_speedup", lambda alpha, k, c, v=0.0: 9.87 if alpha == 0.9 else 1.23)
    changed = glossary.when_it_pays_markdown()
    assert "speedup of 9.87× and α = 0.5 only 1.23×" in changed


def test_the_methods_and_policies_read_with_the_engines_descriptions():
    methods, policies = glossary.methods_markdown(), glossary.policies_markdown()
    for name in catalog.method_names():
        assert f"**{name}**" in methods and method_class(name).description in methods
    for name in catalog.policy_names():
        assert f"**{name}**: {policy_class(name).description}" in policies
    assert "**typical** (⚠ lossy)" in methods
