"""Model kinds by name from a config section; mistakes are errors that name the key or kind."""

import ml_collections
import pytest

from polyglot_ner import config_files
from polyglot_ner.models import byte_crf
from polyglot_ner.models import registry

LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER", "B-ORG", "I-ORG"]


def test_builds_byte_crf_from_a_config_section():
  config = ml_collections.ConfigDict({"byte_hidden": 8, "word_hidden": 16, "tf_forget_bias": False})
  model = registry.get_model("byte_crf", config, labels=LABELS)
  assert isinstance(model, byte_crf.ByteCRF)
  assert model.labels == tuple(LABELS)  # a tuple, so the module stays hashable
  assert (model.num_tags, model.byte_hidden, model.word_hidden) == (7, 8, 16)
  assert not model.tf_forget_bias
  assert model.byte_layers == byte_crf.ByteCRF(tuple(LABELS)).byte_layers  # missing keys: defaults


def test_fields_are_the_module_attributes():
  assert "labels" not in registry.model_fields("byte_crf")
  assert {"byte_emb_dim", "byte_hidden", "word_hidden", "crf_start_end", "constrained_decoding",
          "constrained_training"} <= set(registry.model_fields("byte_crf"))


def test_unknown_kind_lists_known_kinds():
  with pytest.raises(ValueError, match="unknown model kind 'bts'.*byte_crf"):
    registry.get_model("bts", {}, labels=LABELS)


def test_unknown_key_is_named():
  with pytest.raises(ValueError, match="byte_hiden"):
    registry.get_model("byte_crf", {"byte_hiden": 8}, labels=LABELS)


@pytest.mark.parametrize("arg", ["", "cpu", "cpu,paper"])
def test_the_config_files_model_section_builds_the_model(arg):
  config = config_files.load_config(f"byte_crf.py:{arg}")
  model = registry.get_model(config.model_kind, config.model, labels=LABELS)
  assert model.constrained_decoding and not model.constrained_training
