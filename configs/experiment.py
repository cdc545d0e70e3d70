"""The paper's experiment: monolingual, polyglot and polyglot+fine-tuned models, one table.

The quickstart (the synthetic demo corpus, no data needed; 53 s on 2 CPU cores), CoNLL and WikiANN:

  polyglot-ner experiment --config configs/experiment.py --workdir runs/exp_demo
  polyglot-ner experiment --workdir runs/exp_conll_conv --config \\
      configs/experiment.py:langs=conll2003/en+conll2002/es+conll2002/nl,cpu,root=../shared/data
  polyglot-ner experiment --workdir runs/exp_wikiann_conv --config \\
      configs/experiment.py:cpu,langs=wikiann/sw+wikiann/uz+wikiann/kk+wikiann/yo,root=../shared/data

Config arg keys (comma-separated; see `polyglot_ner.config`):
  langs=a/b+c/d   the languages (two or more). Without `langs`, the quickstart: the four demo
                  languages, the `cpu` preset shrunk further (QUICKSTART_*), budget=epochs with 4
                  epochs for mono and polyglot runs and 2 for fine-tuning (minutes)
  model=byte_crf  the model kind (byte_crf, charner, bts); `configs/<model>.py` gives every run's
                  training config
  cpu, paper      that config's `cpu` preset and `paper` flag (the published training settings)
  root=<dir>, drop=MISC+...   data root and dropped entity types, as in the model config
  seeds=0+1+2     every seed runs the whole protocol (default: num_seeds=1, i.e. seed 0)
  num_seeds=<n>   seeds 0 .. n-1 when `seeds` is not given
  budget=converged  (default with `langs`) the paper's protocol: every run stops when its dev
                  macro F1 has not improved for 10 evaluations (one per epoch) after at least 5
                  epochs, at most `epochs` (default 50), at a constant learning rate
  budget=steps,steps=<n>  every run (fine-tuning too) makes exactly n steps, no early stopping, on
                  the model config's schedule
  budget=epochs   `epochs` epochs (0: the model config's), with its patience: the quickstart's
  epochs=<n>      the epoch cap (converged) or the epochs (epochs) of mono and polyglot runs
  ft_epochs=<n>   the same for fine-tuning (0: as the other runs)
  ft_lr=<float>   fine-tuning learning rate (0: the recipe's, see below)
  samples=<n>     paired-bootstrap samples (polyglot+FT vs mono, mono vs polyglot)

Fine-tuning follows `polyglot_ner.study.finetune_recipe`, as `launch/sweep.py` does: all parameters
from the polyglot run's best dev checkpoint, a fresh optimiser at half the training learning rate,
the same budget and early stopping on the language's dev F1.

Headline: CoNLL-2003 en test F1 83.43 polyglot+FT against 82.43 mono (+1.00, p = 0.006), cpu
preset, converged (RESULTS.md, "CoNLL-2002/2003 converged"); WikiANN and every kind's quickstart
are there too.
"""

from __future__ import annotations

import pathlib

import ml_collections

from polyglot_ner import config as config_lib
from polyglot_ner.errors import NotFound, UserError

QUICKSTART_LANGS = ("demo/aa", "demo/bb", "demo/cc", "demo/dd")
# The quickstart's training config: the model's `cpu` preset with small batches and 4 epochs; the
# byte CRF's made smaller still, one padded shape (demo sentences have <= 14 words of <= 12 bytes)
# and a large step, so that each run takes seconds.
QUICKSTART_TRAIN = dict(batch_size=16, num_epochs=4)
QUICKSTART_MODEL = {"byte_crf": dict(
    model=dict(byte_emb_dim=16, byte_hidden=32, word_hidden=64),
    data=dict(max_word_bytes=16, byte_buckets=(16,), length_buckets=(16,)),
    optimizer=dict(learning_rate=1e-2))}
QUICKSTART_FT_EPOCHS = 2
BUDGETS = ("converged", "steps", "epochs")
# budget=converged, the paper's protocol: early stopping on dev macro F1 with this patience (in
# evaluations, one per epoch) once MIN_EPOCHS are done, at most MAX_EPOCHS (or `epochs=`).
CONVERGED_PATIENCE = 10
CONVERGED_MIN_EPOCHS = 5
CONVERGED_MAX_EPOCHS = 50


def model_config(model: str, arg: str) -> ml_collections.ConfigDict:
  """`get_config(arg)` of the model config file `configs/<model>.py` beside this one."""
  try:
    return config_lib.load_config(f"{pathlib.Path(__file__).with_name(model + '.py')}:{arg}")
  except NotFound as e:
    raise NotFound(f"config arg model={model!r}: {e}") from None


def _budget(arg: ml_collections.ConfigDict, quickstart: bool) -> str:
  """The budget the arg asks for; `budget` left out: converged, or epochs for the quickstart."""
  budget = arg.budget or ("steps" if arg.steps else "epochs" if quickstart else "converged")
  if budget not in BUDGETS:
    raise UserError(f"config arg budget={budget!r}: choose from {', '.join(BUDGETS)}")
  if (budget == "steps") != (arg.steps > 0):
    raise UserError("config arg steps=<n> (n >= 1) goes with budget=steps, and only with it")
  if budget == "steps" and (arg.epochs or arg.ft_epochs):
    raise UserError("config arg epochs/ft_epochs: budget=steps counts steps, not epochs")
  return budget


def _apply_budget(train: ml_collections.ConfigDict, budget: str, arg: ml_collections.ConfigDict
                  ) -> None:
  """Sets the keys of `train` that decide how long a run trains."""
  if budget == "converged":
    # A cosine schedule spans num_epochs, the cap, and would barely decay before early stopping;
    # the paper's learning rate is constant.
    train.update(dict(num_epochs=arg.epochs or CONVERGED_MAX_EPOCHS, patience=CONVERGED_PATIENCE,
                      min_epochs=CONVERGED_MIN_EPOCHS, max_steps=0,
                      optimizer=dict(schedule="constant")))
  elif budget == "steps":  # the same number of steps for every run, no early stopping
    train.update(dict(max_steps=arg.steps, patience=0, min_epochs=0))
  elif arg.epochs:
    train.num_epochs = arg.epochs


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The locked experiment config; `arg` as described in the module docstring."""
  arg = config_lib.parse_arg(arg, langs=(), model="byte_crf", cpu=False, paper=False, root="",
                              drop=(), seeds=(), num_seeds=1, budget="", steps=0, epochs=0,
                              ft_epochs=0, ft_lr=0.0, samples=1000)
  quickstart = not arg.langs
  langs = QUICKSTART_LANGS if quickstart else arg.langs
  if len(langs) < 2:
    raise UserError(f"config arg langs: the experiment needs two or more languages, got {langs}")
  try:
    seeds = tuple(int(seed) for seed in arg.seeds) or tuple(range(arg.num_seeds))
  except ValueError:
    raise UserError(f"config arg seeds: expected integers, got {arg.seeds}") from None
  if not seeds:
    raise UserError(f"config arg num_seeds: must be >= 1, got {arg.num_seeds}")

  train_arg = ",".join(
      (["cpu"] if arg.cpu or quickstart else []) + (["paper"] if arg.paper else [])
      + ([f"root={arg.root}"] if arg.root else [])
      + ([f"drop={'+'.join(arg.drop)}"] if arg.drop else []))
  train = model_config(arg.model, train_arg)
  if quickstart:
    train.update(QUICKSTART_TRAIN)
    train.update(QUICKSTART_MODEL.get(arg.model, {}))
  budget = _budget(arg, quickstart)
  _apply_budget(train, budget, arg)
  ft_epochs = arg.ft_epochs or (
      QUICKSTART_FT_EPOCHS if quickstart and budget == "epochs" and not arg.epochs else 0)

  config = ml_collections.ConfigDict()
  config.model_kind = train.model_kind
  config.langs = tuple(langs)
  config.seeds = seeds
  config.budget = budget  # how long every run trains: see the module docstring
  config.stages = ("mono", "polyglot", "finetune")  # a subset runs only those rows
  # Every run's training config; each run sets `seed` and `data.langs` (and `init_from` when
  # fine-tuning) in its own copy.
  config.train = train
  # The fine-tuned runs follow `polyglot_ner.study.finetune_recipe`; 0 keeps the recipe's value.
  config.finetune = ml_collections.ConfigDict(dict(num_epochs=ft_epochs, learning_rate=arg.ft_lr))
  config.transfer = True  # also score every mono model on the other languages' test sets
  config.bootstrap = ml_collections.ConfigDict(dict(num_samples=arg.samples, seed=0,
                                                    confidence=0.95))
  config.lock()
  return config
