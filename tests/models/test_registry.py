"""Model kinds by name from a config section; mistakes are errors that name the key or kind."""

import ml_collections
import pytest

from polyglot_ner.models import byte_crf
from polyglot_ner.models import registry


def test_builds_byte_crf_from_a_config_section():
  config = ml_collections.ConfigDict({"byte_hidden": 8, "word_hidden": 16, "tf_forget_bias": False})
  model = registry.get_model("byte_crf", config, num_tags=7)
  assert isinstance(model, byte_crf.ByteCRF)
  assert (model.num_tags, model.byte_hidden, model.word_hidden) == (7, 8, 16)
  assert not model.tf_forget_bias
  assert model.byte_layers == byte_crf.ByteCRF(7).byte_layers  # missing keys keep defaults


def test_fields_are_the_module_attributes():
  assert "num_tags" not in registry.model_fields("byte_crf")
  assert {"byte_emb_dim", "byte_hidden", "word_hidden", "crf_start_end"} <= set(
      registry.model_fields("byte_crf"))


def test_unknown_kind_lists_known_kinds():
  with pytest.raises(ValueError, match="unknown model kind 'bts'.*byte_crf"):
    registry.get_model("bts", {}, num_tags=3)


def test_unknown_key_is_named():
  with pytest.raises(ValueError, match="byte_hiden"):
    registry.get_model("byte_crf", {"byte_hiden": 8}, num_tags=3)
