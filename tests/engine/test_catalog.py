"""The catalog (names known without importing numpy) agrees with the parts themselves."""

import pytest

from specviz.engine import SimConfig, catalog
from specviz.engine.drafting.policies import policy_class
from specviz.engine.drafting.policies import policy_names as registered_policies
from specviz.engine.models.pair import build_model
from specviz.engine.verification.methods import method_class
from specviz.engine.verification.methods import method_names as registered_methods


def test_methods_and_their_lossless_flags():
    assert catalog.method_names() == registered_methods()
    for name in catalog.method_names():
        assert catalog.method_is_lossless(name) is method_class(name).lossless


def test_policies():
    assert catalog.policy_names() == registered_policies()
    assert all(policy_class(name).name == name for name in catalog.policy_names())


# The hf pair needs models to load: tests/engine/test_hf_pair.py builds it the same way.
@pytest.mark.parametrize("name", [name for name in catalog.model_names() if name != "hf"])
def test_each_model_builds_from_its_module_and_says_whether_it_sets_alpha(name):
    model = build_model(SimConfig(model=name))
    assert model.name == name
    assert model.uses_acceptance_rate is catalog.model_sets_alpha(name)
    # A trace records the corpus of exactly the pairs the catalog names.
    assert (model.corpus is not None) is catalog.model_reads_corpus(name)


def test_every_method_says_when_it_keeps_a_draft():
    # The round view explains a rejection with it.
    assert all(method_class(name).keeps_when for name in catalog.method_names())
