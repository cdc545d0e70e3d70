"""`polyglot-ner train`: train (or resume) one run from a config file.

  polyglot-ner train --config configs/byte_crf.py:langs=conll2002/es+conll2002/nl,cpu \\
      --workdir runs/x [--config.optimizer.learning_rate=3e-4 ...]

The config is locked, so an override of a key that does not exist is an error naming it. Rerunning
the same command resumes from the workdir's newest intact checkpoint. Also holds the flag parsing
shared by `evaluate`, `predict` and `experiment`: a bad flag prints the usage and then
`<prog>: error: <message>` (exit status 2); `polyglot_ner.__main__` prints other user errors.
"""

from __future__ import annotations

import ast
import json
import sys
from typing import Any, Callable, Mapping

from absl import flags
from ml_collections import config_flags

from polyglot_ner.eval import conlleval


class UsageError(Exception):
  """Bad command-line flags; `code` is the exit status (0 for --help)."""

  def __init__(self, message: str, code: int):
    super().__init__(message)
    self.code = code


def _unquote(error: Exception) -> str:
  """The message of a (possibly wrapped) KeyError, whose text ConfigDict quotes."""
  text = error.args[0] if error.args else str(error)
  while isinstance(text, Exception):
    text = text.args[0] if text.args else str(text)
  while isinstance(text, str) and len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
    text = ast.literal_eval(text)
  return str(text)


Define = Callable[[flags.FlagValues, list[str]], None]  # (flags to define into, full argv)


def parse_flags(prog: str, argv: list[str], define: Define, required: tuple[str, ...]
                ) -> flags.FlagValues:
  """Parses `argv` into fresh flags; raises UsageError (the usage, then `prog: error: ...`)."""
  flag_values = flags.FlagValues()
  define(flag_values, [prog, *argv])
  usage = f"usage: {prog} [flags]\n" + "\n".join(
      flag_values.module_help(module) for module in flag_values.flags_by_module_dict())
  if "-h" in argv or "--help" in argv:
    raise UsageError(usage, 0)
  try:
    flag_values([prog, *argv])
    missing = [name for name in required if flag_values[name].value is None]
    if missing:
      raise flags.Error(f"missing required flags: {', '.join('--' + m for m in missing)}")
  except (KeyError, AttributeError) as e:  # a locked config rejecting an unknown override key
    raise UsageError(f"{usage}\n{prog}: error: unknown config key {_unquote(e)}", 2) from None
  except (flags.Error, ValueError, TypeError) as e:
    raise UsageError(f"{usage}\n{prog}: error: {e}", 2) from None
  return flag_values


def run_command(prog: str, argv: list[str], define: Define, required: tuple[str, ...],
                command: Callable[[flags.FlagValues], int]) -> int:
  """Parses the flags and runs `command`; usage problems print to stderr (stdout for --help)."""
  try:
    flag_values = parse_flags(prog, argv, define, required)
  except UsageError as e:
    print(e, file=sys.stdout if e.code == 0 else sys.stderr)
    return e.code
  return command(flag_values)


def format_scores(scores: Mapping[str, Any]) -> str:
  """A table of per-language precision, recall and F1 (percent, conlleval's digits) with the macro
  average."""
  rows = [f"{'language':<20}{'P':>8}{'R':>8}{'F1':>8}"]
  for name, s in scores["per_language"].items():
    p = conlleval.percentages(s)
    rows.append(f"{name:<20}{p['precision']:8.2f}{p['recall']:8.2f}{p['f1']:8.2f}")
  rows.append(f"{'macro':<20}{100 * scores['macro_precision']:8.2f}"
              f"{100 * scores['macro_recall']:8.2f}{100 * scores['macro_f1']:8.2f}")
  return "\n".join(rows)


def config_and_workdir_flags(config_help: str, workdir_help: str) -> Define:
  """A `Define` for commands taking a locked `--config FILE[:ARG]` and a `--workdir DIR`."""

  def define(flag_values: flags.FlagValues, argv: list[str]) -> None:
    config_flags.DEFINE_config_file("config", None, config_help, flag_values=flag_values,
                                    lock_config=True, sys_argv=argv)
    flags.DEFINE_string("workdir", None, workdir_help, flag_values=flag_values)

  return define


def _train(flag_values: flags.FlagValues) -> int:
  from polyglot_ner.train import loop  # pylint: disable=import-outside-toplevel
  results = loop.train_and_evaluate(flag_values.config, flag_values.workdir)
  print(f"best dev checkpoint: step {results['best_step']} (epoch {results['best_epoch']:.2f}), "
        f"stopped by {results['stop_reason']}\n\ntest scores:")
  print(format_scores(results["test"]))
  print(json.dumps({"dev_macro_f1": results["dev"]["macro_f1"],
                    "test_macro_f1": results["test"]["macro_f1"]}))
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner train`."""
  define = config_and_workdir_flags(
      "config file and arg, e.g. configs/byte_crf.py:langs=conll2002/es,cpu",
      "run directory (checkpoints, metrics, results)")
  return run_command("polyglot-ner train", argv, define, ("config", "workdir"), _train)
