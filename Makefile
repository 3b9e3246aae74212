# Two commands matter: `make run` (the whole fleet with local defaults) and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
RECETE := target/debug/recete
DEMO_FILE := .recete-demo.json

.PHONY: models services tools build migrate run test lint bench fuzz clean-test-databases sqlx-prepare

## The local embedding model (all-MiniLM-L6-v2) in models/, fetched once and verified.
models:
	bash scripts/models.sh

## Install (if missing) and start PostgreSQL with pgvector and Redis; create the owner and application roles.
services: models
	bash scripts/services.sh

## Pinned test tools from PyPI (schemathesis, standardwebhooks, kubernetes-validate) in
## target/tools; PgBouncer 1.21+ (built from Debian source where the release ships an older one);
## Prometheus and promtool (Debian).
tools:
	bash scripts/tools.sh
	bash scripts/pgbouncer.sh
	bash scripts/install-prometheus.sh

build:
	$(CARGO) build --bin recete

## As the owner role; the application role is granted what serving needs.
migrate: services build
	DATABASE_MIGRATION_URL=$${DATABASE_MIGRATION_URL:-postgres://recete_owner@127.0.0.1:5432/recete} $(RECETE) migrate

## Everything in one process on 127.0.0.1:8080 (API and all workers), then the demo story through
## the API: a demo merchant (made once, kept in .recete-demo.json), its products scraped from the
## API's own demo pages, a delivered Shopify order whose first follow-up lands in the local outbox,
## a customer's question answered with citations and a conversation handed to a person. Running it
## again adds nothing. The closing words say what to look at.
run: migrate
	RECETE__LOG__FORMAT=$${RECETE__LOG__FORMAT:-pretty} $(RECETE) all --demo $(DEMO_FILE)

## The whole suite against the real services, a short run of every fuzz target (FUZZ_SECONDS
## each, 30 by default), ending with one `N passed, N failed` line.
test: services tools
	mkdir -p target && set -o pipefail && $(CARGO) test --workspace --all-targets 2>&1 | tee target/test-output.log
	FUZZ_SECONDS=$${FUZZ_SECONDS:-30} bash scripts/fuzz.sh
	@awk '/^test result:/ { passed += $$4; failed += $$6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' target/test-output.log

## The descriptions of the compile-checked queries (`.sqlx/`), written again against the local
## database once it is migrated: each file holding a query macro is touched so the build expands
## it again with the database at hand. The migration runner itself is built against the database
## as it is, since a new query has no description yet (a query that needs a migration not yet
## applied: run `make migrate` before writing it).
sqlx-prepare: services
	SQLX_OFFLINE=false DATABASE_URL=$${SQLX_DATABASE_URL:-postgres://recete@127.0.0.1:5432/recete} $(CARGO) build --bin recete
	DATABASE_MIGRATION_URL=$${DATABASE_MIGRATION_URL:-postgres://recete_owner@127.0.0.1:5432/recete} $(RECETE) migrate
	rm -rf .sqlx && mkdir .sqlx
	touch $$(grep -rlE 'sqlx::query(_as|_scalar)?!' --include=*.rs api console platform shared messaging privacy analytics jobs workers ops agent knowledge embed llm scrape src)
	SQLX_OFFLINE=false SQLX_OFFLINE_DIR=$(CURDIR)/.sqlx DATABASE_URL=$${SQLX_DATABASE_URL:-postgres://recete@127.0.0.1:5432/recete} $(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Every fuzz target for FUZZ_SECONDS (default 60) each, from the committed corpus (fuzz/README.md).
fuzz:
	bash scripts/fuzz.sh

bench: services
	$(CARGO) build --release --bin recete -p recete -p recete-bench
	target/release/ingest-bench
	target/release/pipeline-bench
	target/release/knowledge-bench --chunks 100000
	target/release/jobs-search-bench --rows 1000000
	target/release/stream-bench
	target/release/order-latency-bench
	target/release/question-latency-bench
	target/release/idle-bench

## Test databases left behind by interrupted runs (normal runs drop their own).
clean-test-databases:
	psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 'DROP DATABASE \"' || datname || '\" WITH (FORCE);' FROM pg_database WHERE datname LIKE 'recete\_test\_%' OR datname LIKE 'recete\_template\_%'" | psql -h 127.0.0.1 -U postgres -d postgres
