#!/usr/bin/env bash
# On a GPU machine, from the folder bench/gpu/prepare.sh built: finds a Vulkan driver with which Dawn sees the GPU,
# then runs bench:node on webgpu and wasm (the same workloads as issue 13's table: encode, update, rank at 1k/10k/100k
# with scores and the ranker alone, page, cold start, kernel launches, GPU kernel time, the probe's plan and auto
# against the best configuration; on webgpu also the cold start with the first page's pipelines compiled while the
# model loads, `backends.webgpu.cold_warmup` beside `backends.webgpu.cold`: the worker's warm-up on a hardware adapter) and bench:train on webgpu and wasm (fixed epochs on the synthetic world, so the
# losses are over the same steps; 8,192 and 16,384 positions per step on webgpu, 16,384 on wasm: the size past which
# a flat gather's indices exceed 2^24, checked against wasm). Unpacks the Vulkan loader prepare.sh fetched (Debian's
# libvulkan1) where the machine has none; needs dpkg and python3 (to unpack .xz where there is no xz). Results and
# logs go to OUT_DIR (default ./out), eight files at most: adapter.json, bench-node.json/.log, train-webgpu.json, train-wasm.json, train.log, train-compare.json, and
# whatever the caller tees this script's own output to (run.log).
#
# usage: bash run.sh [OUT_DIR]     environment: RUNS (10), MEMBERS (synthetic world size for training, 2000),
#                                  EPOCHS (2), BENCH_TIMEOUT_S (240), TRAIN_TIMEOUT_S (150 per backend),
#                                  TOKENS_GPU (8192,16384), TOKENS_WASM (16384)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUNS=${RUNS:-10}
MEMBERS=${MEMBERS:-2000}
EPOCHS=${EPOCHS:-2}
step() { echo "== $(date -u +%H:%M:%S) $*"; }

step machine
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
echo "cpus $(nproc)"; uptime

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  mkdir -p /tmp/mq-node
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$HERE/node.xz" /tmp/mq-node/node
  chmod +x /tmp/mq-node/node
  export PATH=/tmp/mq-node:$PATH
fi
echo "node $(node --version)"
[ -d "$HERE/node_modules/webgpu" ] || python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$HERE/webgpu.tar.xz" "$HERE"

step vulkan
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$HERE"/gl/libvulkan1_*.deb; do [ -f "$f" ] && dpkg -x "$f" / && echo "unpacked $(basename "$f")"; done
  ldconfig
fi
ldconfig -p | grep -E 'libvulkan|nvidia' | head -20
ls /usr/local/nvidia/lib64 /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | head -40
if ! ldconfig -p | grep -q 'libEGL_nvidia.so.0'; then
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}; done
fi
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
# The nvidia ICD has been seen to work only when it names libEGL_nvidia.so.0 (field notes): try what the driver
# ships, then ICD files naming its EGL and GLX libraries.
for lib in libEGL_nvidia.so.0 libGLX_nvidia.so.0; do
  printf '{"file_format_version":"1.0.1","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$lib" >"/tmp/mq-icd-${lib%%.*}.json"
done
found=
for icd in "" /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /tmp/mq-icd-libEGL_nvidia.json /tmp/mq-icd-libGLX_nvidia.json; do
  [ -n "$icd" ] && [ ! -f "$icd" ] && continue
  [ -n "$icd" ] && echo "ICD $icd: $(cat "$icd" | tr -d '\n' | head -c 300)"
  got=$(cd "$HERE" && env ${icd:+VK_DRIVER_FILES=$icd} timeout 60 node adapter.mjs 2>&1 | grep -v "artificially reduced")
  echo "  -> ${got:-nothing}"
  if echo "$got" | grep -q '"ok":true' && ! echo "$got" | grep -qiE 'llvmpipe|swiftshader|"architecture":"software"'; then
    found=1
    echo "$got" | grep '^{' >"$OUT/adapter.json"
    if [ -n "$icd" ]; then export VK_DRIVER_FILES=$icd; else unset VK_DRIVER_FILES; fi
    break
  fi
done
[ -n "$found" ] || echo "no hardware WebGPU adapter: webgpu will be reported as skipped"

step "bench:node --runs $RUNS --backends webgpu,wasm"
(cd "$HERE" && timeout "${BENCH_TIMEOUT_S:-240}" node bench/node.mjs --json --runs "$RUNS" --backends webgpu,wasm >"$OUT/bench-node.json" 2>"$OUT/bench-node.log")
echo "rc $?"; cat "$OUT/bench-node.log"

# wasm, the reference, at 16,384 positions per step only: about 40 s on one core of an H200 machine.
for backend in webgpu wasm; do
  tokens=${TOKENS_GPU:-8192,16384}; [ "$backend" = wasm ] && tokens=${TOKENS_WASM:-16384}
  step "bench:train --backend $backend --epochs $EPOCHS --data members=$MEMBERS --tokens $tokens"
  (cd "$HERE" && timeout "${TRAIN_TIMEOUT_S:-150}" node bench/train-throughput.mjs --format synthetic --data "members=$MEMBERS" --workers 1 \
    --backend "$backend" --tokens "$tokens" --epochs "$EPOCHS" --json >"$OUT/train-$backend.json" 2>>"$OUT/train.log")
  echo "rc $?"; tail -4 "$OUT/train.log"
done
(cd "$HERE" && node compare-losses.mjs "$OUT/train-wasm.json" "$OUT/train-webgpu.json" | tee "$OUT/train-compare.json")
step done
