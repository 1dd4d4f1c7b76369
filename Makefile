# Thin wrapper over CMake. `make run` and `make test` install what is missing first
# (Debian packages, with apt-get), so both work on a bare Debian 12 machine.

DEBIAN_PACKAGES := cmake make gcc g++ clang libclang-rt-14-dev pkg-config binutils \
                   libjson-c-dev libffi-dev libcmocka-dev libcurl4-openssl-dev libsqlite3-dev sqlite3 \
                   zip unzip python3 busybox-static groff-base postgresql libpq-dev
# `make package ARCH=arm64` needs these on an x86_64 machine, and its test (run by `make test`)
# also qemu-user-static; the host links json-c and libffi (CMakeLists.txt).
ARM64_PACKAGES := gcc-aarch64-linux-gnu libjson-c-dev:arm64 libffi-dev:arm64
ARM64_TEST_PACKAGES := qemu-user-static
# `make memcheck` alone needs these.
MEMCHECK_PACKAGES := valgrind
# `make bench` alone needs these (the peers it compares against); `make test` does not.
BENCH_PACKAGES := nodejs npm python3 libsimdjson-dev g++ valgrind libcurl4-openssl-dev busybox-static zip \
	python3-psycopg2
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: all deps deps-arm64 deps-arm64-test build build-arm64 run package install test test-gcc test-clang test-release memcheck fuzz bench bench-deps clean

all: build

# $(call install_missing,PACKAGES): apt-get installs those of PACKAGES that dpkg does not list
# as installed. A NAME:arm64 among them first adds Debian's arm64 architecture to dpkg (the
# sources are not touched: Debian's serve every architecture); --no-remove, so that an arm64
# library can never take an installed package away.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  case "$$missing" in *:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || \
	    { echo "dpkg --add-architecture arm64"; $(SUDO) dpkg --add-architecture arm64; };; esac; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-remove $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEBIAN_PACKAGES))

# What `make package ARCH=arm64` needs to cross-build: Debian's cross compiler and the arm64
# builds of the libraries the host links.
deps-arm64: deps
	$(call install_missing,$(ARM64_PACKAGES))

# The same and qemu, with which the arm64 package's test (make test) runs it.
deps-arm64-test: deps
	$(call install_missing,$(ARM64_PACKAGES) $(ARM64_TEST_PACKAGES))

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDDB_TESTS=OFF >/dev/null
	cmake --build build -j $(JOBS)

run: build
	@echo "== ddbhost --invoke build/examples/count.so examples/events/orders.json"
	@build/bin/ddbhost --invoke build/examples/count.so examples/events/orders.json
	@echo "== ddbhost --manifest examples/manifest.json --invoke examples/events/orders.json"
	@build/bin/ddbhost --manifest examples/manifest.json --invoke examples/events/orders.json

# build/function.zip, the Lambda deployment package (provided.al2023) for MANIFEST: the host,
# the manifest, its plugins and every library they load; see docs/DEPLOY.md. ARCH is the
# function's architecture, this machine's by default. ARCH=arm64 on x86_64 cross-builds the
# tree into build-arm64/ and packages that host, with every plugin or library the manifest
# names under build/ taken from the same place under build-arm64/ (docs/DEPLOY.md, "arm64").
MANIFEST ?= examples/manifest.json
MACHINE_ARCH := $(shell uname -m | sed -e 's/^aarch64$$/arm64/')
# Only from the command line: an ARCH in the environment (kernel builds set one, to other
# values) must not change what `make package` does.
ifneq ($(origin ARCH),command line)
ARCH := $(MACHINE_ARCH)
endif
ifeq ($(ARCH),$(MACHINE_ARCH))
package: build
	host/tools/package.sh build/bin/ddbhost $(MANIFEST) build/function.zip
else ifeq ($(ARCH)-$(MACHINE_ARCH),arm64-x86_64)
package: build-arm64
	host/tools/package.sh --build-map $(CURDIR)/build=$(CURDIR)/build-arm64 \
	  build-arm64/bin/ddbhost $(MANIFEST) build/function.zip
else ifeq ($(filter x86_64 arm64,$(ARCH)),)
package:
	@echo "make package: error: ARCH=$(ARCH): Lambda runs x86_64 and arm64 only" >&2
	@exit 2
else
package:
	@echo "make package: error: ARCH=$(ARCH): only arm64 is cross-built, on x86_64; this is $(MACHINE_ARCH)" >&2
	@echo "hint: package for $(ARCH) on an $(ARCH) machine" >&2
	@exit 2
endif

# The whole tree, Release, cross-compiled for arm64 with Debian's gcc-aarch64-linux-gnu.
build-arm64: deps-arm64
	cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	  -DCMAKE_BUILD_TYPE=Release -DDDB_TESTS=OFF >/dev/null
	cmake --build build-arm64 -j $(JOBS)

# Installs under PREFIX: bin/ddbhost, include/ddb/plugin.h, the pkg-config file and CMake
# package for building plugins, the shipped plugins (lib/ddbhost/plugins/) and the man page.
# DESTDIR is honoured (make install DESTDIR=/tmp/stage).
PREFIX ?= /usr/local
install: build
	cmake --install build --prefix $(PREFIX)

# Every test, under AddressSanitizer + UndefinedBehaviorSanitizer, built with gcc and with
# clang (which also builds the fuzz targets and runs each briefly), then once more as a user
# or packager builds it: Release, no sanitizers, tests on.
test: deps $(if $(filter x86_64,$(MACHINE_ARCH)),deps-arm64-test) test-gcc test-clang test-release

# The memory budget (memory_rss) and the deployment package run a host built without
# sanitizers whatever the build, so the sanitized builds would only repeat them on a Debug
# host: they run in Release, on the host a user gets. gcc keeps the package test for its
# one check of a sanitized build (package.sh refuses it).
UNSANITIZED_HOST_TESTS := ^(memory_rss|package_.*)$$

test-gcc:
	CC=gcc cmake -S . -B build-gcc -DCMAKE_BUILD_TYPE=Debug -DDDB_SANITIZE=ON >/dev/null
	cmake --build build-gcc -j $(JOBS)
	cd build-gcc && ctest --output-on-failure -j $(JOBS) -E '^memory_rss$$'

test-clang:
	CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Debug -DDDB_SANITIZE=ON -DDDB_FUZZ=ON >/dev/null
	cmake --build build-clang -j $(JOBS)
	cd build-clang && ctest --output-on-failure -j $(JOBS) -E '$(UNSANITIZED_HOST_TESTS)'

test-release:
	CC=gcc cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DDDB_SANITIZE=OFF -DDDB_FUZZ=OFF -DDDB_TESTS=ON >/dev/null
	cmake --build build-release -j $(JOBS)
	cd build-release && ctest --output-on-failure -j $(JOBS)

# The end-to-end tests (the CLI, the conformance corpus, the loader's refusals, the runtime)
# with every ddbhost they start run under valgrind memcheck, in a build without sanitizers
# (valgrind cannot run them). Any memcheck error or definitely lost block makes that run exit
# 99, which fails its test; each run's report is kept in build-memcheck/memcheck/.
MEMCHECK_TESTS ?= ^(cli.*|conformance.*|abi_fixtures|runtime|bind|scaffold_event)$$
# Only definite leaks are shown: the dynamic loader's own blocks are "possibly lost" after
# dlclose. A run that shows anything fails, even if its test passed.
MEMCHECK_VALGRIND := valgrind -q --tool=memcheck --leak-check=full --show-leak-kinds=definite \
                     --errors-for-leak-kinds=definite --error-exitcode=99 --keep-debuginfo=yes \
                     --log-file=$(CURDIR)/build-memcheck/memcheck/%p.log
memcheck: deps
	$(call install_missing,$(MEMCHECK_PACKAGES))
	CC=gcc cmake -S . -B build-memcheck -DCMAKE_BUILD_TYPE=Debug -DDDB_SANITIZE=OFF -DDDB_FUZZ=OFF >/dev/null
	cmake --build build-memcheck -j $(JOBS)
	rm -rf build-memcheck/memcheck && mkdir -p build-memcheck/memcheck
	@echo "ctest -R '$(MEMCHECK_TESTS)' with DDB_HOST_WRAPPER=\"$(MEMCHECK_VALGRIND)\""
	@(cd build-memcheck && DDB_HOST_WRAPPER="$(MEMCHECK_VALGRIND)" \
	  ctest --output-on-failure -j $(JOBS) -R '$(MEMCHECK_TESTS)'); status=$$?; \
	reports=$$(find build-memcheck/memcheck -name '*.log' -size +0 | sort); \
	runs=$$(ls build-memcheck/memcheck | wc -l); \
	for f in $$reports; do echo "== $$f"; cat $$f; done; \
	if [ -n "$$reports" ]; then \
	  echo "memcheck: $$(echo "$$reports" | wc -l) of $$runs ddbhost runs reported errors or leaks"; \
	  exit 1; \
	fi; \
	if [ $$runs -eq 0 ]; then echo "memcheck: no ddbhost ran under valgrind"; exit 1; fi; \
	if [ $$status -ne 0 ]; then echo "memcheck: tests failed under valgrind"; exit $$status; fi; \
	echo "memcheck: $$runs ddbhost runs, no errors, no definite leaks"

FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDDB_SANITIZE=ON -DDDB_FUZZ=ON -DDDB_TESTS=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# Node, Python and the tools are taken as present when their command is on PATH, whichever
# package brought them; the node peers' npm dependencies are installed when package.json changes.
bench-deps: deps
	@missing=""; for p in $(BENCH_PACKAGES); do \
	  case $$p in nodejs) cmd=node;; npm|python3|g++|valgrind) cmd=$$p;; *) cmd="";; esac; \
	  if [ -n "$$cmd" ] && command -v $$cmd >/dev/null 2>&1; then continue; fi; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi
	@if [ -f bench/peers/node/package.json ] && \
	  ! [ bench/peers/node/node_modules/.package-lock.json -nt bench/peers/node/package.json ]; then \
	  echo "npm install --prefix bench/peers/node"; \
	  npm install --prefix bench/peers/node --no-audit --no-fund --loglevel=error; \
	fi

# Measures ddbhost against its peers on generated events; prints the table and writes it to
# bench/RESULTS.md. Reports numbers, never fails on time (see bench/README.md).
bench: bench-deps
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DDDB_TESTS=OFF -DDDB_BENCH_PEERS=ON >/dev/null
	cmake --build build-bench -j $(JOBS)
	python3 bench/run.py build-bench

clean:
	rm -rf build build-arm64 build-gcc build-clang build-release build-fuzz build-bench build-memcheck
