# The hub's commands. `make test` is what CI runs (.ci/run).

GO ?= go
PKGS := ./...

.PHONY: run test vet bench build

run:
	$(GO) run ./cmd/hub

build:
	$(GO) build -o hub ./cmd/hub

vet:
	$(GO) vet $(PKGS)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod or go.sum is not tidy (this is what go mod tidy would change):"; $(GO) mod tidy -diff; exit 1; }

test: vet
	$(GO) test -race -timeout 25m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
