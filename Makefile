# iwom — `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO      ?= go
BIN     := bin/iwom
LAB_BIN := bin/iwomlab
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
DEMO_DIR ?= .demo
DEMO_COUNT ?= 20000
# SOURCE=gen (default) generates posts in-process; SOURCE=weibo, weibo-mobile,
# wechat-mp, wechat-push or http runs that platform connector against a
# local fake platform serving the same generated posts (iwomlab run: the fake
# platforms are test code, kept out of the production binary).
SOURCE ?= gen
DEMO_SOURCE := $(if $(filter gen,$(SOURCE)),gen,fake:$(SOURCE))
DEMO_RUN    := $(if $(filter gen,$(SOURCE)),$(BIN),$(LAB_BIN))

.PHONY: help build lab test test-unit test-e2e lint vet fmt-check layout-check tidy-check demo demo-broker demo-serve demo-stop clickhouse bench clean fuzz chaos browser screenshot dashboard-assets

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build the production binary bin/iwom (the pipeline and the operator's tools)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/iwom

lab: build ## build bin/iwomlab beside bin/iwom: training, evaluation, benchmarks, fake-platform runs (development only)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(LAB_BIN) ./cmd/iwomlab

clickhouse: ## make sure a ClickHouse answers on localhost:9000 (installs and starts one when missing)
	test/clickhouse.sh start

DASHBOARD_LISTEN ?= 127.0.0.1:8080
DASHBOARD_URL := http://$(DASHBOARD_LISTEN)/\#brand=siemens,cocacola,cmb&range=24h

demo: build $(if $(filter gen,$(SOURCE)),,lab) clickhouse demo-stop ## run the whole pipeline on a generated crisis, print the per-brand table, the alerts and the crisis brand's reports, then serve the dashboard and print its URL
	rm -rf $(DEMO_DIR)
	IWOM_DATA_DIR=$(DEMO_DIR) $(BIN) migrate
	IWOM_DATA_DIR=$(DEMO_DIR) IWOM_LOG_FORMAT=console $(DEMO_RUN) run --source $(DEMO_SOURCE) --count $(DEMO_COUNT) --seed 1 --scenario crisis --drain
	@echo
	@echo "== Posts per brand and sentiment (SELECT … FROM iwom.posts) =="
	@$(BIN) report summary
	@echo
	@$(MAKE) --no-print-directory demo-broker
	@echo "== Alerts that fired (iwom.alerts.>) =="
	@IWOM_DATA_DIR=$(DEMO_DIR) $(BIN) alerts list
	@echo
	@echo "== siemens (the crisis brand): posts per hour and platform, from the rollups (iwom report volume) =="
	@$(BIN) report volume --brand siemens --since 25h --interval hour
	@echo
	@echo "== siemens: sentiment toward the brand per hour (iwom report sentiment) =="
	@$(BIN) report sentiment --brand siemens --since 25h --interval hour
	@echo
	@echo "== siemens: hot words of the last 6 hours against the 6 before, rising first (iwom report keywords) =="
	@$(BIN) report keywords --brand siemens --since 6h --limit 15
	@echo
	@$(MAKE) --no-print-directory demo-serve

demo-broker: build ## start `iwom nats` in the background on the demo's JetStream files (only iwom run and iwom nats own a broker; the other commands and the dashboard's alert stream connect to it)
	@mkdir -p $(DEMO_DIR)
	@if [ -f $(DEMO_DIR)/nats.pid ] && kill -0 $$(cat $(DEMO_DIR)/nats.pid) 2>/dev/null; then exit 0; fi; \
	  IWOM_DATA_DIR=$(DEMO_DIR) nohup $(BIN) nats >$(DEMO_DIR)/nats.log 2>&1 & echo $$! >$(DEMO_DIR)/nats.pid; \
	  for i in $$(seq 1 100); do IWOM_DATA_DIR=$(DEMO_DIR) $(BIN) dlq list >/dev/null 2>&1 && exit 0; sleep 0.2; done; \
	  echo "iwom nats did not start:"; cat $(DEMO_DIR)/nats.log; exit 1

demo-serve: build ## (re)start `iwom serve` in the background on the demo's data (ClickHouse, alerts) and print the dashboard URL
	@$(MAKE) --no-print-directory demo-stop
	@$(MAKE) --no-print-directory demo-broker
	@IWOM_DATA_DIR=$(DEMO_DIR) IWOM_METRICS_LISTEN= nohup $(BIN) serve --listen $(DASHBOARD_LISTEN) >$(DEMO_DIR)/serve.log 2>&1 & echo $$! >$(DEMO_DIR)/serve.pid
	@for i in $$(seq 1 100); do $(BIN) health --url http://$(DASHBOARD_LISTEN)/readyz --timeout 1s >/dev/null 2>&1 && break; \
	  if ! kill -0 $$(cat $(DEMO_DIR)/serve.pid) 2>/dev/null; then echo "iwom serve stopped:"; cat $(DEMO_DIR)/serve.log; exit 1; fi; sleep 0.2; done
	@echo "== Dashboard: $(DASHBOARD_URL) =="
	@echo "   (iwom serve runs in the background, pid $$(cat $(DEMO_DIR)/serve.pid), log $(DEMO_DIR)/serve.log; stop it with: make demo-stop)"

demo-stop: ## stop the dashboard server and the broker `make demo` left running
	@for p in serve nats; do if [ -f $(DEMO_DIR)/$$p.pid ]; then kill $$(cat $(DEMO_DIR)/$$p.pid) 2>/dev/null || true; rm -f $(DEMO_DIR)/$$p.pid; sleep 0.5; fi; done

ARTIFACTS ?= $(CURDIR)/test-output
test: vet fmt-check layout-check ## install/start what the tests need, then run every test with the race detector
	test/clickhouse.sh install
	test/browser.sh install
	mkdir -p $(ARTIFACTS)
	$(GO) test -race -shuffle=on -count=1 -timeout 40m -artifacts -outputdir $(ARTIFACTS) ./...
	@echo "dashboard screenshot: $$(find $(ARTIFACTS) -name dashboard.png | head -1)"
	# the race detector makes training ~10x slower, so the sentiment targets
	# and the model's reproducibility are checked in a normal build
	$(GO) test -count=1 -run 'Train|HeldOut|Reproduc|Target' ./analyzers/sentiment/ ./analyzers/enrich/
	$(GO) test -run '^$$' -bench . -benchtime=1x ./analyzers/... ./pipeline/... ./sinks/... >/dev/null
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# A count, not a duration: with -fuzztime <duration> Go's fuzz coordinator
# can fail with "context deadline exceeded" at the deadline on a loaded
# machine without having found anything (golang/go#51484); a count of
# executions has no deadline to race.
FUZZTIME ?= 50000x
fuzz: ## run every Go fuzz target (parsers meeting the outside world) for FUZZTIME executions each
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for t in $$(grep -h '^func Fuzz' $$f/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$f $$t"; out=$$(mktemp); \
	    if ! $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$f >$$out 2>&1; then \
	      tail -n 40 $$out; rm -f $$out; exit 1; \
	    fi; rm -f $$out; \
	  done; \
	done

browser: ## install headless Chromium and the Noto CJK font (Debian) for the dashboard's browser test
	test/browser.sh install

screenshot: browser ## run the dashboard's browser test and save its screenshot as docs/dashboard.png (the README's)
	IWOM_SCREENSHOT=$(CURDIR)/docs/dashboard.png $(GO) test -count=1 -run 'TestDashboardInBrowser' ./test/

dashboard-assets: ## install ECharts from the npm registry (pipeline/dashboard/package-lock.json) and copy its bundles into static/vendor
	pipeline/dashboard/build-assets.sh

chaos: ## the fault matrix alone (also part of make test), printing the table of cases
	$(GO) test -count=1 -run 'TestChaos' -v ./test/ 2>&1 | grep -E '^(---|ok|FAIL)|^\| '

test-unit: ## unit tests only (no ClickHouse needed)
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test)

vet: ## go vet
	$(GO) vet ./...

fmt-check: ## fail when gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

layout-check: ## fail when the layout's rules break: no test code in the binary, analyzers/ a library, stages without NATS, a short README
	@fail=0; \
	if grep -rn '"github.com/iwom/iwom/test/' --include=*.go cmd/iwom cmd/internal pipeline sinks analyzers | grep -v _test.go; then echo "test code in the production packages"; fail=1; fi; \
	if grep -rn '"github.com/iwom/iwom/pipeline/' --include=*.go analyzers | grep -v _test.go | grep -v 'pipeline/post"'; then echo "analyzers/ imports pipeline/"; fail=1; fi; \
	if grep -rln 'nats.go/jetstream' --include=*.go analyzers sinks pipeline/alerts pipeline/enrich | grep -v _test.go | grep -v '^pipeline/alerts/alertsrun/'; then echo "NATS outside the alert runtime"; fail=1; fi; \
	if [ $$(wc -l < README.md) -gt 250 ]; then echo "README.md is over 250 lines"; fail=1; fi; \
	exit $$fail

tidy-check: ## fail when go mod tidy would change go.mod/go.sum
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

bench: ## micro-benchmarks of the analyzers
	$(GO) test -run '^$$' -bench . -benchmem ./analyzers/...

clean: ## remove build output and demo data
	rm -rf bin $(DEMO_DIR)
