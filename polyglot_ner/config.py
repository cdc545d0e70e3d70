"""Config files: loading `configs/*.py` from Python, and the one parser of their `arg` string.

`load_config("byte_crf.py:langs=conll2002/es+conll2002/nl,cpu")` gives what
`polyglot-ner train --config` (ml_collections' config_flags) gives. A path is looked up as given
(relative to the working directory) and then in the repository's configs/ folder, so
`configs/byte_crf.py` from the repository root and `byte_crf.py` from anywhere load the same file.

The `arg` (`configs/x.py:langs=a/b+c/d,cpu`), big_vision style: comma-separated `key=value` pairs
and bare flags (`cpu` means `cpu=True`); a value is typed by the key's default; `+` separates the
items of a list; model configs take a language mixture as `langs=a/b:2+c/d`. A key that the config
does not declare is an error that names it, so a typo never passes silently.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import ml_collections

from polyglot_ner.errors import NotFound, UserError

CONFIGS_DIR = pathlib.Path(__file__).resolve().parents[1] / "configs"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _convert(key: str, text: str, default: Any) -> Any:
  """Parses `text` into the type of `default`."""
  try:
    if isinstance(default, bool):
      if text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
      raise ValueError(f"expected one of {_TRUE + _FALSE}")
    if isinstance(default, (tuple, list)):
      return tuple(item for item in text.split("+") if item)
    if default is None:
      return text
    return type(default)(text)
  except ValueError as e:
    raise UserError(f"config arg {key}={text!r}: {e}") from None


def parse_arg(arg: str | None, **spec: Any) -> ml_collections.ConfigDict:
  """Parses `arg` against `spec` (key -> default value) into a locked ConfigDict.

  `parse_arg("langs=conll2002/es+conll2002/nl,cpu", langs=("demo/aa",), cpu=False, seed=0)` gives
  `langs=("conll2002/es", "conll2002/nl"), cpu=True, seed=0`.
  """
  values = dict(spec)
  for part in (arg or "").split(","):
    part = part.strip()
    if not part:
      continue
    key, has_value, text = part.partition("=")
    key = key.strip()
    if key not in spec:
      known = ", ".join(sorted(spec))
      raise UserError(f"unknown config arg {key!r} in {arg!r}; known keys: {known}")
    if not has_value:
      if not isinstance(spec[key], bool):
        raise UserError(f"config arg {key!r} needs a value ({key}=...)")
      values[key] = True
    else:
      values[key] = _convert(key, text.strip(), spec[key])
  result = ml_collections.ConfigDict(values)
  result.lock()
  return result


def parse_langs(items: tuple[str, ...]) -> dict[str, float]:
  """A mixture from `langs` items: `("a/b:2", "c/d")` -> `{"a/b": 2.0, "c/d": 1.0}` (weight 0
  drops a language); a bad weight is an error naming it."""
  langs = {}
  for item in items:
    name, has_weight, weight = item.partition(":")
    try:
      langs[name] = float(weight) if has_weight else 1.0
    except ValueError:
      raise UserError(f"config arg langs: weight of {name!r} is not a number: {weight!r}"
                      ) from None
  return langs


DEMO_LANGS = ("demo/aa", "demo/bb", "demo/cc", "demo/dd")


def parse_model_arg(arg: str | None) -> ml_collections.ConfigDict:
  """The `arg` every model config takes: langs (default: the four demo languages), cpu, paper,
  mode, alpha, root, drop and seed."""
  return parse_arg(arg, langs=DEMO_LANGS, cpu=False, paper=False, mode="proportional", alpha=1.0,
                   root="", drop=(), seed=0)


def add_training(config: ml_collections.ConfigDict, *, batch_size: int, num_epochs: int,
                 patience: int) -> None:
  """Adds the training fields every model config has: batch sizes, budget, early stopping,
  checkpoints, logging and fine-tuning (`polyglot_ner.train.finetune`)."""
  config.batch_size = batch_size  # global, split over all devices
  config.eval_batch_size = 128
  config.num_epochs = num_epochs
  config.max_steps = 0  # stop after this many steps whatever num_epochs says; 0: num_epochs decides
  config.min_epochs = 0  # early stopping (patience) only after this many epochs
  config.eval_every_steps = 0  # 0: evaluate on dev after every epoch
  config.patience = patience  # evaluations without a better dev macro F1 before stopping; 0: never
  config.checkpoint_every_steps = 500  # latest checkpoint (for resuming) between evaluations
  config.log_every_steps = 50
  # Fine-tuning. init_from: a parent workdir (its best checkpoint) or a checkpoint path
  # (W/checkpoints/best/<step>); "" trains from scratch. dont_load / freeze: regexes searched in
  # "/"-joined parameter paths. On the command line, a Python tuple or one flag per regex:
  #   --config.init_from=runs/poly --config.dont_load="('^crf/', '^output/')"
  #   --config.freeze=^byte_embedding/ --config.freeze=^byte_encoder/
  config.init_from = ""
  config.dont_load = ()  # keep these parameters' fresh initialisation instead of the parent's
  config.freeze = ()  # give these parameters zero updates


# The least value of each integer field of a model config that has it (`key` or `data.key`); a
# field named `*_buckets` holds positive sizes. 0 means "off" where 0 is allowed.
_MINIMUMS = {
    "batch_size": 1, "eval_batch_size": 1, "max_steps": 0, "min_epochs": 0, "eval_every_steps": 0,
    "patience": 0, "checkpoint_every_steps": 1, "log_every_steps": 1, "data.max_word_bytes": 1,
    "data.sort_window": 1, "data.max_train_sentences": 0, "data.eval_stride": 1,
}


def check_training(config: ml_collections.ConfigDict) -> None:
  """A UserError naming the first field of a model config whose value cannot train (a batch of
  0, checkpoints every 0 steps, no length buckets, ...), so that it fails before any compiling."""
  if config.dont_load and not config.init_from:
    raise UserError("config.dont_load applies only when fine-tuning (config.init_from is empty)")
  flat = config.to_dict()
  fields = {**flat, **{f"data.{key}": value for key, value in flat.get("data", {}).items()}}
  for key, least in _MINIMUMS.items():
    if key in fields and not (isinstance(fields[key], int) and fields[key] >= least):
      raise UserError(f"config.{key} must be an integer >= {least}, got {fields[key]!r}")
  if not config.max_steps and config.num_epochs < 1:
    raise UserError(f"config.num_epochs must be >= 1 (or config.max_steps > 0), got "
                    f"{config.num_epochs}")
  for key, value in fields.items():
    if key.endswith("_buckets") and not (
        isinstance(value, (tuple, list)) and value
        and all(isinstance(size, int) and size >= 1 for size in value)):
      raise UserError(f"config.{key} must be a non-empty list of positive sizes, got {value!r}")


# Keys a model kind's config gained after runs were recorded without them, with the value such a
# run was trained and scored under: a recorded config lacking one reads as holding that value.
ADDED_KEYS = {("bts", "data.span_conflicts"): "window_start"}


def recorded(config: Mapping[str, Any]) -> dict[str, Any]:
  """A run's recorded config (plain dicts, as in its checkpoints and results.json) with the
  `ADDED_KEYS` it predates filled in."""
  completed = copy.deepcopy(dict(config))
  for (model_kind, key), value in ADDED_KEYS.items():
    if completed.get("model_kind") != model_kind:
      continue
    *parents, name = key.split(".")
    node = completed
    for parent in parents:
      node = node.setdefault(parent, {})
    node.setdefault(name, value)
  return completed


def mixture_data(arg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The `config.data` fields every model's config takes from its arg alike: the data root, the
  language mixture (`langs`, `mode`, `alpha`) and the entity types dropped to O (`drop`)."""
  return ml_collections.ConfigDict(dict(
      root=arg.root,  # "" = $POLYGLOT_NER_DATA (unused by demo/*)
      langs=parse_langs(arg.langs),  # {corpus/lang: weight}; weight 0 drops a language
      mode=arg.mode, alpha=arg.alpha, type_map={type_: "O" for type_ in arg.drop}))


def config_path(path: str | os.PathLike) -> pathlib.Path:
  """The config file `path` names: as given if it is a file, else under CONFIGS_DIR."""
  for candidate in (pathlib.Path(path), CONFIGS_DIR / path):
    if candidate.is_file():
      return candidate
  where = "" if pathlib.Path(path).is_absolute() else f" (nor in {CONFIGS_DIR})"
  raise NotFound(f"no config file {os.fspath(path)}{where}")


def load_config(spec: str | os.PathLike) -> ml_collections.ConfigDict:
  """`get_config(arg)` of the config file in `spec` = `path[:arg]`, locked as the commands lock it.

  As in config_flags, everything after the first ':' is the arg; without one, `get_config()`.
  """
  path, *arg = os.fspath(spec).split(":", 1)
  path = config_path(path)
  module_spec = importlib.util.spec_from_file_location(f"polyglot_ner_config_{path.stem}", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  config = module.get_config(*arg)
  config.lock()
  return config
