# SignalWire conference participants on AWS Lambda.
# `make help` lists the targets. Everything needs only Go (tools come from go.mod's tool entries).

GO        ?= go
GOARCH    ?= arm64
BUILD_DIR ?= .aws-sam/local
EVENT     ?= events/http-api-read.json
FUZZTIME  ?= 30s
# go.mod's toolchain line (a Go with the current security fixes) wins over an
# older local Go; a newer local Go is kept.
export GOTOOLCHAIN = auto
# Offline AWS defaults: the SDK never probes the EC2 metadata address.
export AWS_EC2_METADATA_DISABLED = true
export AWS_ACCESS_KEY_ID         ?= test
export AWS_SECRET_ACCESS_KEY     ?= test
export AWS_REGION                ?= us-east-1

# VERSION is the version the bootstrap reports (User-Agent, init log line)
# when its Go build info has none (GOFLAGS=-buildvcs=false, or sam build
# building from a copy without .git): git describe where there is a
# checkout; empty makes the function say "devel".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LAMBDA_FLAGS = -tags lambda.norpc -trimpath -ldflags='-s -w -X github.com/signalwire-lambda/participants/internal/function.stamped=$(VERSION)'

.PHONY: help build build-ParticipantsFunction test demo invoke lint vuln lint-template samcheck rehearsal bench fuzz clean

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-28s %s\n", $$1, $$2}'

build: ## build bootstrap for linux/$(GOARCH) into $(BUILD_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/bootstrap ./functions/participants

# Called by `sam build` (BuildMethod: makefile) with ARTIFACTS_DIR set: the
# same build into SAM's directory. SAM passes make nothing but ARTIFACTS_DIR
# (aws-lambda-builders' custom_make), so the architecture (template.yaml's
# Architecture parameter after --parameter-overrides) comes from the build
# graph SAM writes before it runs make: <build dir>/../build.toml, the
# "architecture" of the definition whose "functions" list this function.
# No such file or entry: arm64. The shell's GOARCH is ignored here.
SAM_BUILD_GRAPH = $(ARTIFACTS_DIR)/../../build.toml
SAM_ARCHITECTURE := $(if $(ARTIFACTS_DIR),$(shell awk -v fn='"ParticipantsFunction"' ' \
	function done() { if (hit && arch != "") { print arch; hit = 0; exit } hit = 0; arch = "" } \
	/^[ \t]*\[/ { done(); next } \
	/^[ \t]*architecture[ \t]*=/ { arch = $$0; sub(/^[^=]*=[ \t]*"/, "", arch); sub(/".*/, "", arch) } \
	/^[ \t]*functions[ \t]*=/ && index($$0, fn) { hit = 1 } \
	END { done() }' '$(SAM_BUILD_GRAPH)' 2>/dev/null))
build-ParticipantsFunction: BUILD_DIR = $(or $(ARTIFACTS_DIR),$(error ARTIFACTS_DIR is unset: sam build sets it))
build-ParticipantsFunction: GOARCH = $(if $(filter x86_64,$(SAM_ARCHITECTURE)),amd64,arm64)
build-ParticipantsFunction: build
	@echo "build-ParticipantsFunction: linux/$(GOARCH) (Architectures: $(or $(SAM_ARCHITECTURE),arm64; no entry in $(SAM_BUILD_GRAPH)))"

test: ## run every test (the README's test command)
	$(GO) test ./...

demo: ## local run: kumo + SignalWire sandbox + the real bootstrap under the Lambda RIE
	$(GO) run ./cmd/demo

invoke: ## invoke one event file under the RIE against the sandbox: make invoke EVENT=events/direct-read.json
	$(GO) run ./cmd/demo -event $(EVENT)

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

lint-template: ## cfn-lint template.yaml, SAM transform included (pip install cfn-lint); any finding fails
	./scripts/cfn-lint.sh

samcheck: lint-template ## the former name of lint-template

rehearsal: ## deploy rehearsal: SAM transform -> stack in moto_server -> the bootstrap under the RIE with its env (pip install aws-sam-translator "moto[server]")
	$(GO) test -count=1 -v -run TestDeployRehearsal ./test/rehearsal/

vuln: ## govulncheck against a local copy of the Go vulnerability database (offline)
	./scripts/vuln.sh

bench: ## size, cold first response at 0 and 20 ms RTT, warm latency, CPU, RSS, Secrets Manager calls vs a bare peer (same run)
	$(GO) run ./cmd/bench

fuzz: ## run every fuzz target for FUZZTIME each
	./scripts/fuzz.sh $(FUZZTIME)

# What `make build`, `sam build`, the demo and `go build`/`go test -c` of this
# module's commands leave in the repository root (.gitignore's list).
BUILD_OUTPUTS = .aws-sam bin build bootstrap participants bench demo samcheck \
                *.test *.out *.prof *.pprof

clean: ## remove every build output (.gitignore's list)
	rm -rf $(BUILD_OUTPUTS)
