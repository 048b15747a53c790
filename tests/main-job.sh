#!/usr/bin/env bash
# The main job that ./setup.sh ends with: describe a MusicGen checkpoint, tokenize a prompt and
# generate a few seconds of music from it into build/main-job.wav.
# Uses $DGXM_MODEL (a downloaded Hugging Face checkpoint directory) when set, else the tiny
# fixture model committed under tests/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${DGXM_MODEL:-tests/fixtures/models/mono}
prompt=${DGXM_PROMPT:-"lo-fi hip hop beat with warm piano and vinyl crackle, 80 bpm"}
dgxm=build/hosts/cli/dgxm
echo "== dgxm info $model"
"$dgxm" info "$model"
echo "== dgxm tokenize $model \"$prompt\""
"$dgxm" tokenize "$model" "$prompt"
echo "== dgxm generate --model $model --prompt \"$prompt\" --duration ${DGXM_SECONDS:-4} -o build/main-job.wav"
"$dgxm" generate --model "$model" --prompt "$prompt" --duration "${DGXM_SECONDS:-4}" \
  --seed 1 -o build/main-job.wav
