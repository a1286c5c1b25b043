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
