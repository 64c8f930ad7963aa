# statbox: the whole Graphite pipeline in one binary.
# `make run` starts the appliance on its embedded defaults with data in ./data;
# `make test` installs what the tests need (as root) and runs them all.

GO       ?= go
BIN      := bin/statbox
FUZZTIME ?= 5s
# Each fuzz target runs alone (go test -fuzz takes one at a time): package:target.
FUZZ     := ./storage/whisper:FuzzParseHeader ./storage/whisper:FuzzUpdateFetch \
            ./hotpath/carbon:FuzzStream ./hotpath/carbon:FuzzScanName ./hotpath/pickle:FuzzDecode \
            ./kernel/proc:FuzzProcFiles ./render/graph:FuzzRender \
            ./render/expr:FuzzParse ./render:FuzzRender ./hotpath/statsd:FuzzPacket

.PHONY: build run test deps deps-graphite-web deps-ebpf deps-statsd vet fuzz fuzz-save bench bench-whisper bench-carbon bench-ebpf bench-statsd generate ebpf-vmlinux clean \
        image image-test deps-image ebpf-test-image-kernel

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
deps: deps-graphite-web deps-ebpf deps-statsd
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

# etsy statsd 0.9.0, the reference of hotpath/statsd's conformance test and
# of bench-statsd, from npm into the git-ignored .deps/statsd (node from Debian).
deps-statsd:
	@if [ ! -f .deps/statsd/node_modules/statsd/stats.js ] || ! command -v node >/dev/null; then \
	  if ! command -v npm >/dev/null; then \
	    if [ "$$(id -u)" = 0 ]; then \
	      echo "installing nodejs and npm"; \
	      apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq nodejs npm >/dev/null || exit 1; \
	    else echo "node and npm are missing and installing them needs root"; exit 0; fi; \
	  fi; \
	  echo "installing etsy statsd 0.9.0 into .deps/statsd"; \
	  mkdir -p .deps/statsd && npm install --prefix .deps/statsd --no-audit --no-fund --ignore-scripts --silent statsd@0.9.0 || exit 1; \
	fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test: deps vet
	@$(MAKE) --no-print-directory deps-image || [ "$(CI)" != true ]
	$(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory image-test
	@$(MAKE) --no-print-directory ebpf-test-image-kernel

# A run that ends in a bare "context deadline exceeded", with no failing
# input written, is go1.26's fuzz coordinator racing its own -fuzztime
# deadline on a loaded machine (https://go.dev/issue/75804, fixed in 1.27),
# not a finding: that target runs once more.
fuzz:
	@for t in $(FUZZ); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  for try in 1 2; do \
	    echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
	    out=$$($(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1); rc=$$?; \
	    echo "$$out" | tail -n 20; \
	    [ $$rc = 0 ] && break; \
	    if [ $$try = 1 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
	      echo "fuzz $$pkg $$name: go's fuzztime deadline race (go.dev/issue/75804), running it again"; continue; \
	    fi; \
	    exit 1; \
	  done; \
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

bench: bench-whisper bench-carbon bench-find bench-statsd

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

# statsd over loopback UDP, statbox and etsy statsd 0.9.0 side by side, each
# server pinned to core 0 and the sender to core 1, plus the parser's and the
# aggregation's Go benchmarks (CPU time per line) and memory per key: about 10 minutes.
bench-statsd: deps-statsd
	$(GO) test -run='^$$' -bench='Parse|Shard|Memory1M' -benchtime=2s ./hotpath/statsd
	./bench/statsd.sh

# What the eBPF probes add to each system call (getpid, read; probes off and
# on in alternating rounds), a collection round, and the probes' share of a
# core over three 10 s intervals: about 3 minutes.
bench-ebpf:
	$(GO) test -run '^$$' -bench 'SyscallProbe' -benchtime 1000000x -count 5 ./kernel/ebpf
	$(GO) test -run '^$$' -bench 'Collect$$' -count 5 ./kernel/ebpf
	$(GO) test -run '^$$' -bench 'ProbeCPU' -benchtime 3x -v ./kernel/ebpf

# clang and llvm-strip build kernel/ebpf's objects (bpf2go), bpftool dumps
# vmlinux.h, and iproute2's ip makes the network namespaces of its tests:
# from Debian's packages. The lock timeout waits out another apt.
deps-ebpf:
	@if ! command -v clang >/dev/null || ! command -v llvm-strip >/dev/null || \
	    ! command -v bpftool >/dev/null || ! command -v ip >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing clang, llvm, bpftool, libbpf-dev and iproute2"; \
	    apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq clang llvm bpftool libbpf-dev iproute2 >/dev/null; \
	  else echo "clang, llvm, bpftool or iproute2 is missing and installing them needs root"; fi; \
	fi

# Rebuilds the generated files, the eBPF objects among them, and records
# what those were built from (kernel/ebpf/generated.sum), which
# kernel/ebpf's TestGenerated checks so that make test fails on stale ones.
generate: deps-ebpf
	$(GO) generate ./...
	$(GO) test -count=1 -run '^TestGenerated$$' ./kernel/ebpf -args -update-sum

# The kernel types the eBPF programs are compiled against, from this
# machine's BTF: CO-RE relocates them on every other kernel, so this is
# needed only for a type that the checked-in vmlinux.h lacks.
ebpf-vmlinux: deps-ebpf
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > kernel/ebpf/headers/vmlinux.h

clean:
	rm -rf bin images/out

# The flashable appliance image (images/README.md): Debian 12's kernel
# package, statbox and statbox-init in the initramfs, a unified kernel image
# on the EFI system partition, an ext4 data partition. No root needed to
# build; the same commit gives the same bytes.
IMAGE       := images/out/statbox.img
IMAGE_CACHE ?= images/out/cache
IMAGE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_GO    := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags='-s -w -buildid='
# The image test sends statsd traffic and requires it back (require); auto
# sends it only when the build has a statsd listener.
IMAGE_TEST_STATSD ?= require

image: deps-image
	@mkdir -p images/out
	$(IMAGE_GO) -o images/out/statbox ./cmd/statbox
	$(IMAGE_GO) -o images/out/statbox-init ./cmd/statbox-init
	SOURCE_DATE_EPOCH=$(IMAGE_EPOCH) $(GO) run ./images/mkimage -kernel $(IMAGE_CACHE)/kernel \
	  -statbox images/out/statbox -init images/out/statbox-init \
	  -esp images/esp -schemas storage/schema/defaults \
	  -version "$$(git describe --always --dirty 2>/dev/null || echo dev)" -o $(IMAGE)

# Boots the image under qemu (software emulation, OVMF) and tests it:
# images/imagetest_test.go. Bounded: it fails, never hangs. Without root to
# install the tools it skips, unless CI=true.
image-test:
	@if ! $(MAKE) --no-print-directory deps-image; then \
	  if [ "$(CI)" = true ]; then echo "image-test: deps-image failed (CI=true)"; exit 1; fi; \
	  echo "image-test: SKIPPED, qemu and the image tools are missing (make deps-image as root)"; exit 0; \
	fi; \
	$(MAKE) --no-print-directory image && \
	STATBOX_IMAGE=$(CURDIR)/$(IMAGE) STATBOX_IMAGE_STATSD=$(IMAGE_TEST_STATSD) \
	  timeout 600 $(GO) test -count=1 -v -timeout 480s -run TestImage ./images/

# kernel/ebpf's tests on the image's kernel (Debian 12's 6.1), booted
# directly under qemu (images/ebpfvm): its verifier is older than a
# development machine's. Skipped like image-test when the tools are missing.
ebpf-test-image-kernel:
	@if ! $(MAKE) --no-print-directory deps-image; then \
	  if [ "$(CI)" = true ]; then echo "ebpf-test-image-kernel: deps-image failed (CI=true)"; exit 1; fi; \
	  echo "ebpf-test-image-kernel: SKIPPED, qemu and the image tools are missing (make deps-image as root)"; exit 0; \
	fi; \
	mkdir -p images/out && \
	CGO_ENABLED=0 $(GO) test -c -o images/out/ebpf.test ./kernel/ebpf && \
	CGO_ENABLED=0 $(GO) build -o images/out/ebpfvm ./images/ebpfvm && \
	for try in 1 2; do \
	  timeout 260 images/out/ebpfvm -kernel $(IMAGE_CACHE)/kernel -test images/out/ebpf.test -timeout 240s && exit 0; \
	  [ $$try = 1 ] && echo "ebpf-test-image-kernel: the guest failed or hung (seen once: a soft lockup of ebpf.test's exit after PASS under TCG), running it again"; \
	done; exit 1

# What the image build and test need from Debian: qemu and OVMF, the FAT,
# ext4 and GPT tools, objcopy and systemd's EFI stub, and the kernel
# package, downloaded (not installed) and extracted into $(IMAGE_CACHE).
IMAGE_TOOLS := qemu-system-x86_64:qemu-system-x86 /usr/share/OVMF/OVMF_CODE.fd:ovmf mcopy:mtools \
               mkfs.vfat:dosfstools mke2fs:e2fsprogs debugfs:e2fsprogs e2fsck:e2fsprogs sfdisk:fdisk \
               objcopy:binutils /usr/lib/systemd/boot/efi/linuxx64.efi.stub:systemd-boot-efi
deps-image:
	@missing=; for t in $(IMAGE_TOOLS); do \
	  f=$${t%%:*}; pkg=$${t##*:}; \
	  if [ "$${f#/}" = "$$f" ]; then command -v $$f >/dev/null || PATH=$$PATH:/usr/sbin:/sbin command -v $$f >/dev/null || missing="$$missing $$pkg"; \
	  else [ -e $$f ] || missing="$$missing $$pkg"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "deps-image: missing$$missing; installing them needs root"; exit 1; fi; \
	  echo "deps-image: installing$$missing"; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
	@if ! ls $(IMAGE_CACHE)/kernel/boot/vmlinuz-* >/dev/null 2>&1; then \
	  echo "deps-image: downloading Debian's linux-image-amd64 into $(IMAGE_CACHE)"; \
	  rm -rf $(IMAGE_CACHE) && mkdir -p $(IMAGE_CACHE)/kernel && cd $(IMAGE_CACHE) && \
	  chmod 777 . && apt-get -o DPkg::Lock::Timeout=600 download linux-image-amd64 && \
	  dep=$$(dpkg-deb -f linux-image-amd64_*.deb Depends | grep -o 'linux-image-[0-9][^ ]*-amd64' | head -1) && \
	  apt-get -o DPkg::Lock::Timeout=600 download $$dep && \
	  dpkg-deb -x $${dep}_*.deb kernel && rm -f *.deb; \
	fi
