"""CharNER (Kuru et al. 2016) over bytes, as in the paper's code: published sizes and optimiser.

Train (defaults: the four synthetic demo languages, no data needed):

  polyglot-ner train --config configs/charner.py:cpu --workdir runs/charner_demo

Monolingual / polyglot runs and the whole experiment on real corpora:

  polyglot-ner train --config configs/charner.py:langs=conll2002/es,cpu,root=../shared/data \\
      --workdir runs/charner_es
  polyglot-ner experiment --workdir runs/exp_charner --config \\
      configs/experiment.py:langs=conll2002/es+conll2002/nl,cpu,model=charner,root=../shared/data

Config arg keys (comma-separated; see `polyglot_ner.config`): langs, cpu, paper, mode, alpha,
root, drop, seed, as in `configs/byte_crf.py`.

Paper settings (research-notes §2.2): the sentence as one byte sequence (words joined by a space),
one class per byte (O or an entity type, no B/I); byte embedding 128 (Glorot), a whole byte vector
dropped at rate 0.2; 5 stacked BiLSTM layers of 128 per direction with TF's +1 forget bias, output
dropout keep [.5, .5, .5, .5, .2]; the mean cross-entropy over all unpadded bytes of a batch; Adam
at a constant 1e-3 with global-norm clipping at 1; batch 32. Our decisions where the paper's code is
silent, as for the byte CRF: early stopping on dev macro F1 (patience 5 evaluations, one per
epoch), the best dev checkpoint is evaluated on test, at most 50 epochs; training truncates
sentences longer than the largest length bucket, 512 bytes (19 of the 8,323 CoNLL-2002 es training
sentences; the log says how many), evaluation never truncates.

Decoding (`model.scoring`): the word-consistent Viterbi over bytes adds log-probabilities by
default ("log_prob": the most probable labelling whose label is constant inside each word); "prob"
adds probabilities, as the paper's code does. Both give valid IOB2. The configs use log_prob; on
the es mono run below, prob changes dev 60.06 -> 59.80 and test 65.26 -> 65.08 (same checkpoint).

The `cpu` preset keeps the architecture at 3 BiLSTM layers of 64 per direction and a 64-d byte
embedding, with light dropout (byte vectors 0.1, every layer's output 0.2) and Adam at a constant
2e-3: in the few hundred steps a CPU run makes, the paper's dropout (keep .2 on the top layer) and
rate learn far slower. CoNLL-2002 es, 250 steps of 32 sentences, one seed: the preset reaches dev
37.8 / test 40.9, `cpu,paper` (these sizes with the published dropout and 1e-3) dev 17.9 / test
18.3 (`--config.max_steps=250`; before the LSTMs drew their dropout masks time-major, the same runs
gave 41.1 / 44.5 and 24.2 / 25.6: this early, the masks move a run by several points). `paper`
restores the published dropout and rate at any size.

Speed (`python benchmarks/train_step.py --presets charner_cpu,charner_paper --langs conll2002/es
--steps 10`, this 2-core machine shared with 3-4 other jobs): the `cpu` preset trains 29 sentences
(5,100 bytes) per second, compiles its 4 shapes in 38 s, peak RSS 1.2 GB; the paper's sizes 6.7
sentences/s, 67 s, 2.5 GB (an accelerator's job).

The experiment on CoNLL-2002 es and nl with the `cpu` preset (before the time-major masks), every
run (fine-tuning too) 1,200 steps of 32 sentences (4.6 epochs of es, 2.4 of nl), one seed, 69 min wall on 2 CPU cores shared
with two other experiments (the default `budget=converged` trains far longer):

  export POLYGLOT_NER_DATA=../shared/data  # or root=<dir> in the config arg
  polyglot-ner experiment --workdir runs/exp_charner_1200 --config \\
    configs/experiment.py:langs=conll2002/es+conll2002/nl,cpu,model=charner,budget=steps,steps=1200

  test F1 (dev F1)   es             nl             average   training time
  mono               65.26 (60.06)  41.37 (36.52)  53.31     22 min (es), 10 min (nl)
  polyglot           43.31          49.10          46.21     13 min (dev macro 43.74)
  polyglot+FT        62.10 (61.22)  55.11 (51.41)  58.61     16 min (es), 5 min (nl)

Polyglot+FT beats mono on nl (+13.7 [+11.8, +15.5], p < 0.001; 2.4 epochs leave mono nl far from
converged) and loses on es (-3.2 [-4.3, -2.0]); the polyglot run alone (1.6 epochs of the pooled
data) is below both. Every run was still improving. With 400 steps per run (27 min wall) the same
protocol gave mono 53.55 / 20.85, polyglot 27.68 / 14.97, polyglot+FT 54.76 / 34.60. CharNER learns
more slowly than the byte CRF: the CRF's `cpu` preset at 400 steps of 64 sentences
(`budget=steps,steps=400` on en+es+nl) has mono es 73.93, nl 67.67, and on es alone dev 71.6 after
524 steps of 64 (33,500 sentences, about CharNER's 38,400 here; `configs/byte_crf.py`).
"""

from __future__ import annotations

import ml_collections

from polyglot_ner import config as config_lib

DEMO_LANGS = ("demo/aa", "demo/bb", "demo/cc", "demo/dd")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The locked config; `arg` as described in the module docstring."""
  arg = config_lib.parse_arg(arg, langs=DEMO_LANGS, cpu=False, paper=False, mode="proportional",
                              alpha=1.0, root="", drop=(), seed=0)
  config = ml_collections.ConfigDict()
  config.seed = arg.seed

  config.data = config_lib.mixture_data(arg)
  # Sentence lengths in bytes; training cuts longer sentences to the largest, evaluation does not.
  config.data.length_buckets = (32, 64, 128, 256, 512)
  config.data.sort_window = 64
  config.data.max_train_sentences = 0  # use only the first N of each language's train split; 0: all

  config.model_kind = "charner"
  config.model = ml_collections.ConfigDict(dict(
      emb_dim=128, emb_dropout=0.2, hidden=128, output_dropout=(0.5, 0.5, 0.5, 0.5, 0.8),
      tf_forget_bias=True, scoring="log_prob"))

  config.optimizer = ml_collections.ConfigDict(dict(
      learning_rate=1e-3, schedule="constant", warmup_steps=0, final_lr_fraction=0.0,
      b1=0.9, b2=0.999, eps=1e-8, grad_clip_norm=1.0))

  config.batch_size = 32  # global, split over all devices
  config.eval_batch_size = 128
  config.num_epochs = 50
  config.max_steps = 0  # stop after this many steps whatever num_epochs says; 0: num_epochs decides
  config.min_epochs = 0  # early stopping (patience) only after this many epochs
  config.eval_every_steps = 0  # 0: evaluate on dev after every epoch
  config.patience = 5  # evaluations without a better dev macro F1 before stopping; 0: never stop
  config.checkpoint_every_steps = 500  # latest checkpoint (for resuming) between evaluations
  config.log_every_steps = 50

  # Fine-tuning (polyglot_ner.train.finetune), as in configs/byte_crf.py. Top-level parameters:
  # byte_embedding, layer_0 ... layer_<n-1>, output.
  config.init_from = ""
  config.dont_load = ()  # keep these parameters' fresh initialisation instead of the parent's
  config.freeze = ()  # give these parameters zero updates

  if arg.cpu:
    config.model.update(emb_dim=64, hidden=64)
    config.num_epochs = 10
    config.patience = 3
    config.checkpoint_every_steps = 200
    # Three layers and light dropout learn faster in a CPU's few hundred steps (docstring).
    config.model.update(output_dropout=(0.2, 0.2, 0.2), emb_dropout=0.1)
    config.optimizer.learning_rate = 2e-3

  if arg.paper:
    config.model.update(emb_dropout=0.2, output_dropout=(0.5,) * (
        len(config.model.output_dropout) - 1) + (0.8,))
    config.optimizer.learning_rate = 1e-3

  config.lock()
  return config
