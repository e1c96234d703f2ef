# ThorChat — see README.md.
GO        ?= go
BIN       := bin
CONFIG    ?= config.example.toml
PKGS      := ./...
GOFLAGS_T ?= -race -count=1 -timeout 20m
# go.mod names the Go patch release the project is built and tested with; the
# go command fetches that toolchain through the module proxy when it is missing.
export GOTOOLCHAIN := auto

.PHONY: all build test vet fmt-check cross run demo bench fuzz clean ensure-tor go-chat load

all: build

build:
	$(GO) build -o $(BIN)/thorchatd ./cmd/thorchatd
	$(GO) build -o $(BIN)/thorchat ./cmd/thorchat

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The IRC core (ircd and the packages it imports) builds, tests included, on
# every OS Go supports for servers; vet type-checks without running anything.
CROSS_OS := linux/amd64 freebsd/amd64 openbsd/amd64 netbsd/amd64 darwin/arm64 \
	dragonfly/amd64 illumos/amd64 solaris/amd64 aix/ppc64 windows/amd64
cross:
	@for p in $(CROSS_OS); do \
	  echo "vet ./ircd/ on $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./ircd/ ./proxyproto/ ./record/ ./sasl/framing/ || exit 1; \
	done

# The README's test command: vet, gofmt, the cross-builds and every test with
# the race detector.
test: vet fmt-check cross
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

# A private Tor network on this machine (torsvc/tortest), thorchatd joined to
# it with only its onion listener, and the lines that connect weechat or irssi
# through the network's SOCKS port (docs/tor.md). Ctrl-C stops it all.
demo: build ensure-tor
	$(GO) build -o $(BIN)/thorchat-demo ./cmd/thorchat-demo
	$(BIN)/thorchat-demo -thorchatd $(BIN)/thorchatd

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./...

# make load: the load tool (cmd/thorchat-load) against a throw-away daemon,
# each pinned to its own core; the login scenario gives both the two cores
# and logs in over the daemon's unix socket (scripts/bench.sh,
# docs/performance.md). LOAD_ARGS passes flags, e.g.
# LOAD_ARGS='-scenario flood' or LOAD_ARGS='-scenario login'.
load: build
	scripts/bench.sh $(LOAD_ARGS)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseLine -fuzztime 30s ./ircd/

# make go-chat: log in with the node key (KEY=FILE or SIGN_CMD='CMD') over
# Tor and enrol device credentials for stock clients, then print their
# set-up: a P-256 key for weechat (WEECHAT_KEY=PATH, created if missing)
# and/or a PLAIN token for irssi and bots (TOKEN=LABEL). Without either, a
# weechat key at ~/.config/thorchat/weechat.pem. ONION defaults to the
# address of $(CONFIG)'s onion key; SOCKS= (empty) dials directly.
# Optional: NICK=, LABEL= (device key label), TTL= (e.g. 30d), ONION_PORT=.
SOCKS      ?= 127.0.0.1:9050
ONION_PORT ?= 6667
go_chat_sq = '$(subst ','\'',$(1))'
go-chat:
	$(GO) build -o $(BIN)/thorchat ./cmd/thorchat
	@set -e; \
	onion=$(call go_chat_sq,$(value ONION)); \
	if [ -z "$$onion" ]; then \
	  $(GO) build -o $(BIN)/thorchatd ./cmd/thorchatd; \
	  onion=$$($(BIN)/thorchatd onion -config $(call go_chat_sq,$(CONFIG))); \
	fi; \
	set -- -addr "$$onion:$(ONION_PORT)"; \
	key=$(call go_chat_sq,$(value KEY)); sign=$(call go_chat_sq,$(value SIGN_CMD)); \
	if [ -n "$$key" ]; then set -- "$$@" -key "$$key"; fi; \
	if [ -n "$$sign" ]; then set -- "$$@" -sign-cmd "$$sign"; fi; \
	socks=$(call go_chat_sq,$(value SOCKS)); \
	if [ -n "$$socks" ]; then set -- "$$@" -socks "$$socks"; fi; \
	wkey=$(call go_chat_sq,$(value WEECHAT_KEY)); token=$(call go_chat_sq,$(value TOKEN)); \
	if [ -z "$$wkey" ] && [ -z "$$token" ]; then \
	  mkdir -p -m 700 "$$HOME/.config/thorchat"; wkey="$$HOME/.config/thorchat/weechat.pem"; \
	fi; \
	if [ -n "$$wkey" ]; then set -- "$$@" -weechat-key "$$wkey"; fi; \
	if [ -n "$$token" ]; then set -- "$$@" -token "$$token"; fi; \
	v=$(call go_chat_sq,$(value NICK)); if [ -n "$$v" ]; then set -- "$$@" -nick "$$v"; fi; \
	v=$(call go_chat_sq,$(value LABEL)); if [ -n "$$v" ]; then set -- "$$@" -label "$$v"; fi; \
	v=$(call go_chat_sq,$(value TTL)); if [ -n "$$v" ]; then set -- "$$@" -ttl "$$v"; fi; \
	exec $(BIN)/thorchat enroll "$$@"

clean:
	rm -rf $(BIN)
