# ThorChat — see README.md.
GO        ?= go
BIN       := bin
CONFIG    ?= config.example.toml
PKGS      := ./...
GOFLAGS_T ?= -race -count=1 -timeout 20m

.PHONY: all build test vet fmt-check run demo bench fuzz clean ensure-tor go-chat

all: build

build:
	$(GO) build -o $(BIN)/thorchatd ./cmd/thorchatd
	$(GO) build -o $(BIN)/thorchat ./cmd/thorchat

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The README's test command: vet, gofmt and every test with the race detector.
test: vet fmt-check
	$(GO) test $(GOFLAGS_T) $(PKGS)

# tor is needed for the onion service: install it when we can, else say how.
ensure-tor:
	@if ! command -v tor >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the Debian tor package"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tor; \
	  else \
	    echo "tor is not installed; run: sudo apt-get install -y tor"; exit 1; \
	  fi; \
	fi

# Run the daemon with config.example.toml (the onion service, embedded tor).
run: build ensure-tor
	$(BIN)/thorchatd -config $(CONFIG)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseLine -fuzztime 30s ./ircd/

clean:
	rm -rf $(BIN)
