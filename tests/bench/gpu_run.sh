#!/usr/bin/env bash
# On the GPU machine, from the repository root, after tests/bench/pack_for_gpu.sh here and
# carrying gpu-dist: the CUDA tests and `dgxm doctor`, then dgxm bench at the released
# models' shapes, the Hugging Face reference (tests/bench/hf_reference.py) and the time to first
# audio. Results go to ./gpu-out, packed as $OUT/results.tgz when the device tool's $OUT is set.
#   tests/bench/gpu_run.sh [tests] [bench-small] [persist-small] [probe-small] [persist-big]
#                          [bench-big] [latency]
#                          [hf-small] [hf-medium] [hf-large] [old-small] [timeline-small] [e2e]
#                          [codec] [ab] [env-ab] [env-multi]
#   ab: every size (AB_SIZES), bf16 and int8, gpu-dist/bin/dgxm-old then this build, for a
#   before/after; env-ab: the same with this build under the settings AB_ENV first
#   old-small: the persistent step and the graph of another build's dgxm, put at
#   gpu-dist/bin/dgxm-old, for a before/after in the same run
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$PWD/gpu-out
mkdir -p "$out"
pack() {
  python3 tests/bench/summarize.py "$out" > "$out/summary.md" 2>&1
  [ -n "${OUT:-}" ] && tar czf "$OUT/results.tgz" -C "$out" .
}
trap pack EXIT
run=gpu-dist/bin
export LD_LIBRARY_PATH=$PWD/gpu-dist/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# The tests find their fixtures under the source path they were built in.
src=$(strings "$run/test_cuda_step" | grep -m1 -o '^/[^ ]*/tests/fixtures/' | sed 's|/tests/fixtures/||')
if [ -n "$src" ] && [ ! -e "$src/tests/fixtures" ]; then
  mkdir -p "$(dirname "$src")" && ln -sfn "$PWD" "$src"
fi
parts=${*:-tests bench-small bench-big latency hf-small hf-medium hf-large}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
keep=${TMPDIR:-/tmp}/dgxm-weights
bench() { # size dtype [extra...]
  local size=$1 dtype=$2; shift 2
  local tag="$size-$dtype${TAG:+-$TAG}" # TAG names a variant run
  timeout 300 "${DGXM:-$run/dgxm}" bench --model "$keep/$size" --device cuda --dtype "$dtype" --seconds 16 \
    --json "$out/dgxm-$tag.json" "$@" > "$out/dgxm-$tag.txt" 2>&1
  echo "bench $tag rc=$?"; tail -6 "$out/dgxm-$tag.txt"
}
# The variants of a before/after: another build's dgxm (gpu-dist/bin/dgxm-old), or this one
# with the settings AB_ENV.
old_build() { DGXM=$run/dgxm-old TAG=old bench "$@"; }
with_env() { (export ${AB_ENV:?}; TAG=variant bench "$@"); }
pairs() { # variant: every size (AB_SIZES), bf16 and int8, the variant then this build
  for size in ${AB_SIZES:-small medium large}; do
    prepare $size
    for d in bf16 int8; do "$1" $size $d; bench $size $d; done
    [ $size = small ] || rm -rf "$keep/$size"
  done
}
prepare() { # size
  mkdir -p "$keep/$1"
  [ -f "$keep/$1/model.safetensors" ] || timeout 300 "$run/dgxm" bench --random "$1" --keep "$keep/$1" \
    --device cuda --dtype bf16 --seconds 1 --full 0 --repeats 1 > "$out/prepare-$1.txt" 2>&1
}
for part in $parts; do
  case $part in
    tests)
      "$run/dgxm" doctor > "$out/doctor.txt" 2>&1; echo "doctor rc=$?"; tail -3 "$out/doctor.txt"
      for t in ${CUDA_TESTS:-test_cuda_step test_cuda_ops test_cuda_fault test_device_memory}; do
        timeout 300 "$run/$t" > "$out/$t.txt" 2>&1; echo "$t rc=$?"; tail -4 "$out/$t.txt"
      done ;;
    bench-small)
      prepare small
      bench small bf16
      TAG=profile bench small bf16 --profile 1
      DGXM_CUDA_PERSISTENT=1 TAG=persistent bench small bf16
      for d in f32 f16 int8; do bench small $d; done ;;
    persist-small) # the persistent step against the kernel-per-phase graph, same machine
      prepare small
      for d in bf16 int8 f32; do
        bench small $d
        DGXM_CUDA_PERSISTENT=1 TAG=persistent bench small $d
      done ;;
    probe-small) # where the persistent step's time goes (the probes give wrong tokens)
      prepare small
      export DGXM_CUDA_PERSISTENT=1
      TAG=persistent bench small bf16
      DGXM_CUDA_PERSIST_PROBE=barriers TAG=barriers bench small bf16
      DGXM_CUDA_PERSIST_PROBE=no-attention TAG=no-attention bench small bf16
      DGXM_CUDA_PERSIST_PROBE=stream TAG=stream bench small bf16
      unset DGXM_CUDA_PERSISTENT ;;
    timeline-small) # the persistent step's block clocks of one step (the last), as CSV: read
      # them with tests/bench/timeline.py
      prepare small
      DGXM_CUDA_PERSISTENT=1 DGXM_CUDA_PERSIST_TIMELINE=$out/timeline-small-bf16.csv TAG=timeline \
        bench small bf16 --repeats 1
      DGXM_CUDA_PERSISTENT=1 TAG=persistent bench small bf16
      DGXM_CUDA_PERSISTENT=1 DGXM_CUDA_PERSIST_PROBE=no-attention TAG=no-attention bench small bf16
      DGXM_CUDA_PERSISTENT=1 DGXM_CUDA_PERSIST_PROBE=no-dot TAG=no-dot bench small bf16
      DGXM_CUDA_PERSISTENT=1 TAG=persistent bench small int8
      DGXM_CUDA_PERSISTENT=1 DGXM_CUDA_PERSIST_PROBE=no-dot DGXM_CUDA_PERSIST_TIMELINE=$out/timeline-small-bf16-no-dot.csv \
        TAG=no-dot-timeline bench small bf16 --repeats 1
      bench small bf16 ;;
    e2e) # the default step at every size, bf16 and int8, nothing else
      for size in small large medium; do
        prepare $size; bench $size bf16; bench $size int8
        [ -z "${PROFILE:-}" ] || TAG=profile bench $size bf16 --profile 1 # PROFILE=1: where it goes
        [ $size = small ] || rm -rf "$keep/$size"
      done ;;
    codec) # where the step's and EnCodec's time goes (--profile 1), and another build's dgxm
      # (gpu-dist/bin/dgxm-old, when there) beside this one for a before/after in the same run
      prepare small
      TAG=profile bench small bf16 --profile 1
      if [ -x "$run/dgxm-old" ]; then
        old_build small bf16; bench small bf16
        old_build small int8; bench small int8
      fi ;;
    env-ab) # with the settings AB_ENV (for example DGXM_CUDA_CROSS_FOLD=0), then without:
      # a before/after in one binary
      pairs with_env ;;
    ab) pairs old_build ;;
    env-multi) # every size (AB_SIZES) and dtype (AB_DTYPES): this build as it is, under each
      # setting of AB_ENVS (';' between settings, tagged v1, v2, ...), then as it is again
      # (tagged again: the run's drift)
      IFS=';' read -ra settings <<< "${AB_ENVS:?}"
      for size in ${AB_SIZES:-small medium large}; do
        prepare $size
        for d in ${AB_DTYPES:-bf16 int8}; do
          bench $size $d
          for i in "${!settings[@]}"; do
            (export ${settings[$i]}; TAG=v$((i + 1)) bench $size $d)
          done
          TAG=again bench $size $d
        done
        [ $size = small ] || rm -rf "$keep/$size"
      done
      for i in "${!settings[@]}"; do echo "v$((i + 1)): ${settings[$i]}"; done > "$out/variants.txt" ;;
    old-small)
      prepare small
      for d in bf16 int8; do
        DGXM=$run/dgxm-old TAG=old bench small $d
        DGXM=$run/dgxm-old DGXM_CUDA_PERSISTENT=1 TAG=old-persistent bench small $d
      done ;;
    persist-big) # medium and large, the persistent step against the kernel-per-phase graph
      for size in medium large; do
        prepare $size; bench $size bf16; DGXM_CUDA_PERSISTENT=1 TAG=persistent bench $size bf16
        DGXM_CUDA_PERSISTENT=1 DGXM_CUDA_PERSIST_PROBE=stream TAG=stream bench $size bf16
        bench $size int8; rm -rf "$keep/$size"
      done ;;
    hf-small|hf-medium|hf-large)
      size=${part#hf-}
      timeout 400 python3 tests/bench/hf_reference.py --size "$size" --dtypes "${HF_DTYPES:-fp32,fp16,bf16}" \
        --tokens 800 > "$out/hf-$size.json" 2> "$out/hf-$size.log"
      echo "hf $size rc=$?"; cat "$out/hf-$size.json" | head -60 ;;
    bench-big)
      prepare medium; bench medium bf16; bench medium int8; rm -rf "$keep/medium"
      prepare large; bench large bf16; bench large int8; rm -rf "$keep/large" ;;
    latency)
      DGXM_BENCH_SMALL=1 DGXM_BENCH_DEVICE=cuda timeout 300 "$run/test_engine_latency" \
        > "$out/latency.txt" 2>&1; echo "latency rc=$?"; grep -i 'first audio' "$out/latency.txt" ;;
  esac
done
