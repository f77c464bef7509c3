#!/usr/bin/env bash
# Everything compose.yaml needs, each step skipped when already done: the engine, the base image,
# the wheelhouse, the image, the secrets (`make containers`).
set -euo pipefail
here="$(dirname "$0")"
bash "$here/ensure-engine.sh"
bash "$here/build.sh"
bash "$here/env.sh"
