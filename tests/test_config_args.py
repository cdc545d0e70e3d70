"""The config `arg` parser."""

import pytest

from polyglot_ner import config_args
from polyglot_ner.errors import UserError


def test_pairs_flags_lists_and_types():
  arg = config_args.parse_arg("langs=conll2002/es+conll2002/nl, cpu,seed=3,alpha=0.5",
                              langs=("demo/aa",), cpu=False, seed=0, alpha=1.0, mode="uniform")
  assert arg.langs == ("conll2002/es", "conll2002/nl")
  assert arg.cpu is True and arg.seed == 3 and arg.alpha == 0.5 and arg.mode == "uniform"


def test_defaults_when_empty():
  for empty in (None, "", " , "):
    assert config_args.parse_arg(empty, cpu=False, seed=0).to_dict() == {"cpu": False, "seed": 0}


def test_explicit_booleans():
  assert config_args.parse_arg("cpu=false", cpu=True).cpu is False
  with pytest.raises(ValueError, match=r"cpu='maybe'"):
    config_args.parse_arg("cpu=maybe", cpu=False)


def test_unknown_key_is_named():
  with pytest.raises(ValueError, match=r"unknown config arg 'lang' .*known keys: cpu, langs"):
    config_args.parse_arg("lang=x", langs=(), cpu=False)


def test_bare_non_boolean_and_bad_number():
  with pytest.raises(ValueError, match=r"config arg 'seed' needs a value"):
    config_args.parse_arg("seed", seed=0)
  with pytest.raises(ValueError, match=r"seed='x'"):
    config_args.parse_arg("seed=x", seed=0)


def test_result_is_locked():
  arg = config_args.parse_arg("", seed=0)
  with pytest.raises(AttributeError):
    arg.sed = 1


def test_mixture_weights():
  assert config_args.parse_langs(("a/b:2", "c/d", "e/f:0")) == {"a/b": 2.0, "c/d": 1.0, "e/f": 0.0}
  with pytest.raises(UserError, match="weight of 'a/b' is not a number: 'x'"):
    config_args.parse_langs(("a/b:x",))
