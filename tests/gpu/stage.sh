#!/usr/bin/env bash
# Stages the programs for a run on the GPU machine (which has the NVIDIA driver but none of our
# Debian libraries) into build/devrun: the CLI, the CUDA tests and every shared library they
# load that is not part of the C runtime. Carry build/devrun and run tests/gpu/device-run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/devrun
rm -rf "$out" && mkdir -p "$out/lib"
progs=(build/hosts/cli/dgxm build/tests/test_cuda_step build/tests/test_cuda_ops
       build/tests/test_cuda_binary build/tests/cuda_device_check build/tests/test_generate
       build/tests/test_engine_latency build/tests/test_cuda_fault build/tests/test_device_memory)
for p in "${progs[@]}"; do
  [ -x "$p" ] && cp "$p" "$out/"
done
for p in "$out"/*; do
  [ -f "$p" ] || continue
  ldd "$p" | awk '/=> \// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|libpthread.so*|libdl.so*|librt.so*) ;;
      *) cp -n "$lib" "$out/lib/" ;;
    esac
  done
done
du -sh "$out"
