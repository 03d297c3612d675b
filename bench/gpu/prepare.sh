#!/usr/bin/env bash
# Builds a self-contained folder for re-measuring the on-device path (bench:node) and GPU training (bench:train) on a
# GPU server with no npm and no network: the two benches bundled with esbuild (the repo's own encoder, scorer,
# rankers, page code and trainer), the tfjs wasm binaries next to them, the benchmark model, Dawn's Node binding
# (npm `webgpu` 0.6.2, linux-x64 only, not a dependency of the repo) and this machine's Node binary, xz-compressed.
# About 40 MB. Then copy the folder to the GPU machine and run `bash run.sh OUT_DIR` there (README, "Speed on a GPU").
#
# usage: bash bench/gpu/prepare.sh DIR [WEBGPU_TGZ]   (WEBGPU_TGZ: `npm pack webgpu@0.6.2`; fetched when absent)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:?usage: prepare.sh DIR [WEBGPU_TGZ]}
TGZ=${2:-}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
cd "$ROOT"

# The bench model (trained once, about a minute, when bench/.artifacts has none).
node --import tsx -e "import('./bench/bench-model.ts').then((m) => m.ensureBenchModel(console.error))"

rm -rf "$DIR/bench" "$DIR/node_modules"
mkdir -p "$DIR/bench/.artifacts"
# ESM for the benches' top-level await; the banner gives the bundled CommonJS (tfjs) `require` and `__dirname`, by
# which the wasm backend finds its binaries next to the bundle. --ignore-annotations: tfjs-backend-cpu's package
# marks its Node entry side-effect free, so a plain bundle drops the import that registers the backend.
banner='import{createRequire as __mqRequire}from"node:module";import{fileURLToPath as __mqPath}from"node:url";const require=__mqRequire(import.meta.url);const __filename=__mqPath(import.meta.url);const __dirname=__mqPath(new URL(".",import.meta.url));'
node_modules/.bin/esbuild bench/node.ts bench/train-throughput.ts --bundle --platform=node --format=esm --target=node20 \
  --ignore-annotations --log-level=error --outdir="$DIR/bench" --out-extension:.js=.mjs --banner:js="$banner"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$DIR/bench/"
# bench/node.mjs looks for the model where bench/node.ts does, relative to itself: DIR/bench/.artifacts/default.
cp -r bench/.artifacts/default "$DIR/bench/.artifacts/"
cp bench/gpu/run.sh bench/gpu/adapter.mjs bench/gpu/compare-losses.mjs "$DIR/"

# Dawn: only what Linux x64 loads (the package ships every platform's binary).
stage=$(mktemp -d)
if [ -z "$TGZ" ]; then
  (cd "$stage" && npm pack --silent webgpu@0.6.2 >/dev/null)
  TGZ=$(ls "$stage"/webgpu-0.6.2.tgz)
fi
tar -xzf "$TGZ" -C "$stage" package/package.json package/index.js package/dist/linux-x64/dawn.node
mkdir -p "$stage/node_modules" && mv "$stage/package" "$stage/node_modules/webgpu"
tar -C "$stage" -cJf "$DIR/webgpu.tar.xz" node_modules/webgpu
rm -rf "$stage"

# The Vulkan loader (libvulkan.so.1): the GPU image has the driver's ICD but was seen without the loader, and has no
# network to install it. Debian's package, unpacked there by run.sh when the loader is missing.
mkdir -p "$DIR/gl"
if ! ls "$DIR"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  (cd "$DIR/gl" && apt-get download libvulkan1 >/dev/null)
fi

# Node (the GPU image has none): this machine's, which needs only glibc.
if [ ! -f "$DIR/node.xz" ] || [ "$(cat "$DIR/node.version" 2>/dev/null)" != "$(node --version)" ]; then
  xz -T2 -6 -c "$(command -v node)" >"$DIR/node.xz"
  node --version >"$DIR/node.version"
fi
du -sh "$DIR"
