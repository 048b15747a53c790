#!/usr/bin/env bash
# The GPU benchmark: `dgxm doctor`, then per model size the Hugging Face baseline
# (hf_reference.py: fp32, fp16, bf16) and our engine (`dgxm bench --random SIZE --device cuda`),
# then a markdown summary (summarize.py). Every step writes its own file under OUT_DIR and a
# failing step does not stop the others (its log says why).
#
# Usage (repository root of the GPU machine, after tests/bench/pack_for_gpu.sh here):
#   tests/bench/gpu_bench.sh OUT_DIR
# Environment: SIZES ("small medium large"), HF_DTYPES (fp32,fp16,bf16), DGXM_DTYPES (bf16),
#   HF_REPEATS (1), SECONDS_AUDIO (16), DGXM_DIST (gpu-dist: bin/ and lib/ from
#   pack_for_gpu.sh; else build/), PYTHON (python3), SKIP_HF=1 / SKIP_DGXM=1.
# Duration on an H100: small ~2 min, medium ~5 min, large ~6 min (HF fp32 dominates); run one
#   size per call where a call is limited to 10 minutes: SIZES=small tests/bench/gpu_bench.sh OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: gpu_bench.sh OUT_DIR}
mkdir -p "$out"
sizes=${SIZES:-small medium large}
py=${PYTHON:-python3}
dist=${DGXM_DIST:-gpu-dist}
if [[ -x $dist/bin/dgxm ]]; then
  dgxm=$dist/bin/dgxm
  export LD_LIBRARY_PATH="$PWD/$dist/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  dgxm=build/hosts/cli/dgxm
fi
say() { echo "gpu_bench: $*" >&2; }

"$dgxm" doctor > "$out/doctor.txt" 2>&1
say "doctor: $(tail -1 "$out/doctor.txt")"
for size in $sizes; do
  if [[ -z ${SKIP_HF:-} ]]; then
    t0=$SECONDS
    "$py" tests/bench/hf_reference.py --size "$size" --dtypes "${HF_DTYPES:-fp32,fp16,bf16}" \
      --repeats "${HF_REPEATS:-1}" --tokens $(( ${SECONDS_AUDIO:-16} * 50 )) \
      > "$out/hf-$size.json" 2> "$out/hf-$size.log" || say "hf $size failed (see $out/hf-$size.log)"
    say "hf $size: $((SECONDS - t0)) s"
  fi
  if [[ -z ${SKIP_DGXM:-} ]]; then
    for dt in ${DGXM_DTYPES:-bf16}; do
      t0=$SECONDS
      "$dgxm" bench --random "$size" --device cuda --dtype "$dt" --seconds "${SECONDS_AUDIO:-16}" \
        --json "$out/dgxm-$size-$dt.json" > "$out/dgxm-$size-$dt.txt" 2>&1 \
        || say "dgxm $size $dt failed (see $out/dgxm-$size-$dt.txt)"
      say "dgxm $size $dt: $((SECONDS - t0)) s"
    done
  fi
done
"$py" tests/bench/summarize.py "$out" | tee "$out/summary.md"
