#!/usr/bin/env bash
# The browser tests inject axe-core (npm package) into every page. It is installed here, into a
# git-ignored folder, by `make browser` (and so by `make test`), pinned to one version.
set -euo pipefail
. "$(dirname "$0")/npm-pinned.sh"
npm_pinned .browser-deps axe-core "4.14.1" axe.min.js
