# livepulse — the two commands a new machine needs are `make demo` and `make test`.
GO ?= go

.PHONY: demo test setup setup-test build vet bench bench-e2e fuzz grafana-plugin

## demo: the embedded stack in one process — broker, simulator, pipeline, ClickHouse, HTTP.
demo: setup build
	./bin/livepulse demo

## test: everything CI runs (installs kcat, docker-compose and libchdb.so first when missing).
test: setup-test
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

setup:
	./scripts/setup.sh

setup-test:
	./scripts/setup.sh --test

build:
	CGO_ENABLED=1 $(GO) build -o bin/livepulse ./cmd/livepulse

## grafana-plugin: the Grafana datasource plugin's directory (binary, plugin.json, module.js) in
## bin/grafana-plugin, for a Grafana outside docker-compose (which builds its own).
grafana-plugin:
	CGO_ENABLED=0 $(GO) build -o bin/grafana-plugin/gpx_livepulse_$$($(GO) env GOOS)_$$($(GO) env GOARCH) ./cmd/grafana-datasource
	cp -R dashboards/grafana/plugin/. bin/grafana-plugin/

bench: setup
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-e2e: `livepulse bench` — 2M events end to end on the embedded stack, kcat alongside (README "Performance").
bench-e2e: setup-test build
	./bin/livepulse bench --json

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./schemas/
