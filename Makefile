# Mavio OAuth: `make run` (the whole system, embedded local stack) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-runtime
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run demo test test-fast test-faults test-containers containers bench profile lint format typecheck install install-dev browser rp clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(DEVSTAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)
install-dev: $(DEVSTAMP)

run: $(STAMP)
	$(PY) -m services.stack

demo: $(DEVSTAMP)
	$(PY) -m examples.demo

browser:
	@bash scripts/ensure-chromium.sh
	@bash scripts/ensure-axe.sh

# openid-client (npm, pinned) for the relying-party tests, into the git-ignored .rp-deps/
rp:
	@bash scripts/ensure-rp.sh

test: $(DEVSTAMP) browser rp
	$(PY) -m pytest -q -m "not containers" $(PYTEST_ARGS)

test-fast: $(DEVSTAMP)
	$(PY) -m pytest -q -m "not browser and not containers" $(PYTEST_ARGS)

# podman (installed from Debian's packages when missing, as root), the base image, the wheelhouse,
# the image and .containers/stack.env; each step is skipped when already done.
containers: $(DEVSTAMP)
	@bash scripts/containers/prepare.sh

# Only the fault tests (kill -9 / restarts under load, about 1.5 min; `make test` runs them too).
test-faults: $(DEVSTAMP)
	$(PY) -m pytest -q -m fault tests/faults $(PYTEST_ARGS)

# compose.yaml for real: up, the OAuth flow with Authlib, scaling token, down (tests/containers/).
test-containers: $(DEVSTAMP)
	@bash scripts/containers/test.sh $(PYTEST_ARGS)

bench: $(DEVSTAMP)
	@case "$(BENCH_ARGS)" in *--python-load*|*--no-peer*) ;; *) bash scripts/ensure-wrk.sh ;; esac
	$(PY) -m bench $(BENCH_ARGS)

profile: $(DEVSTAMP)
	$(PY) -m bench.profile $(PROFILE_ARGS)

lint: $(DEVSTAMP)
	$(VENV)/bin/ruff check shared services tests bench examples
	$(VENV)/bin/ruff format --check shared services tests bench examples
	$(VENV)/bin/mypy

format: $(DEVSTAMP)
	$(VENV)/bin/ruff format shared services tests bench examples
	$(VENV)/bin/ruff check --fix shared services tests bench examples

clean:
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache
