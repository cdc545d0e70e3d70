"""Config files (`configs/*.py`, each with `get_config(arg)`) loaded from Python: the same
`path[:arg]` that `polyglot-ner train --config` takes, as ml_collections' config_flags reads it.

  config = config_files.load_config("byte_crf.py:langs=conll2002/es+conll2002/nl,cpu")

A path is looked up as given (relative to the working directory) and then in the repository's
configs/ folder, so `configs/byte_crf.py` from the repository root and `byte_crf.py` from anywhere
load the same file.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib

import ml_collections

from polyglot_ner.errors import NotFound

CONFIGS_DIR = pathlib.Path(__file__).resolve().parents[1] / "configs"


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
