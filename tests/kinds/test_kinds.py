"""Model kinds by name, built from a run's config and label map; mistakes name the key or kind."""

import ml_collections
import pytest

from polyglot_ner import config as config_lib
from polyglot_ner import errors
from polyglot_ner import kinds
from polyglot_ner.data import labels
from polyglot_ner.kinds import byte_crf as byte_crf_kind
from polyglot_ner.kinds.byte_crf import model as byte_crf

LABEL_MAP = labels.LabelMap(["LOC", "ORG", "PER"])


def _config(model_kind="byte_crf", **model):
  return ml_collections.ConfigDict({"model_kind": model_kind, "model": model})


def test_builds_the_byte_crf_from_the_config_and_label_map():
  kind = kinds.build(_config(byte_hidden=8, word_hidden=16, tf_forget_bias=False), LABEL_MAP)
  assert isinstance(kind, byte_crf_kind.Kind) and isinstance(kind.module, byte_crf.ByteCRF)
  assert kind.module.labels == LABEL_MAP.tags  # a tuple, so the module stays hashable
  assert (kind.module.num_tags, kind.module.byte_hidden, kind.module.word_hidden) == (7, 8, 16)
  assert not kind.module.tf_forget_bias
  assert kind.module.byte_layers == byte_crf.ByteCRF(LABEL_MAP.tags).byte_layers  # defaults


def test_config_fields_are_the_module_fields_but_the_labels():
  fields = kinds.kind_class("byte_crf").config_fields()
  assert "labels" not in fields
  assert {"byte_emb_dim", "byte_hidden", "word_hidden", "crf_start_end", "constrained_decoding",
          "constrained_training"} <= set(fields)


def test_an_unknown_kind_lists_the_known_ones():
  with pytest.raises(errors.UserError, match="unknown model kind 'crf2'.*byte_crf"):
    kinds.kind_class("crf2")
  with pytest.raises(errors.UserError, match="cannot import 'no_such.module'"):
    kinds.kind_class("no_such.module")
  with pytest.raises(errors.UserError, match="polyglot_ner.data.tags defines no `Kind`"):
    kinds.kind_class("polyglot_ner.data.tags")


def test_an_unknown_model_key_is_named():
  with pytest.raises(errors.UserError, match="byte_hiden"):
    kinds.build(_config(byte_hiden=8), LABEL_MAP)


@pytest.mark.parametrize("arg", ["", "cpu", "cpu,paper"])
def test_the_config_files_model_section_builds_the_kind(arg):
  kind = kinds.build(config_lib.load_config(f"byte_crf.py:{arg}"), LABEL_MAP)
  assert kind.module.constrained_decoding and not kind.module.constrained_training
