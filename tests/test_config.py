"""Config files: loading `configs/*.py` from Python (what `polyglot-ner train --config`, i.e.
ml_collections' config_flags, loads, wherever the file is named from) and the `arg` parser."""

import json
import pathlib
import re

from absl import flags
from ml_collections import config_flags
import pytest

from polyglot_ner import config as config_lib
from polyglot_ner.errors import NotFound, UserError

REPO = pathlib.Path(__file__).resolve().parents[1]
ARG = "langs=conll2002/es:2+conll2002/nl,cpu,seed=3"


def config_flag(spec):
  """The config that `--config=<spec>` gives a command."""
  flag_values = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, flag_values=flag_values, lock_config=True)
  flag_values(["prog", f"--config={spec}"])
  return flag_values.config


def test_the_configs_folder_the_working_directory_and_config_flags_agree(monkeypatch, tmp_path):
  monkeypatch.chdir(REPO)
  flag = config_flag(f"configs/byte_crf.py:{ARG}")
  for spec in (f"configs/byte_crf.py:{ARG}", f"{REPO}/configs/byte_crf.py:{ARG}"):
    assert config_lib.load_config(spec).to_dict() == flag.to_dict()
  monkeypatch.chdir(tmp_path)  # not the repository: configs/ is where byte_crf.py is found
  config = config_lib.load_config(f"byte_crf.py:{ARG}")
  assert config.to_dict() == flag.to_dict() and config.is_locked
  assert dict(config.data.langs) == {"conll2002/es": 2.0, "conll2002/nl": 1.0}


def test_a_file_in_the_working_directory_and_the_arg(monkeypatch, tmp_path):
  (tmp_path / "byte_crf.py").write_text(
      "import ml_collections\n\n"
      "def get_config(arg='none'):\n"
      "  return ml_collections.ConfigDict({'arg': arg})\n")
  monkeypatch.chdir(tmp_path)
  assert config_lib.load_config("byte_crf.py").arg == "none"  # no ':': get_config()
  assert config_lib.load_config("byte_crf.py:a=b:c").arg == "a=b:c"  # after the first ':'
  config = config_lib.load_config(tmp_path / "byte_crf.py")
  with pytest.raises(AttributeError):
    config.other = 1  # locked, as the commands lock it


def test_a_missing_file_is_named(tmp_path):
  with pytest.raises(NotFound, match=r"no config file nope\.py \(nor in .*configs\)"):
    config_lib.load_config("nope.py:cpu")
  with pytest.raises(NotFound, match=f"no config file {tmp_path}/nope.py$"):
    config_lib.load_config(f"{tmp_path}/nope.py")


def test_pairs_flags_lists_and_types():
  arg = config_lib.parse_arg("langs=conll2002/es+conll2002/nl, cpu,seed=3,alpha=0.5",
                              langs=("demo/aa",), cpu=False, seed=0, alpha=1.0, mode="uniform")
  assert arg.langs == ("conll2002/es", "conll2002/nl")
  assert arg.cpu is True and arg.seed == 3 and arg.alpha == 0.5 and arg.mode == "uniform"


def test_defaults_when_empty():
  for empty in (None, "", " , "):
    assert config_lib.parse_arg(empty, cpu=False, seed=0).to_dict() == {"cpu": False, "seed": 0}


def test_explicit_booleans():
  assert config_lib.parse_arg("cpu=false", cpu=True).cpu is False
  with pytest.raises(ValueError, match=r"cpu='maybe'"):
    config_lib.parse_arg("cpu=maybe", cpu=False)


def test_unknown_key_is_named():
  with pytest.raises(ValueError, match=r"unknown config arg 'lang' .*known keys: cpu, langs"):
    config_lib.parse_arg("lang=x", langs=(), cpu=False)


def test_bare_non_boolean_and_bad_number():
  with pytest.raises(ValueError, match=r"config arg 'seed' needs a value"):
    config_lib.parse_arg("seed", seed=0)
  with pytest.raises(ValueError, match=r"seed='x'"):
    config_lib.parse_arg("seed=x", seed=0)


def test_result_is_locked():
  arg = config_lib.parse_arg("", seed=0)
  with pytest.raises(AttributeError):
    arg.sed = 1


def test_mixture_weights():
  assert config_lib.parse_langs(("a/b:2", "c/d", "e/f:0")) == {"a/b": 2.0, "c/d": 1.0, "e/f": 0.0}
  with pytest.raises(UserError, match="weight of 'a/b' is not a number: 'x'"):
    config_lib.parse_langs(("a/b:x",))


@pytest.mark.parametrize("spec", ["byte_crf.py", "byte_crf.py:cpu", "byte_crf.py:paper",
                                  "charner.py", "charner.py:cpu", "bts.py", "bts.py:cpu"])
def test_every_shipped_model_config_passes_the_training_checks(spec):
  config_lib.check_training(config_lib.load_config(spec))


@pytest.mark.parametrize("key, value, message", [
    ("min_epochs", -1, "config.min_epochs must be an integer >= 0, got -1"),
    ("patience", -2, "config.patience must be an integer >= 0, got -2"),
    ("data.eval_stride", 0, "config.data.eval_stride must be an integer >= 1, got 0"),
    ("data.span_buckets", (), "config.data.span_buckets must be a non-empty list of positive"),
    ("num_epochs", 0, "config.num_epochs must be >= 1 (or config.max_steps > 0), got 0"),
])
def test_training_checks_name_the_field(key, value, message):
  config = config_lib.load_config("bts.py:cpu")
  with config.unlocked():
    config.update_from_flattened_dict({key: value})
  with pytest.raises(UserError, match=re.escape(message)):
    config_lib.check_training(config)


def test_a_recorded_config_reads_keys_added_after_it_as_they_were():
  """A BTS run recorded before `data.span_conflicts` existed was scored by the original's rule:
  it resumes only under that rule, and loads with it; other kinds and present keys are kept."""
  from polyglot_ner.train import loop  # the loop's resume check reads recorded configs so

  bts = config_lib.load_config("bts.py:langs=conll2002/es,cpu")
  old = json.loads(bts.to_json())  # as checkpoints and results.json record it
  del old["data"]["span_conflicts"]
  assert config_lib.recorded(old)["data"]["span_conflicts"] == "window_start"
  assert "span_conflicts" not in old["data"]  # the recorded config itself is not touched
  assert loop.config_differences(old, bts) == (
      "data.span_conflicts: 'window_start' -> 'confidence'",)
  with bts.unlocked():
    bts.data.span_conflicts = "window_start"
  assert loop.config_differences(old, bts) == ()
  assert config_lib.recorded(json.loads(bts.to_json())) == json.loads(bts.to_json())
  crf = json.loads(config_lib.load_config("byte_crf.py:langs=conll2002/es,cpu").to_json())
  assert config_lib.recorded(crf) == crf
