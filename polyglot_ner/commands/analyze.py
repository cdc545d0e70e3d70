"""`polyglot-ner analyze`: which parameters each language relies on, how many the languages share,
and which ones fine-tuning moves (the paper's analysis, `polyglot_ner.analysis`).

  polyglot-ner analyze --workdir runs/exp [--output DIR] [--split dev] [--methods fisher,taylor]
      [--fractions 0.01,0.05] [--pruning_fractions ...] [--max_sentences N] [--seed 0]

`--workdir` is an experiment's workdir (its polyglot run, the monolingual runs of every seed as
baselines and the fine-tuned children, whose shift and own importance are compared with the
parent's, found from their checkpoints below it) or one run's workdir or checkpoint (importance,
overlap and pruning on its own languages). Any model kind. Writes analysis.md (each finding in one
sentence next to its figure), analysis.json, one CSV per table and PNG figures to `--output`
(default <workdir>/analysis).
"""

from __future__ import annotations

from absl import flags

from polyglot_ner.analysis import examples as examples_lib
from polyglot_ner.analysis import importance as importance_lib
from polyglot_ner.analysis import masks as masks_lib
from polyglot_ner.analysis import shift as shift_lib
from polyglot_ner.commands import flags as flags_lib
from polyglot_ner.data import corpora


def _numbers(values: list[str] | None) -> bool:
  try:
    [float(value) for value in values or ()]
  except ValueError:
    return False
  return True


def _define(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  define = dict(flag_values=flag_values)
  flags.DEFINE_string("workdir", None, "an experiment's workdir, or one run's workdir or "
                      "checkpoint", **define)
  flags.DEFINE_string("output", None, "report directory (default: <workdir>/analysis)", **define)
  flags.DEFINE_enum("split", "dev", list(corpora.SPLITS), "the data the importance is "
                    "estimated and pruning is scored on", **define)
  flags.DEFINE_list("methods", [importance_lib.DEFAULT_METHOD],
                    f"importance methods among {','.join(importance_lib.METHODS)}; the first "
                    "ranks for pruning and the fine-tuning shift", **define)
  flags.DEFINE_list("fractions", [str(k) for k in masks_lib.DEFAULT_FRACTIONS],
                    "top-k fractions of the parameters (0.05: the top 5%)", **define)
  flags.DEFINE_list("pruning_fractions", None, "fractions pruned (default: --fractions)",
                    **define)
  flags.DEFINE_bool("pruning", True, "prune each language's top-k set and score every "
                    "language", **define)
  flags.DEFINE_enum("shift_measure", shift_lib.DEFAULT_MEASURE, list(shift_lib.MEASURES),
                    "how far fine-tuning moved a parameter: |change| / |parent value|, or "
                    "|change|", **define)
  flags.DEFINE_integer("max_sentences", None, "at most this many sentences per language (a "
                       "seeded sample), to bound the time", lower_bound=1, **define)
  flags.DEFINE_integer("num_samples", 1, "labels sampled per sentence for the true Fisher",
                       lower_bound=1, **define)
  flags.DEFINE_integer("seed", 0, "seed of the sentence sample, sampled labels and random "
                       "baselines", **define)
  flags.DEFINE_integer("run_seed", None, "which seed's runs of the experiment (default: its "
                       "first)", **define)
  flags.DEFINE_integer("chunk_size", examples_lib.DEFAULT_CHUNK_SIZE, "sentences whose "
                       "gradients are in memory at once (bounds memory)", lower_bound=1, **define)
  flags.DEFINE_string("data_root", None, "data root (default: each run's config.data.root)",
                      **define)
  for name in ("fractions", "pruning_fractions"):
    flags.register_validator(name, _numbers, "expected comma-separated numbers", **define)


def _analyze(flag_values: flags.FlagValues, args: list[str]) -> int:
  del args  # none
  from polyglot_ner.analysis import runs_analysis  # pylint: disable=import-outside-toplevel
  pruning_fractions = flag_values.pruning_fractions
  runs_analysis.analyze(
      flag_values.workdir, flag_values.output, split=flag_values.split,
      methods=flag_values.methods, fractions=[float(k) for k in flag_values.fractions],
      pruning_fractions=None if pruning_fractions is None else [float(k)
                                                                for k in pruning_fractions],
      pruning=flag_values.pruning, max_sentences=flag_values.max_sentences,
      num_samples=flag_values.num_samples, seed=flag_values.seed,
      run_seed=flag_values.run_seed, shift_measure=flag_values.shift_measure,
      chunk_size=flag_values.chunk_size,
      data_root=flag_values.data_root)
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner analyze`."""
  return flags_lib.run_command("polyglot-ner analyze", argv, _analyze, define=_define,
                               required=("workdir",), description=__doc__)
