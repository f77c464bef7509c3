#!/usr/bin/env bash
# The base image (mmdebstrap, imported once), the wheelhouse (downloaded on the host when the pins
# change) and the image (podman's layer cache: a code change rebuilds only the last layer).
set -euo pipefail
. "$(dirname "$0")/common.sh"
mkdir -p "$WORK"
if podman image exists "$BASE_IMAGE"; then
  say "base image $BASE_IMAGE already imported"
else
  say "building the base image $BASE_IMAGE from Debian's packages (mmdebstrap)"
  mmdebstrap --quiet --variant=apt --include=python3,python3-venv,ca-certificates bookworm "$WORK/base.tar"
  podman import --quiet "$WORK/base.tar" "$BASE_IMAGE" >/dev/null
  rm -f "$WORK/base.tar"
fi

# Debian's python3 is 3.11.2: redis-py then also needs async-timeout (a marker the host may not meet).
pins="$("$PY" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')
async-timeout>=4.0.3"
if [[ -f "$WORK/wheelhouse/.pins" && "$(cat "$WORK/wheelhouse/.pins")" == "$pins" ]]; then
  say "wheelhouse up to date"
else
  say "downloading the wheelhouse"
  rm -rf "$WORK/wheelhouse" && mkdir -p "$WORK/wheelhouse"
  printf '%s\n' "$pins" > "$WORK/requirements.txt"
  quiet "$PY" -m pip wheel --quiet --disable-pip-version-check -w "$WORK/wheelhouse" -r "$WORK/requirements.txt"
  printf '%s' "$pins" > "$WORK/wheelhouse/.pins"
fi
rm -rf "$WORK/app" && mkdir -p "$WORK/app"
quiet "$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$WORK/app" "$ROOT"
say "building $IMAGE"
quiet podman build --layers --build-arg "BASE=$BASE_IMAGE" -f "$ROOT/deploy/Containerfile" -t "$IMAGE" "$ROOT"
# The image this build replaced, untagged now (the layer cache stays: it is still referenced).
quiet podman image prune --force --filter "label=org.opencontainers.image.title=mavio-oauth"
say "built $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
