#!/bin/bash
# Runs one command on every worker of a Cloud TPU VM slice at once. JAX on TPU VMs finds its peers
# by itself, so the training's `jax.distributed.initialize()` needs nothing from here.
#
#   TPU=my-v4-32 ZONE=us-central2-b launch/tpu_vm.sh --sync --install -- \
#     python3 -m polyglot_ner train --config configs/byte_crf.py:langs=conll2002/es \
#     --workdir gs://BUCKET/runs/es
#
#   --sync     copy this checkout (tracked and untracked, not ignored, files) to ~/$REMOTE_DIR
#              on every worker
#   --install  pip install -e "~/$REMOTE_DIR[tpu]" on every worker
# Environment: TPU, ZONE (required), PROJECT (optional gcloud project), REMOTE_DIR (default
# polyglot_ner). The command runs in ~/$REMOTE_DIR. The workdir of a multi-worker run must be
# storage all workers share (gs://...), and so must data.root.
set -euo pipefail

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }
sync=0 install=0
while (( $# )); do
  case $1 in
    --sync) sync=1 ;;
    --install) install=1 ;;
    --) shift; break ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "tpu_vm.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
if [[ -z ${TPU:-} || -z ${ZONE:-} ]] || (( $# == 0 && !sync && !install )); then
  usage >&2
  exit 2
fi
dir="\"\$HOME/${REMOTE_DIR:-polyglot_ner}\""  # expanded on the workers
target=(--zone "$ZONE" --worker=all ${PROJECT:+--project "$PROJECT"})
steps=()
if (( sync )); then
  archive=$(mktemp --suffix=.tar.gz)
  trap 'rm -f "$archive"' EXIT
  (cd "$(dirname "$0")/.." &&
   git ls-files -z --cached --others --exclude-standard | tar --null -T - -czf "$archive")
  gcloud compute tpus tpu-vm scp "$archive" "$TPU:/tmp/polyglot_ner.tar.gz" "${target[@]}"
  steps+=("mkdir -p $dir && tar -xzf /tmp/polyglot_ner.tar.gz -C $dir")
fi
if (( install )); then
  steps+=("python3 -m pip install -q -e $dir'[tpu]'")
fi
if (( $# )); then
  steps+=("cd $dir && $(printf '%q ' "$@")")
fi
command=$(printf ' && %s' "${steps[@]}")
gcloud compute tpus tpu-vm ssh "$TPU" "${target[@]}" --command "${command:4}"
