# Arbiter: build, run, test, benchmark. Everything is here; nothing hidden.
#   make          build ./arbiter
#   make run      install what is missing, build, serve on 127.0.0.1:8080 (./data/arbiter.db)
#   make check    install what tests need, build, run every test (also under ASan+UBSan)
#   make bench    benchmarks (not part of check)

CC      ?= cc
WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Werror
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -Ibuild
LDLIBS  := -lcivetweb -lsqlite3 -ljansson -lsodium -lcmark-gfm -lcmark-gfm-extensions -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Hardening of the real binary (the ASan build checks more, its own way):
# bounds-checked libc calls where sizes are known, stack canaries, a
# position-independent executable, and a read-only GOT after start (full
# RELRO). tests/http/test_cli.py checks the binary has each.
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now

DEB_BUILD := gcc make libc6-dev libcivetweb-dev libsqlite3-dev libjansson-dev libsodium-dev libcmark-gfm-dev libcmark-gfm-extensions-dev
DEB_TEST  := python3 sqlite3 curl
DEB_BENCH := wrk python3 sqlite3 curl
DEB_BROWSER := chromium firefox-esr
DEB_FUZZ  := clang libclang-rt-14-dev
DEB_LINT  := clang clang-format clang-tools cppcheck python3
FORMATTED := src/*.c src/*.h tests/unit/*.c tests/unit/*.h fuzz/*.c fuzz/*.h bench/bare.c

SRC     := $(filter-out src/embed.c,$(wildcard src/*.c))
OBJ     := $(patsubst src/%.c,build/%.o,$(SRC)) build/assets_data.o
ASAN_OBJ:= $(patsubst src/%.c,build/asan/%.o,$(SRC)) build/asan/assets_data.o
LIB_OBJ := $(filter-out build/main.o build/conncap.o,$(OBJ))
ASAN_LIB:= $(filter-out build/asan/main.o build/asan/conncap.o,$(ASAN_OBJ))
ASSETS  := $(sort $(shell find web templates static schema -type f ! -name '.*' 2>/dev/null))
UNIT    := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

# libFuzzer targets (fuzz/README.md): the library built again by clang with
# ASan+UBSan and coverage; make fuzz runs each FUZZ_SECONDS, make check
# FUZZ_SMOKE seconds.
FUZZ_CC     := clang
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Isrc -Ibuild -Ifuzz -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_OBJ    := $(patsubst src/%.c,build/fuzz/%.o,$(filter-out src/main.c src/conncap.c,$(SRC))) build/fuzz/assets_data.o
FUZZ        := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_SMOKE  ?= 3
.SECONDARY: $(FUZZ_OBJ)

.PHONY: all run check deps deps-test deps-browser deps-bench deps-fuzz unit asan bench clean format reference \
        fuzz fuzz-smoke lint deps-lint soak
all: arbiter

# Install missing Debian packages (we are root on a fresh Debian machine;
# otherwise sudo is used when present).
define need_pkgs
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call need_pkgs,$(DEB_BUILD))

deps-test: deps
	$(call need_pkgs,$(DEB_TEST))

# Browser tests: Debian's chromium, node and npm (unless a node with npm is
# already there), and playwright-core pinned by package-lock.json.
deps-browser: deps
	$(call need_pkgs,$(DEB_BROWSER))
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	@[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error

deps-bench: deps
	$(call need_pkgs,$(DEB_BENCH))

deps-fuzz: deps
	$(call need_pkgs,$(DEB_FUZZ))

deps-lint: deps
	$(call need_pkgs,$(DEB_LINT))

# Static checks: the committed .clang-format (check mode), cppcheck, and
# the clang static analyzer through scan-build, which fails on findings
# not in lint/scan-build.known (each read and judged a false positive).
lint: deps-lint build/assets_data.c
	clang-format --dry-run --Werror $(FORMATTED)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr --std=c11 -Isrc \
	  -D_GNU_SOURCE --library=lint/jansson.cfg --suppress=missingIncludeSystem src/*.c fuzz/*.c
	rm -rf build/scan build/scan-obj && mkdir -p build/scan-obj
	scan-build -plist -o build/scan $(MAKE) --no-print-directory -s -j2 lint-objects >build/scan-obj/log 2>&1
	python3 lint/scan_baseline.py build/scan lint/scan-build.known

# What scan-build compiles (objects only, apart from the real build's).
lint-objects: $(patsubst src/%.c,build/scan-obj/%.o,$(SRC))

build/scan-obj/%.o: src/%.c src/*.h
	$(CC) -std=c11 -D_GNU_SOURCE -Isrc -Ibuild -c -o $@ $<

build build/asan build/tests:
	mkdir -p $@

build/embed: src/embed.c | build
	$(CC) -O1 -o $@ $<

build/assets_data.c: build/embed $(ASSETS) | build
	build/embed $@ $(ASSETS)

build/%.o: src/%.c src/*.h Makefile | build
	$(CC) $(CFLAGS) $(HARDEN) -c -o $@ $<

build/assets_data.o: build/assets_data.c src/assets.h
	$(CC) $(CFLAGS) $(HARDEN) -c -o $@ $<

build/asan/%.o: src/%.c src/*.h Makefile | build/asan
	$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

build/asan/assets_data.o: build/assets_data.c src/assets.h | build/asan
	$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

arbiter: $(OBJ)
	$(CC) $(CFLAGS) $(HARDEN) $(HARDEN_LD) -o $@ $(OBJ) $(LDLIBS)

build/fuzz:
	mkdir -p $@

build/fuzz/%.o: src/%.c src/*.h Makefile | build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/assets_data.o: build/assets_data.c src/assets.h | build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

fuzz: deps-fuzz
	$(MAKE) --no-print-directory $(addprefix build/fuzz/,$(FUZZ))
	sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ)

fuzz-smoke: deps-fuzz
	$(MAKE) --no-print-directory $(addprefix build/fuzz/,$(FUZZ))
	sh fuzz/run.sh $(FUZZ_SMOKE) $(FUZZ)

build/asan/arbiter: $(ASAN_OBJ)
	$(CC) $(CFLAGS) $(SAN) -o $@ $(ASAN_OBJ) $(LDLIBS)

build/tests/%: tests/unit/%.c tests/unit/unit.h $(LIB_OBJ) | build/tests
	$(CC) $(CFLAGS) $(HARDEN) $(HARDEN_LD) -Itests/unit -o $@ $< $(LIB_OBJ) $(LDLIBS)

# The connection cap's test links conncap.o alone: its accept() and close()
# are then the interposed ones.
build/tests/test_conncap: tests/unit/test_conncap.c tests/unit/unit.h build/conncap.o | build/tests
	$(CC) $(CFLAGS) $(HARDEN) $(HARDEN_LD) -Itests/unit -o $@ $< build/conncap.o -lpthread

build/tests/asan_test_conncap: tests/unit/test_conncap.c tests/unit/unit.h build/asan/conncap.o | build/tests
	$(CC) $(CFLAGS) -O1 $(SAN) -Itests/unit -o $@ $< build/asan/conncap.o -lpthread

build/tests/asan_%: tests/unit/%.c tests/unit/unit.h $(ASAN_LIB) | build/tests
	$(CC) $(CFLAGS) -O1 $(SAN) -Itests/unit -o $@ $< $(ASAN_LIB) $(LDLIBS)

run: deps arbiter
	./arbiter serve --db data/arbiter.db --listen 127.0.0.1:8080

unit: arbiter $(addprefix build/tests/,$(UNIT))
asan: build/asan/arbiter $(addprefix build/tests/asan_,$(UNIT))

# Unit tests and HTTP tests against the real binary, then all again under
# ASan+UBSan; tests/run.py prints the summary line.
check: deps-test deps-browser deps-fuzz deps-lint
	$(MAKE) --no-print-directory -j$$(nproc) unit asan $(addprefix build/fuzz/,$(FUZZ))
	$(MAKE) --no-print-directory lint fuzz-smoke
	python3 tests/run.py --unit build/tests --binary ./arbiter --asan-binary build/asan/arbiter --browser

build/bare: bench/bare.c | build
	$(CC) $(CFLAGS) -o $@ $< -lcivetweb -lsqlite3 -lpthread

# The labeling loop against a bare CivetWeb handler (bench/run.py), and an
# export of 1,000,000 judgments against the sqlite3 shell (bench/export.py),
# and the items list of a 1,000,000-item job against /healthz
# (bench/items.py), each measured in one run; and the report's interval
# coverage under clustered judgments, simulated at 20,000 replicates;
# 2,000 connected labelers (bench/connected.py); labelers' worst wait during
# a 1,000,000-item import, and its items/s (bench/import_wait.py); healthz
# and labelers during slowloris, a login flood and a tasks/next flood
# (bench/abuse.py).
bench: deps-bench
	$(MAKE) --no-print-directory arbiter build/bare build/tests/test_stats
	python3 bench/run.py --binary ./arbiter --bare build/bare; a=$$?; \
	python3 bench/export.py --binary ./arbiter; b=$$?; \
	python3 bench/items.py --binary ./arbiter; c=$$?; \
	build/tests/test_stats --simulate 20000; d=$$?; \
	python3 bench/connected.py --binary ./arbiter; e=$$?; \
	python3 bench/import_wait.py --binary ./arbiter; f=$$?; \
	python3 bench/abuse.py --binary ./arbiter; g=$$?; exit $$((a || b || c || d || e || f || g))

# 30 minutes of mixed load on one node (not part of check): bench/soak.py.
soak: deps-bench arbiter
	python3 bench/soak.py --binary ./arbiter --minutes $${SOAK_MINUTES:-30}

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf build arbiter

# The statistics' reference values (tests/reference/stats.json, committed)
# from statsmodels, scipy and R's BradleyTerry2, which make check does not
# need; this remakes them.
reference:
	dpkg -s python3-statsmodels python3-scipy r-cran-bradleyterry2 >/dev/null 2>&1 || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-statsmodels python3-scipy r-cran-bradleyterry2; }
	/usr/bin/python3 tests/reference/make.py
