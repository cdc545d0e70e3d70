"""configs/byte_crf.py: the paper's sizes, the cpu preset, mixtures, and locking."""

import pytest

from polyglot_ner import config as config_lib
from polyglot_ner import kinds
from polyglot_ner.data import labels


def _get_config(arg=""):
  return config_lib.load_config(f"byte_crf.py:{arg}")


def test_defaults_are_the_papers_settings_on_the_demo_corpus():
  config = _get_config()
  assert dict(config.data.langs) == {f"demo/{x}": 1.0 for x in ("aa", "bb", "cc", "dd")}
  assert config.batch_size == 128 and config.optimizer.learning_rate == 1e-4
  assert config.optimizer.schedule == "cosine" and config.data.max_word_bytes == 64
  assert (config.model.byte_emb_dim, config.model.byte_layers, config.model.byte_hidden) == (256, 2, 256)
  assert (config.model.word_layers, config.model.word_hidden) == (1, 512)
  assert config.model.byte_dropout == config.model.word_dropout == pytest.approx(0.2)
  assert config.model.tf_forget_bias and not config.model.crf_start_end
  kinds.build(config, labels.LabelMap(["LOC", "PER"]))  # every model key is a field


def test_paper_flag_restores_the_published_settings_at_any_size():
  for size in ("", "cpu,"):
    ours, paper = _get_config(size), _get_config(size + "paper")
    assert ours.model.byte_emb_std == 1.0 and paper.model.byte_emb_std == 0.001
    assert ours.model.byte_hidden == paper.model.byte_hidden


def test_cpu_preset_is_smaller():
  paper, cpu = _get_config(), _get_config("cpu")
  assert cpu.model.byte_hidden < paper.model.byte_hidden
  assert cpu.model.word_hidden < paper.model.word_hidden
  assert cpu.batch_size < paper.batch_size
  assert cpu.model.byte_layers == paper.model.byte_layers  # same architecture


def test_langs_weights_mode_root_and_dropped_types():
  config = _get_config("langs=conll2002/es:2+conll2002/nl+wikiann/sw:0,mode=alpha,alpha=0.3,"
                       "root=/data,drop=MISC,seed=7")
  assert dict(config.data.langs) == {"conll2002/es": 2.0, "conll2002/nl": 1.0, "wikiann/sw": 0.0}
  assert (config.data.mode, config.data.alpha, config.data.root) == ("alpha", 0.3, "/data")
  assert dict(config.data.type_map) == {"MISC": "O"} and config.seed == 7


def test_bad_weight_and_unknown_arg_are_named():
  with pytest.raises(ValueError, match="weight of 'conll2002/es' is not a number: 'x'"):
    _get_config("langs=conll2002/es:x")
  with pytest.raises(ValueError, match="unknown config arg 'lang'"):
    _get_config("lang=conll2002/es")


def test_config_is_locked():
  config = _get_config("cpu")
  with pytest.raises(AttributeError, match="batch_sise"):
    config.batch_sise = 3
  with pytest.raises(AttributeError):
    config.model.byte_hiden = 3
