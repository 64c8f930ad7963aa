# statbox: the whole Graphite pipeline in one binary.
# `make run` starts the appliance on its embedded defaults with data in ./data;
# `make test` installs what the tests need (as root) and runs them all.

GO       ?= go
BIN      := bin/statbox
FUZZTIME ?= 5s
# Each fuzz target runs alone (go test -fuzz takes one at a time): package:target.
FUZZ     := ./storage/whisper:FuzzParseHeader ./storage/whisper:FuzzUpdateFetch \
            ./hotpath/carbon:FuzzStream ./hotpath/pickle:FuzzDecode \
            ./kernel/proc:FuzzProcFiles ./render/graph:FuzzRender \
            ./render/expr:FuzzParse ./render:FuzzRender

.PHONY: build run test deps deps-graphite-web vet fuzz fuzz-save bench bench-whisper bench-carbon generate clean

build:
	$(GO) build -o $(BIN) ./cmd/statbox

run: build
	./$(BIN) run --data ./data

# The reference implementations the tests compare with, from Debian's
# packages: whisper.py and carbon (whose receivers the hotpath tests drive).
# Installing graphite-carbon would start its service: policy-rc.d forbids
# that for the install, and its databases are kept on removal.
# As root they are installed; otherwise the tests that need them skip (or fail
# with CI=true).
deps: deps-graphite-web
	@if ! /usr/bin/python3 -c 'import whisper, carbon' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing python3-whisper and graphite-carbon"; \
	    made=; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made=1; fi; \
	    echo 'graphite-carbon graphite-carbon/postrm_remove_databases boolean false' | debconf-set-selections; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-whisper graphite-carbon tzdata >/dev/null; \
	    rc=$$?; [ -n "$$made" ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	  else echo "python3-whisper and graphite-carbon are missing and installing them needs root"; fi; \
	fi

# graphite-web 1.1.8, the reference the render tests ask side by side with
# statbox (render/internal/graphiteweb starts it). It is a Django app run by
# the tests themselves: no web server, no service.
deps-graphite-web:
	@if ! /usr/bin/python3 -c 'import importlib.util as u, sys; sys.exit(u.find_spec("graphite.render.functions") is None)' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing graphite-web"; \
	    apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends graphite-web >/dev/null; \
	  else echo "graphite-web is missing and installing it needs root"; fi; \
	fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test: deps vet
	$(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz

fuzz:
	@for t in $(FUZZ); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

# Keep what fuzzing found: copy go's cached corpus into each package's
# testdata/fuzz, which go test replays as seeds on every run.
fuzz-save:
	@cache=$$($(GO) env GOCACHE)/fuzz/statbox; \
	for t in $(FUZZ); do \
	  pkg=$${t%%:*}; pkg=$${pkg#./}; name=$${t##*:}; \
	  [ -d "$$cache/$$pkg/$$name" ] || continue; \
	  mkdir -p "$$pkg/testdata/fuzz/$$name"; cp -n "$$cache/$$pkg/$$name"/* "$$pkg/testdata/fuzz/$$name/"; \
	done

bench: bench-whisper bench-carbon bench-find

bench-whisper: deps
	./bench/whisper.sh

# Carbon plaintext over TCP, statbox and carbon-cache side by side, each
# server pinned to core 0 and the sender to core 1: 3 to 5 minutes.
bench-carbon: deps
	./bench/carbon.sh

# Metric finds: the index over 1M names in memory, and /metrics/find over
# HTTP on a 100k-file tree, statbox and graphite-web side by side (about 2
# minutes; the tree is kept in STATBOX_BENCH_TREE for the next run).
.PHONY: bench-find
# The index's and the events API's fuzz targets join the list above.
FUZZ += ./storage/index:FuzzFind ./storage/index:FuzzTaggedSeries ./render/events:FuzzParseEvent

bench-find: deps
	$(GO) test -run '^$$' -bench 'Find1M|TaggedSeries|WalkNames1M' -benchtime 20x ./storage/index
	$(GO) test -run '^$$' -bench 'Build1M' -benchtime 3x ./storage/index
	STATBOX_BENCH_TREE=$${STATBOX_BENCH_TREE:-/tmp/statbox-find-tree} $(GO) test -run '^$$' -bench 'FindHTTP' -benchtime 10x ./render/find

generate:
	$(GO) generate ./...

clean:
	rm -rf bin
