#!/usr/bin/env bash
# The relying-party tests (tests/e2e/test_oidc_relying_parties.py) drive openid-client, unmodified,
# from a small Node script. It is installed here, into a git-ignored folder, by `make rp` (and so by
# `make test`), pinned to one version.
set -euo pipefail
. "$(dirname "$0")/npm-pinned.sh"
npm_pinned .rp-deps openid-client "6.9.1" build/index.js
