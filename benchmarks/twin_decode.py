"""The PyTorch twin's decoding speed, for `predict.py`: the eval loop of `torch_twin.py` (its
batches in file order, the model's forward and pytorch-crf's Viterbi, the tags' names) over a CoNLL
file, once to warm up and `--repeats` times timed (the best and the median call), at random
parameters (speed does not depend on them).

Runs under the twin's interpreter (torch, pytorch-crf) and imports nothing of the project:

  python benchmarks/twin_decode.py PEERS TRAIN TEST --batch_size 512 [--max_sentences N]
      [--threads 2] [--repeats 5] [torch_twin.py's size flags: --byte_emb 32 --byte_hidden 64 ...]

TRAIN gives the tag set, as the twin's training does. Prints one JSON line.
"""

import argparse
import json
import statistics
import sys
import time


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("peers")
  parser.add_argument("train")
  parser.add_argument("test")
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--max_sentences", type=int, default=0, help="0: all")
  for name, default in dict(byte_emb=32, byte_hidden=64, byte_layers=1, max_bytes=24,
                            word_hidden=128, threads=2, repeats=5).items():
    parser.add_argument(f"--{name}", type=int, default=default)
  args = parser.parse_args()
  sys.path.insert(0, args.peers)
  import torch  # pylint: disable=import-outside-toplevel
  import torch_twin  # pylint: disable=import-outside-toplevel

  torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  tags = sorted({tag for _, sentence_tags in torch_twin.read_conll(args.train)
                 for tag in torch_twin.iob1_to_iob2(sentence_tags)})
  tag_ids = {tag: i for i, tag in enumerate(tags)}
  test = [(words, torch_twin.iob1_to_iob2(sentence_tags))
          for words, sentence_tags in torch_twin.read_conll(args.test)]
  test = test[:args.max_sentences or None]
  model = torch_twin.Twin(len(tags), args).eval()

  def decode() -> list[list[str]]:
    predicted = []
    with torch.no_grad():
      for start in range(0, len(test), args.batch_size):
        batch = test[start:start + args.batch_size]
        bytes_, byte_lengths, gold, word_lengths = torch_twin.batchify(batch, tag_ids, args)
        mask = torch.arange(gold.shape[1])[None] < word_lengths[:, None]
        paths = model.crf.decode(model.emissions(bytes_, byte_lengths, word_lengths), mask=mask)
        predicted += [[tags[i] for i in path] for path in paths]
    return predicted

  decode()
  seconds = []
  for _ in range(args.repeats):
    start = time.perf_counter()
    decode()
    seconds.append(time.perf_counter() - start)
  print(json.dumps({"peer": "torch_twin", "batch_size": args.batch_size, "sentences": len(test),
                    "sentences_per_s": round(len(test) / min(seconds), 1),
                    "median_sentences_per_s": round(len(test) / statistics.median(seconds), 1),
                    "threads": args.threads}))


if __name__ == "__main__":
  main()
