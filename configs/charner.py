"""CharNER (Kuru et al. 2016) over bytes, as in the paper's code: published sizes and optimiser.

Train on the four synthetic demo languages (no data needed), on one language, and the protocol:

  polyglot-ner train --config configs/charner.py:cpu --workdir runs/charner_demo
  polyglot-ner train --config configs/charner.py:langs=conll2002/es,cpu,root=../shared/data \\
      --workdir runs/charner_es
  polyglot-ner experiment --workdir runs/exp_charner --config \\
      configs/experiment.py:langs=conll2002/es+conll2002/nl,cpu,model=charner,root=../shared/data

Config arg keys (comma-separated; see `polyglot_ner.config`): langs, mode, alpha, root, drop, seed
as in configs/byte_crf.py, and
  cpu     3 BiLSTM layers of 64 per direction, 64-d byte embedding drawn from N(0, 1), light
          dropout (byte vectors 0.1, every layer's output 0.2), Adam at a constant 2e-3, at most 10
          epochs (patience 3): in the few hundred steps a CPU run makes, the paper's
          initialisation, dropout and rate learn far slower (es dev 55.35 after 400 steps, the
          PyTorch twin 50.95: RESULTS.md, "CharNER: the cpu-preset ablation")
  paper   the published initialisation, dropout and rate at any size (`cpu,paper`: cpu sizes)

Paper settings (research-notes §2.2): the sentence as one byte sequence (words joined by a space),
one class per byte (O or an entity type, no B/I); byte embedding 128 (Glorot), a whole byte vector
dropped at rate 0.2; 5 stacked BiLSTM layers of 128 per direction with TF's +1 forget bias, output
dropout keep [.5, .5, .5, .5, .2]; the mean cross-entropy over all unpadded bytes of a batch; Adam
at a constant 1e-3 with global-norm clipping at 1; batch 32. Our decisions where the paper's code is
silent, as for the byte CRF: early stopping on dev macro F1 (patience 5 evaluations, one per
epoch), the best dev checkpoint is tested, at most 50 epochs; training truncates sentences longer
than the largest length bucket, 512 bytes (19 of the 8,323 CoNLL-2002 es training sentences; the
log says how many), evaluation never truncates.

Decoding (`model.scoring`, `polyglot_ner.kinds.charner.decode`): a Viterbi over bytes that keeps
one label per word, adding log-probabilities ("log_prob", the default) or probabilities ("prob", as
the paper's code does); both give valid IOB2.

Headline: CoNLL-2002 es test F1 77.59, mono, cpu preset, converged (early stopping after 47
epochs, best 37; RESULTS.md, "The paper's three models"). Ablations, decoding, speed: RESULTS.md.
"""

from __future__ import annotations

import ml_collections

from polyglot_ner import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The locked config; `arg` as described in the module docstring."""
  arg = config_lib.parse_model_arg(arg)
  config = ml_collections.ConfigDict()
  config.seed = arg.seed

  config.data = config_lib.mixture_data(arg)
  # Sentence lengths in bytes; training cuts longer sentences to the largest, evaluation does not.
  config.data.length_buckets = (32, 64, 128, 256, 512)
  config.data.sort_window = 64
  config.data.max_train_sentences = 0  # use only the first N of each language's train split; 0: all

  config.model_kind = "charner"
  config.model = ml_collections.ConfigDict(dict(
      emb_dim=128, emb_std=0.0, emb_dropout=0.2, hidden=128,
      output_dropout=(0.5, 0.5, 0.5, 0.5, 0.8), tf_forget_bias=True, scoring="log_prob"))

  config.optimizer = ml_collections.ConfigDict(dict(
      learning_rate=1e-3, schedule="constant", warmup_steps=0, final_lr_fraction=0.0,
      b1=0.9, b2=0.999, eps=1e-8, grad_clip_norm=1.0))

  # Top-level parameters, for fine-tuning's dont_load and freeze:
  # byte_embedding, layer_0 ... layer_<n-1>, output.
  config_lib.add_training(config, batch_size=32, num_epochs=50, patience=5)

  if arg.cpu:
    config.model.update(emb_dim=64, hidden=64)
    config.num_epochs = 10
    config.patience = 3
    config.checkpoint_every_steps = 200
    # Three layers, light dropout and N(0, 1) byte embeddings learn faster in a CPU's few hundred
    # steps (RESULTS.md, "CharNER: the cpu-preset ablation").
    config.model.update(output_dropout=(0.2, 0.2, 0.2), emb_dropout=0.1, emb_std=1.0)
    config.optimizer.learning_rate = 2e-3

  if arg.paper:
    config.model.update(emb_std=0.0, emb_dropout=0.2, output_dropout=(0.5,) * (
        len(config.model.output_dropout) - 1) + (0.8,))
    config.optimizer.learning_rate = 1e-3

  config.lock()
  return config
