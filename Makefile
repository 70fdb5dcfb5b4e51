# The two commands a user needs: `make local` and `make test`.
SHELL := /bin/bash
GO ?= go
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
FUZZTIME ?= 20s
# Lambda build flags (SAM BuildMethod: makefile calls build-<LogicalId>).
# nethttpomithttp2 leaves net/http's HTTP/2 out (-390 KB per bootstrap): one
# request at a time per environment has nothing to multiplex, and DynamoDB,
# Secrets Manager and Ottu all speak HTTP/1.1 (BENCHMARKS.md).
LAMBDA_GOOS ?= linux
LAMBDA_GOARCH ?= arm64
LAMBDA_TAGS := lambda.norpc,nethttpomithttp2
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) $(GO) build -tags $(LAMBDA_TAGS) -trimpath -ldflags "-s -w"
FUNCTIONS := $(notdir $(wildcard functions/*))

.PHONY: local test deps lint fuzz bench build clean sandbox

## local: the whole stack on this machine (template.yaml deployed to moto's CloudFormation, Ottu sandbox, API and Lambda endpoints on :3000); LOCAL_IAM=enforce makes moto refuse what a function's role does not allow
local: deps
	$(GO) build -o build/local ./cmd/local
	./build/local

## sandbox: the Ottu sandbox alone on :8081
sandbox:
	$(GO) build -o build/ottu-sandbox ./cmd/ottu-sandbox
	./build/ottu-sandbox

## test: every test, against moto's server and the Ottu sandbox (both started by the tests); gotestsum (a tool dependency in go.mod) prints one line per package with tests, the failures, and a summary
test: deps
	$(GO) vet ./...
	cfn-lint template.yaml
	$(GO) tool gotestsum --format pkgname-and-test-fails --format-hide-empty-pkg -- -race -count=1 -timeout 20m ./...

## deps: fail loudly, with the install command, when a tool the tests need is missing
deps:
	@command -v moto_server >/dev/null || { echo 'moto_server is missing: pip install "moto[server]"' >&2; exit 1; }
	@command -v cfn-lint >/dev/null || { echo 'cfn-lint is missing: pip install cfn-lint' >&2; exit 1; }
	@python3 -c 'import samtranslator' 2>/dev/null || { echo 'aws-sam-translator is missing (the local stack translates template.yaml with it): pip install cfn-lint' >&2; exit 1; }
	@command -v openapi-spec-validator >/dev/null || { echo 'openapi-spec-validator is missing: pip install openapi-spec-validator' >&2; exit 1; }

## lint: gofmt, go vet, golangci-lint, cfn-lint
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...
	cfn-lint template.yaml

## fuzz: run each fuzz target for FUZZTIME
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target"; $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## bench: the one report of BENCHMARKS.md (a few minutes, loopback only): CPU per request beside the floor, warm latency, cold starts, memory, bootstrap sizes, AWS requests per path
bench: deps
	$(GO) run -tags $(LAMBDA_TAGS) ./cmd/bench

## bench-micro: the Go benchmarks of bench/*.sh (client, function and webhook overhead with instant stand-ins, bootstrap sizes)
.PHONY: bench-micro
bench-micro:
	@set -e; for s in bench/*.sh; do echo "== $$s"; bash $$s; done

## build: every function's bootstrap for linux/arm64 into build/<name>/
build:
	@set -e; for f in $(FUNCTIONS); do \
	  $(LAMBDA_BUILD) -o build/$$f/bootstrap ./functions/$$f; \
	  printf '%-20s %s bytes\n' $$f $$(stat -c %s build/$$f/bootstrap); \
	done

# SAM: sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR set.
# CaptureFunction -> functions/capture, OperationStatusFunction -> functions/operation-status.
# Without ARTIFACTS_DIR it stops rather than write /bootstrap or guess a
# directory sam would not package; `make build` builds into build/.
build-%Function:
	$(if $(strip $(ARTIFACTS_DIR)),,$(error build-$*Function is for sam build, which sets ARTIFACTS_DIR; it is empty. Run `sam build`, `make build-$*Function ARTIFACTS_DIR=<dir>`, or `make build` for every function into build/))
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$$(echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr '[:upper:]' '[:lower:]')

clean:
	rm -rf build .aws-sam

## chaos: the proof run of RELIABILITY.md (a few minutes, loopback only): 1,200 captures and refunds per Ottu API version under faults, kills and moto pauses; exits 1 on any violation
.PHONY: chaos
chaos:
	@command -v moto_server >/dev/null || { echo 'moto_server is missing: pip install "moto[server]"' >&2; exit 1; }
	$(GO) run ./cmd/chaos -requests 1200 -transactions 200 -versions 2,1 -kills 8 -pauses 4 -pause-for 3s -max-duration 20m
