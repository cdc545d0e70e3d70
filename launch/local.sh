#!/bin/bash
# Runs a sweep manifest on this machine; see launch/local.py for the options.
#   launch/local.sh runs/sweep/manifest.jsonl --workers 2 [--gpus 0,1]
exec "${PYTHON:-python3}" "$(dirname "$0")/local.py" "$@"
