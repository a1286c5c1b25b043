import dataclasses
import math

import pytest

from specviz.engine.run.config import (
    MAX_DRAFT_LENGTH,
    ConfigError,
    SimConfig,
    config_from_text,
    parse_field,
)


def test_defaults_are_the_seed_scripts():
    config = SimConfig()
    assert (config.draft_length, config.acceptance_rate, config.target_length, config.draft_cost, config.seed) == (
        5,
        0.75,
        50,
        0.1,
        42,
    )


@pytest.mark.parametrize(
    "changes, parameter",
    [
        ({"draft_length": 0}, "draft_length"),
        ({"draft_length": MAX_DRAFT_LENGTH + 1}, "draft_length"),
        ({"draft_length": 2.5}, "draft_length"),
        ({"draft_length": True}, "draft_length"),
        ({"acceptance_rate": -0.01}, "acceptance_rate"),
        ({"acceptance_rate": 1.5}, "acceptance_rate"),
        ({"acceptance_rate": math.nan}, "acceptance_rate"),
        ({"target_length": 0}, "target_length"),
        ({"draft_cost": -1.0}, "draft_cost"),
        ({"draft_cost": math.inf}, "draft_cost"),
        ({"seed": -1}, "seed"),
        ({"seed": "42"}, "seed"),
        ({"model": "gpt-9"}, "model"),
        ({"method": "magic"}, "method"),
        ({"target_pass_ms": 0.0}, "target_pass_ms"),
        ({"temperature": 0.0}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
    ],
)
def test_each_rule_rejects_with_a_message_naming_parameter_value_and_range(changes, parameter):
    with pytest.raises(ConfigError) as caught:
        SimConfig(**changes)
    error = caught.value
    assert error.parameter == parameter
    message = str(error)
    assert "\n" not in message
    assert repr(changes[parameter]) in message
    assert "allowed:" in message


def test_boundaries_are_allowed():
    SimConfig(draft_length=1, acceptance_rate=0.0, target_length=1, draft_cost=0.0, seed=0)
    SimConfig(draft_length=MAX_DRAFT_LENGTH, acceptance_rate=1.0)


def test_text_fields_parse_like_a_person_types_them():
    assert parse_field("target_length", "1_000_000") == 1_000_000
    assert parse_field("target_length", "1e6") == 1_000_000
    assert parse_field("acceptance_rate", " 0.8 ") == 0.8
    with pytest.raises(ConfigError, match="a whole number"):
        parse_field("draft_length", "2.5")
    with pytest.raises(ConfigError, match="a number"):
        parse_field("acceptance_rate", "high")
    with pytest.raises(ConfigError, match="finite"):
        parse_field("draft_cost", "inf")


def test_config_from_text_validates_after_parsing():
    config = config_from_text(SimConfig(), {"draft_length": "7", "acceptance_rate": "0.9"})
    assert (config.draft_length, config.acceptance_rate) == (7, 0.9)
    with pytest.raises(ConfigError, match="draft length"):
        config_from_text(SimConfig(), {"draft_length": "0"})


def test_round_trips_through_a_dict():
    config = SimConfig(draft_length=3, seed=7)
    assert SimConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError):
        SimConfig.from_dict({**config.to_dict(), "colour": "red"})


def test_every_knob_belongs_to_one_part_and_every_part_has_knobs():
    from specviz.engine.run.config import PARTS, field_part, fields_of

    config = SimConfig()
    names = [f.name for f in dataclasses.fields(SimConfig)]
    assert all(field_part(name) in PARTS for name in names)
    assert all(fields_of(part) for part in PARTS)
    # The sections partition the config: together they are its whole dict, each knob once.
    merged: dict = {}
    for part in PARTS:
        section = config.section(part)
        assert not set(section) & set(merged)
        merged.update(section)
    assert merged == config.to_dict()


# One value each part's rules must refuse, for a knob of that part.
BAD_VALUE_BY_PART = {
    "run": ("target_length", 0),
    "model pair": ("acceptance_rate", 1.5),
    "sampling": ("top_p", 0.0),
    "verification": ("typical_delta", -1.0),
    "drafting": ("confidence_threshold", 2.0),
    "cost": ("target_pass_ms", 0.0),
}


def test_each_part_has_its_rules():
    from specviz.engine.run.config import PARTS, field_part

    assert set(BAD_VALUE_BY_PART) == set(PARTS)
    for part, (name, value) in BAD_VALUE_BY_PART.items():
        assert field_part(name) == part
        with pytest.raises(ConfigError) as raised:
            SimConfig(**{name: value})
        assert raised.value.parameter == name


def test_an_unknown_part_is_refused():
    with pytest.raises(ConfigError, match="one of run, model pair"):
        SimConfig().section("tree")


# ---- values that pass a loose rule and then break (issue 20, items 11-15) ----


@pytest.mark.parametrize(
    "changes",
    [
        {"draft_cost": 1e305},
        {"draft_cost": 1e6 * 1.0001},
        {"target_pass_ms": 1e307},
        {"target_pass_ms": 1e9 * 1.0001},
        {"verify_overhead": 1e305},
        {"verify_overhead": 1e6 * 1.0001},
    ],
)
def test_costs_are_bounded_to_what_the_cost_model_computes(changes):
    with pytest.raises(ConfigError) as caught:
        SimConfig(**changes)
    assert caught.value.parameter in changes
    assert "<= 1,000,000" in caught.value.allowed


def test_at_the_cost_bounds_every_figure_of_the_cost_model_and_theory_is_finite():
    from specviz.engine.analysis import theory
    from specviz.engine.run.config import MAX_DRAFT_COST, MAX_TARGET_LENGTH, MAX_TARGET_PASS_MS, MAX_VERIFY_OVERHEAD

    config = SimConfig(
        draft_cost=MAX_DRAFT_COST,
        target_pass_ms=MAX_TARGET_PASS_MS,
        verify_overhead=MAX_VERIFY_OVERHEAD,
        draft_length=MAX_DRAFT_LENGTH,
    )
    # The dearest run the caps allow: every token its own round of k drafts.
    rounds = MAX_TARGET_LENGTH
    drafted = rounds * MAX_DRAFT_LENGTH
    from specviz.engine.analysis.cost import cost_model_for

    breakdown = cost_model_for(config).breakdown(rounds, drafted, drafted, MAX_TARGET_LENGTH)
    figures = list(breakdown.to_dict().values())
    assert all(math.isfinite(value) for value in figures), figures
    assert breakdown.speedup > 0
    for alpha in (0.0, 0.5, 1.0):
        speedup = theory.expected_speedup(alpha, MAX_DRAFT_LENGTH, config.draft_cost, config.verify_overhead)
        assert math.isfinite(speedup) and speedup > 0
        assert math.isfinite(theory.ops_factor(alpha, MAX_DRAFT_LENGTH, MAX_DRAFT_COST))


def test_temperature_is_bounded_below():
    from specviz.engine.run.config import MIN_TEMPERATURE

    for too_low in (5e-324, 1e-300, MIN_TEMPERATURE * 0.99):
        with pytest.raises(ConfigError, match="from 0.01 to 100"):
            SimConfig(model="ngram", temperature=too_low)
    assert SimConfig(model="ngram", temperature=MIN_TEMPERATURE).temperature == MIN_TEMPERATURE


@pytest.mark.parametrize(
    "name, text",
    [
        ("draft_length", "1,6"),  # not 16
        ("seed", "1__0"),  # not 10
        ("seed", "1_0"),  # Python's rule; not a group of three
        ("target_length", "1,000_000"),  # mixed separators
        ("target_length", "٣"),  # Arabic-Indic three
        ("draft_length", "５"),  # full-width five
        ("draft_length", "0x10"),
        ("draft_length", ""),
        ("target_length", "1e100"),  # no count has 101 digits
        ("acceptance_rate", "٠.٥"),
        ("acceptance_rate", "0,5"),
        ("draft_cost", "1_0"),
        ("draft_cost", "１"),
    ],
)
def test_numbers_are_plain_ascii_and_never_cleaned_up(name, text):
    with pytest.raises(ConfigError) as caught:
        parse_field(name, text)
    assert "ASCII digits" in caught.value.allowed
    assert repr(text) in str(caught.value)


def test_numbers_accepted_as_a_person_writes_them():
    assert parse_field("target_length", "1,000,000") == 1_000_000  # as the app prints n
    assert parse_field("target_length", "1_000_000") == 1_000_000
    assert parse_field("target_length", "1e6") == 1_000_000
    assert parse_field("target_length", "+20") == 20
    assert parse_field("seed", "100000000000000001") == 100000000000000001  # exact, not via float
    assert parse_field("draft_cost", "1,000.5") == 1000.5
    assert parse_field("acceptance_rate", ".5") == 0.5


def test_minus_zero_is_read_as_zero():
    for text in ("-0", "-0.0", "-0e5", "-.0"):
        value = parse_field("acceptance_rate", text)
        assert value == 0.0 and math.copysign(1.0, value) == 1.0, text
        assert str(SimConfig(acceptance_rate=value).acceptance_rate) == "0.0"
    assert parse_field("seed", "-0") == 0


def test_count_flags_use_the_same_number_rule():
    import argparse

    from specviz.cli.options import count_at_least

    parse = count_at_least(0)
    assert parse("1,000") == 1000 and parse("1e3") == 1000
    for text in ("1,6", "٣", "５", "1__0"):
        with pytest.raises(argparse.ArgumentTypeError, match="ASCII digits"):
            parse(text)


@pytest.mark.parametrize(
    "changes, knob, reader",
    [
        ({"corpus": "/nonexistent"}, "corpus", "ngram"),
        ({"temperature": 0.5}, "temperature", "ngram and hf"),
        ({"top_k": 5}, "top_k", "ngram and hf"),
        ({"top_p": 0.9}, "top_p", "ngram and hf"),
        ({"device": "cpu"}, "device", "hf"),
        ({"timing": "measured"}, "timing", "hf"),
        ({"model": "ngram", "acceptance_rate": 0.9}, "acceptance_rate", "synthetic"),
    ],
)
def test_a_knob_the_model_pair_does_not_read_is_refused(changes, knob, reader):
    from specviz.engine.run.config import flags_of

    with pytest.raises(ConfigError) as caught:
        SimConfig(**changes)
    assert caught.value.parameter == knob
    assert f"{flags_of(knob)} is read only by the {reader} pair" in str(caught.value)


def test_every_knob_is_read_by_the_pair_the_config_names():
    # The knobs each pair reads, set away from their defaults, are accepted.
    SimConfig(model="ngram", temperature=0.5, top_k=5, top_p=0.9, corpus="some.txt")
    SimConfig(model="synthetic", acceptance_rate=0.9)


def test_switching_the_model_puts_back_what_the_new_pair_does_not_read():
    from specviz.engine.run.config import switch_model

    ngram = SimConfig(model="ngram", temperature=0.5, top_k=40, seed=7)
    synthetic, dropped = switch_model(ngram, "synthetic")
    assert dropped == {"temperature": 0.5, "top_k": 40}
    assert (synthetic.model, synthetic.temperature, synthetic.top_k, synthetic.seed) == ("synthetic", 1.0, 0, 7)
    back, dropped = switch_model(synthetic.replace(acceptance_rate=0.9), "ngram")
    assert dropped == {"acceptance_rate": 0.9} and back.acceptance_rate == 0.75
    assert switch_model(SimConfig(), "ngram")[1] == {}
    with pytest.raises(ConfigError, match="model pair"):
        switch_model(SimConfig(), "gpt-9")


def test_a_blank_corpus_is_refused_not_read_as_the_default():
    for text in ("", "   "):
        with pytest.raises(ConfigError, match="non-blank"):
            config_from_text(SimConfig(model="ngram"), {"corpus": text})


def test_a_huge_value_is_echoed_short():
    with pytest.raises(ConfigError) as caught:
        parse_field("draft_length", "1" * 100_000)
    message = str(caught.value)
    assert len(message) < 250 and "(100,000 characters)" in message and "\n" not in message
    with pytest.raises(ConfigError) as caught:
        SimConfig(draft_length=10**5000)  # an int too long to print in full
    assert len(str(caught.value)) < 250
