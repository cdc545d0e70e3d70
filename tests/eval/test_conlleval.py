"""The scorer against conlleval's numbers on hand-made cases.

The expected counts below were worked out by hand from conlleval's startOfChunk/endOfChunk rules
(and agree with conlleval.pl run on the same lines):

  gold                           pred                           gold spans        pred spans
  I-PER I-PER O I-LOC B-LOC      B-PER I-PER O B-LOC I-LOC      PER LOC LOC       PER* LOC(3-4)
  O B-ORG I-ORG O B-MISC         O I-ORG I-ORG O O              ORG MISC          ORG* (stray I-)
  B-PER I-PER O B-LOC B-LOC      B-PER I-LOC O B-LOC I-LOC      PER LOC LOC       PER LOC LOC(3-4)
  O B-PER                        O B-PER                        PER               PER*
  I-PER O                        B-PER I-MISC                   PER (own span)    PER* MISC

IOB1 gold (row 1), a stray I- (row 2), a type switch inside a span (row 3: B-PER I-LOC is two
spans), adjacent B-X B-X (row 3), and a span that must not continue across a sentence boundary
(rows 4-5). * = correct. 19 tokens, 10 of them tagged identically.
"""

import random
import shutil
import subprocess

import pytest

from polyglot_ner.errors import UserError
from polyglot_ner.eval import conlleval

GOLD = [
    ["I-PER", "I-PER", "O", "I-LOC", "B-LOC"],
    ["O", "B-ORG", "I-ORG", "O", "B-MISC"],
    ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"],
    ["O", "B-PER"],
    ["I-PER", "O"],
]
PRED = [
    ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"],
    ["O", "I-ORG", "I-ORG", "O", "O"],
    ["B-PER", "I-LOC", "O", "B-LOC", "I-LOC"],
    ["O", "B-PER"],
    ["B-PER", "I-MISC"],
]


def test_overall_matches_conlleval():
  result = conlleval.score(GOLD, PRED)
  assert (result["gold"], result["found"], result["correct"]) == (10, 9, 4)
  assert result["precision"] == pytest.approx(4 / 9)
  assert result["recall"] == pytest.approx(4 / 10)
  assert result["f1"] == pytest.approx(8 / 19)
  assert result["tokens"] == 19 and result["correct_tags"] == 10
  assert result["accuracy"] == pytest.approx(10 / 19)


def test_per_type_matches_conlleval():
  per_type = conlleval.score(GOLD, PRED)["per_type"]
  counts = {kind: (s["gold"], s["found"], s["correct"]) for kind, s in per_type.items()}
  assert counts == {"LOC": (4, 3, 0), "MISC": (1, 1, 0), "ORG": (1, 1, 1), "PER": (4, 4, 3)}
  assert per_type["PER"]["f1"] == pytest.approx(0.75)
  assert per_type["ORG"]["f1"] == 1.0
  assert per_type["LOC"]["precision"] == per_type["LOC"]["f1"] == 0.0


def test_tuples_and_lists_score_alike():
  as_tuples = conlleval.score([tuple(s) for s in GOLD], [tuple(s) for s in PRED])
  assert as_tuples == conlleval.score(GOLD, PRED)


def test_no_predictions_scores_zero_like_conlleval():
  result = conlleval.score(GOLD, [["O"] * len(s) for s in GOLD])
  assert (result["found"], result["precision"], result["recall"], result["f1"]) == (0, 0.0, 0.0, 0.0)


def test_mismatched_lengths_are_errors():
  with pytest.raises(UserError, match="sentence 1"):
    conlleval.score(GOLD[:2], [PRED[0], PRED[1][:-1]])
  with pytest.raises(UserError, match="2 gold sentences but 1"):
    conlleval.score(GOLD[:2], PRED[:1])


def test_languages_micro_and_macro():
  result = conlleval.score_languages({"xx": (GOLD[:2], PRED[:2]), "yy": (GOLD[2:], PRED[2:])})
  xx, yy = result["per_language"]["xx"], result["per_language"]["yy"]
  # xx: gold PER LOC LOC ORG MISC, pred PER* LOC ORG*: P 2/3, R 2/5, F1 1/2.
  assert (xx["gold"], xx["found"], xx["correct"]) == (5, 3, 2)
  assert xx["f1"] == pytest.approx(0.5)
  # yy: gold PER LOC LOC PER PER, pred PER LOC LOC PER* PER* MISC: P 2/6, R 2/5, F1 4/11.
  assert (yy["gold"], yy["found"], yy["correct"]) == (5, 6, 2)
  assert yy["f1"] == pytest.approx(4 / 11)
  assert result["macro_f1"] == pytest.approx((0.5 + 4 / 11) / 2)
  assert result["macro_precision"] == pytest.approx((2 / 3 + 2 / 6) / 2)
  assert result["micro"] == conlleval.score(GOLD, PRED)
  assert conlleval.macro_average({}) == 0.0


# The tie: 1 correct of 63 found and 1 gold. conlleval: P = 100/63, R = 100, FB1 = 2PR/(P+R) =
# 3.1250000000000004, printed 3.13; 100 * (2pr/(p+r)) of the fractions is 3.125, printed 3.12.
TIE_GOLD = [["B-PER"] + ["O"] * 62]
TIE_PRED = [["B-PER"] * 63]


def test_a_tie_rounds_as_conlleval_rounds():
  result = conlleval.score(TIE_GOLD, TIE_PRED)
  assert (result["correct"], result["found"], result["gold"]) == (1, 63, 1)
  assert f"{conlleval.percentages(result)['f1']:.2f}" == "3.13"
  assert f"{conlleval.percentages(result['per_type']['PER'])['f1']:.2f}" == "3.13"
  assert f"{100 * result['f1']:.2f}" == "3.12"  # why nothing may print 100 * fraction
  assert conlleval.report(result) == (
      "processed 63 tokens with 1 phrases; found: 63 phrases; correct: 1.\n"
      "accuracy:   1.59%; precision:   1.59%; recall: 100.00%; FB1:   3.13\n"
      "              PER: precision:   1.59%; recall: 100.00%; FB1:   3.13  63\n")


def test_iobes_is_scored_as_its_iob2_spans():
  gold = [["S-PER", "S-PER", "O", "B-LOC", "E-LOC"], ["B-ORG", "I-ORG", "E-ORG", "S-MISC"]]
  pred = [["B-PER", "O", "O", "B-LOC", "I-LOC"], ["B-ORG", "E-ORG", "S-ORG", "O"]]
  as_iob2 = conlleval.score(
      [["B-PER", "B-PER", "O", "B-LOC", "I-LOC"], ["B-ORG", "I-ORG", "I-ORG", "B-MISC"]],
      [["B-PER", "O", "O", "B-LOC", "I-LOC"], ["B-ORG", "I-ORG", "B-ORG", "O"]])
  result = conlleval.score(gold, pred)
  # S-PER S-PER is two spans (conlleval's own IOE reading would make it one).
  assert (result["gold"], result["found"], result["correct"]) == (5, 4, 2)
  assert result == as_iob2


def test_sentences_are_what_score_counts():
  """The chunks `score` counts (and the bootstrap resamples) per sentence, IOBES read as IOB2."""
  gold = [["S-PER", "S-PER", "O"], ["O", "I-LOC", "I-LOC"], []]
  pred = [["B-PER", "I-PER", "O"], ["B-LOC", "I-LOC", "B-ORG"], []]
  paired = conlleval.sentences(gold, pred)
  assert [s.gold for s in paired] == [["B-PER", "B-PER", "O"], gold[1], []]
  assert [s.pred for s in paired] == pred
  assert [s.gold_spans for s in paired] == [{("PER", 0, 1), ("PER", 1, 2)}, {("LOC", 1, 3)}, set()]
  assert [s.pred_spans for s in paired] == [{("PER", 0, 2)}, {("LOC", 0, 2), ("ORG", 2, 3)}, set()]
  result = conlleval.score(gold, pred)
  assert (result["gold"], result["found"], result["correct"]) == (
      sum(len(s.gold_spans) for s in paired), sum(len(s.pred_spans) for s in paired), 0)
  with pytest.raises(UserError, match="sentence 2: 0 gold tags but 1"):
    conlleval.sentences(gold, pred[:2] + [["O"]])


@pytest.mark.parametrize("tag", ["PER", "B-", "X-PER", "b-PER", ""])
def test_tags_without_a_prefix_are_user_errors(tag):
  with pytest.raises(UserError, match=f"predicted sentence 1: tag {tag!r} is neither O"):
    conlleval.score(GOLD[:2], [PRED[0], ["O", tag, "I-ORG", "O", "O"]])
  with pytest.raises(UserError, match=f"gold sentence 0: tag {tag!r}"):
    conlleval.score([[tag]], [["O"]])


# An independent oracle: conlleval's chunk logic (startOfChunk/endOfChunk with B, I, E, O; no S),
# its counting and its printf lines, written afresh in Perl. It reads `word gold pred` lines; a
# blank line or a line whose first field is -X- is a boundary, tagged O O and no token.
ORACLE = r"""
my ($tokens, $same, $gold, $found, $correct, $in) = (0, 0, 0, 0, 0, 0);
my (%gold, %found, %correct);
my ($lc, $lct, $lg, $lgt) = ("O", "", "O", "");
sub parts { return $_[0] =~ /^([^-]*)-(.*)$/ ? ($1, $2) : ($_[0], ""); }
sub ends { my ($p, $t, $pt, $tt) = @_;
  return 1 if "$p$t" =~ /^(BB|BO|IB|IO|EE|EI|EO)$/;
  return ($p ne "O" && $pt ne $tt) ? 1 : 0; }
sub starts { my ($p, $t, $pt, $tt) = @_;
  return 1 if "$p$t" =~ /^(BB|IB|OB|OI|EE|EI|OE)$/;
  return ($t ne "O" && $pt ne $tt) ? 1 : 0; }
while (my $line = <STDIN>) {
  chomp $line;
  my @f = split(/ /, $line);
  @f = ("-X-", "O", "O") if !@f || $f[0] eq "-X-";
  my ($c, $ct) = parts($f[1]);
  my ($g, $gt) = parts($f[2]);
  if ($in) {
    my ($ec, $eg) = (ends($lc, $c, $lct, $ct), ends($lg, $g, $lgt, $gt));
    if ($ec && $eg && $lgt eq $lct) { $in = 0; $correct++; $correct{$lct}++; }
    elsif ($ec != $eg || $gt ne $ct) { $in = 0; }
  }
  my ($sc, $sg) = (starts($lc, $c, $lct, $ct), starts($lg, $g, $lgt, $gt));
  $in = 1 if $sc && $sg && $gt eq $ct;
  if ($sc) { $gold++; $gold{$ct}++; }
  if ($sg) { $found++; $found{$gt}++; }
  if ($f[0] ne "-X-") { $same++ if $c eq $g && $ct eq $gt; $tokens++; }
  ($lc, $lct, $lg, $lgt) = ($c, $ct, $g, $gt);
}
if ($in) { $correct++; $correct{$lct}++; }
sub prf { my ($k, $f, $g) = @_;
  my $p = $f > 0 ? 100 * $k / $f : 0; my $r = $g > 0 ? 100 * $k / $g : 0;
  return ($p, $r, $p + $r > 0 ? 2 * $p * $r / ($p + $r) : 0); }
print "processed $tokens tokens with $gold phrases; found: $found phrases; correct: $correct.
";
if ($tokens > 0) {
  my ($p, $r, $f) = prf($correct, $found, $gold);
  printf "accuracy: %6.2f%%; precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f
",
    100 * $same / $tokens, $p, $r, $f;
}
my %types = map { $_ => 1 } (keys %gold, keys %found);
for my $t (sort keys %types) {
  my ($p, $r, $f) = prf($correct{$t} // 0, $found{$t} // 0, $gold{$t} // 0);
  printf "%17s: precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f  %d
", $t, $p, $r, $f,
    $found{$t} // 0;
}
"""


def oracle(gold_seqs, pred_seqs):
  return oracle_text("".join("".join(f"w {g} {p}\n" for g, p in zip(gold, pred)) + "\n"
                             for gold, pred in zip(gold_seqs, pred_seqs)))


def oracle_text(text):
  return subprocess.run(["perl", "-e", ORACLE], input=text, capture_output=True, text=True,
                        check=True).stdout


def score_text(text):
  """What `polyglot-ner score` prints for `text`."""
  return conlleval.report(conlleval.score(*conlleval.read(text)))


def random_sequences(rng, count, prefixes):
  tags = ["O"] * 6 + [f"{p}-{t}" for p in prefixes for t in ("PER", "LOC", "MISC")]
  return [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(count)]


needs_perl = pytest.mark.skipif(shutil.which("perl") is None, reason="no perl for the oracle")


@needs_perl
@pytest.mark.parametrize("gold,pred", [(GOLD, PRED), (TIE_GOLD, TIE_PRED), (GOLD, GOLD)])
def test_report_matches_the_oracle(gold, pred):
  assert conlleval.report(conlleval.score(gold, pred)) == oracle(gold, pred)


@needs_perl
def test_random_iob_matches_the_oracle_digit_for_digit():
  rng = random.Random(0)
  for trial in range(30):
    gold = random_sequences(rng, rng.randint(1, 40), "BI")
    pred = [[tag if rng.random() < 0.7 else rng.choice(["O", "B-PER", "I-PER", "I-LOC"])
             for tag in tags] for tags in gold]
    assert conlleval.report(conlleval.score(gold, pred)) == oracle(gold, pred), trial


def random_iobes(rng, length):
  """A valid IOBES sentence of random spans (single words as S-, longer ones as B- I-* E-)."""
  tags = []
  while len(tags) < length:
    size, kind = rng.randint(1, min(3, length - len(tags))), rng.choice(["PER", "LOC", "MISC"])
    if rng.random() < 0.4:
      tags.append("O")
    else:
      tags += [f"S-{kind}"] if size == 1 else (
          [f"B-{kind}"] + [f"I-{kind}"] * (size - 2) + [f"E-{kind}"])
  return tags


def iobes_to_iob2(tags):
  """The test's own conversion of valid IOBES: S- is B-, E- is I-."""
  return [{"S": "B", "E": "I"}.get(tag[0], tag[0]) + tag[1:] for tag in tags]


@needs_perl
def test_random_iobes_matches_the_oracle_on_converted_tags():
  rng = random.Random(1)
  for trial in range(30):
    gold = [random_iobes(rng, rng.randint(1, 12)) for _ in range(rng.randint(1, 40))]
    pred = [random_iobes(rng, len(tags)) for tags in gold]
    expected = oracle([iobes_to_iob2(t) for t in gold], [iobes_to_iob2(t) for t in pred])
    assert conlleval.report(conlleval.score(gold, pred)) == expected, trial


@needs_perl
def test_boundary_lines_hyphenated_and_non_ascii_types_match_the_oracle():
  rng = random.Random(2)
  tags = ["O"] * 4 + [f"{p}-{t}" for p in "BI" for t in ("WORK-OF-ART", "ÉT", "PER")]
  for trial in range(30):
    lines = []
    for _ in range(rng.randint(1, 60)):
      gold, pred = rng.choice(tags), rng.choice(tags)
      first = rng.choice(["-X-"] + ["w"] * 8)
      lines.append("" if rng.random() < 0.1 else f"{first} {gold} {pred}")
    text = "\n".join(lines) + "\n"
    assert score_text(text) == oracle_text(text), trial


@needs_perl
@pytest.mark.parametrize("lang", ["conll2002/es", "conll2003/en", "wikiann/sw"])
def test_real_files_with_perturbed_predictions_match_the_oracle(data_root, lang):
  from polyglot_ner.data import corpora  # pylint: disable=import-outside-toplevel
  rng = random.Random(3)
  sentences = corpora.load_split(lang, "test", data_root)
  types = sorted({tag[2:] for s in sentences for tag in s.tags if tag != "O"})
  choices = ["O"] + [f"{p}-{t}" for p in "BI" for t in types]
  lines = []
  for sentence in sentences:
    for token, tag in zip(sentence.tokens, sentence.tags):
      lines.append(f"{token} {tag} {tag if rng.random() < 0.8 else rng.choice(choices)}")
    lines.append("")
  text = "\n".join(lines) + "\n"
  assert score_text(text) == oracle_text(text)
