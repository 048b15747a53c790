#!/usr/bin/env bash
# Collects what the GPU machine needs to run dgxm and the CUDA tests into one folder (small
# enough to carry: the build folder with every variant is not): DIST/bin/ the programs,
# DIST/lib/ every shared library they load that is not glibc's or the CUDA driver's (the GPU
# machine has no Debian -dev packages; cudart is linked in statically).
# Usage: tests/bench/pack_for_gpu.sh [DIST]   (default gpu-dist; run after `waf build`), then
# carry DIST and run tests/bench/gpu_run.sh there.
set -euo pipefail
cd "$(dirname "$0")/../.."
dist=${1:-gpu-dist}
rm -rf "$dist"
mkdir -p "$dist/bin" "$dist/lib"
progs=(build/hosts/cli/dgxm)
for p in build/tests/test_cuda_* build/tests/test_device_memory build/tests/test_engine_latency; do
  [[ -x $p && $p != *.* ]] && progs+=("$p")
done
[[ -x build/hosts/cli/dgxm ]] || { echo "pack_for_gpu: build/hosts/cli/dgxm missing: run waf build" >&2; exit 1; }
cp "${progs[@]}" "$dist/bin/"
strip --strip-debug "$dist"/bin/* # the device tool carries at most 64 MiB with the tree
# glibc, the compiler runtime and the driver come with every Linux machine (and must match it).
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|libgcc_s\.so|libstdc\+\+\.so|libcuda\.so)'
for p in "${progs[@]}"; do
  ldd "$p" | awk '$3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  [[ $name =~ $skip ]] || cp -L "$path" "$dist/lib/$name"
done
echo "pack_for_gpu: $(ls "$dist/bin" | wc -l) programs, $(ls "$dist/lib" | wc -l) libraries in $dist ($(du -sh "$dist" | cut -f1))"
