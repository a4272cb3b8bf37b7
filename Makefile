# certcast build.
#
#   make            build build/certcast
#   make test       install what is missing, then unit tests (plain and ASan+UBSan),
#                   scenario tests and integration tests against a real kube-apiserver
#   make test-tsan  the unit tests that run threads, under ThreadSanitizer (part of make test)
#   make demo       run certcast against a local control plane
#   make bench      benchmarks (a report, never a pass/fail timing)
#   make test-fuzz  every libFuzzer harness for a fixed number of runs (part of make test)
#   make test-integration-san  integration tests with certcast built with ASan+UBSan (ditto)
#   make fuzz       one harness (FUZZ_TARGET=scan) for FUZZ_SECONDS, to look for new crashes
#
# BUILD selects the output folder so that several builds (plain, sanitizer) can live side by side.
# SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer; TSAN=1 with ThreadSanitizer
# (the two cannot share a binary).

BUILD   ?= build
CC      ?= cc
SAN     ?= 0
TSAN    ?= 0
OPT     ?= -O2
VERSION ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0-dev)

PKGS     := libcurl libcjson yaml-0.1 libwebsockets openssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_LIBS  := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wformat-security -Wvla \
        -Wmissing-prototypes -Wstrict-prototypes -Wno-missing-field-initializers
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(OPT) -g -pthread $(WARN) -fno-common \
        -DCERTCAST_VERSION='"$(VERSION)"' $(CFLAGS)
ifeq ($(SAN),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS_SAN := -fsanitize=address,undefined
endif
# FUZZ=1 (with CC=clang SAN=1) adds libFuzzer's coverage hooks to every object.
ifeq ($(FUZZ),1)
CFLAGS_ALL += -fsanitize=fuzzer-no-link
endif
ifeq ($(TSAN),1)
CFLAGS_ALL += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS_SAN := -fsanitize=thread
# Criterion cannot start under TSan (tests/support/tsan-criterion/criterion/criterion.h says
# why); the tests compile against that stand-in instead.
TEST_INC := -Itests/support/tsan-criterion
CRIT_LIBS :=
endif
LDLIBS_ALL := $(PKG_LIBS) -lm -pthread $(LDFLAGS_SAN) $(LDFLAGS)

# scoring/ is pure: it sees only its own headers (and OpenSSL for parsing certificate bytes).
SCORING_SRC := $(wildcard scoring/*.c)
SCORING_OBJ := $(SCORING_SRC:%.c=$(BUILD)/obj/%.o)
# controller/ and sim/ form the rest of the program; main.c holds only main().
CTRL_SRC := $(filter-out controller/main.c,$(wildcard controller/*.c sim/*.c))
CTRL_OBJ := $(CTRL_SRC:%.c=$(BUILD)/obj/%.o)
SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/obj/%.o)
# Only pattern rules name them, so make would delete them after each link and build them again.
.SECONDARY: $(SUPPORT_OBJ)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Small programs the integration tests drive (tests/helpers/X.c -> BUILD/helpers/X).
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/helpers/%)
BENCH_SRC := $(wildcard hack/bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:hack/bench/%.c=$(BUILD)/bench/%)
# libFuzzer harnesses (tests/fuzz/fuzz_X.c -> BUILD/fuzz/fuzz_X; seeds in tests/fuzz/corpus/X/).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_RUNS ?= 100000
FUZZ_SECONDS ?= 300
FUZZ_TARGET ?= scan

.PHONY: all deps test test-unit test-san test-tsan test-scenarios test-integration test-bars bench demo clean \
        check-banned scoring fmt help test-fuzz fuzz fuzz-bins test-integration-san
.DEFAULT_GOAL := all

all: check-banned $(BUILD)/certcast $(HELPER_BIN)

help:
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

$(BUILD)/obj/scoring/%.o: scoring/%.c $(wildcard scoring/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Iscoring $(shell pkg-config --cflags openssl) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(wildcard controller/*.h scoring/*.h sim/*.h tests/support/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icontroller -Iscoring -Isim -Itests/support $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libscoring.a: $(SCORING_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libcertcast.a: $(CTRL_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

scoring: $(BUILD)/libscoring.a

$(BUILD)/certcast: $(BUILD)/obj/controller/main.o $(BUILD)/libcertcast.a $(BUILD)/libscoring.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
	ln -sf certcast $(BUILD)/kubectl-certcast

# Each tests/unit/test_X.c is one Criterion binary linked against everything.
$(BUILD)/tests/%: tests/unit/%.c $(SUPPORT_OBJ) $(BUILD)/libcertcast.a $(BUILD)/libscoring.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(TEST_INC) -Icontroller -Iscoring -Isim -Itests/support $(PKG_CFLAGS) -o $@ \
		$< $(SUPPORT_OBJ) $(BUILD)/libcertcast.a $(BUILD)/libscoring.a $(LDLIBS_ALL) $(CRIT_LIBS)

$(BUILD)/helpers/%: tests/helpers/%.c $(BUILD)/libcertcast.a $(BUILD)/libscoring.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icontroller -Iscoring $(PKG_CFLAGS) -o $@ \
		$< $(BUILD)/libcertcast.a $(BUILD)/libscoring.a $(LDLIBS_ALL)

$(BUILD)/bench/%: hack/bench/%.c $(SUPPORT_OBJ) $(BUILD)/libcertcast.a $(BUILD)/libscoring.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icontroller -Iscoring -Isim -Itests/support $(PKG_CFLAGS) -o $@ \
		$< $(SUPPORT_OBJ) $(BUILD)/libcertcast.a $(BUILD)/libscoring.a $(LDLIBS_ALL)

# A harness links libFuzzer's main; build it only with CC=clang SAN=1 FUZZ=1 (test-fuzz does).
$(BUILD)/fuzz/%: tests/fuzz/%.c $(SUPPORT_OBJ) $(BUILD)/libcertcast.a $(BUILD)/libscoring.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icontroller -Iscoring -Isim -Itests/support $(PKG_CFLAGS) -o $@ \
		$< $(SUPPORT_OBJ) $(BUILD)/libcertcast.a $(BUILD)/libscoring.a $(LDLIBS_ALL) -fsanitize=fuzzer

fuzz-bins: $(FUZZ_BIN)

# Banned calls are found by the build, not in review.
check-banned:
	@if grep -nE '(^|[^_a-zA-Z0-9])(sprintf|vsprintf|strcpy|strcat|atoi|atol|strtok|gets)[[:space:]]*\(' \
		controller/*.[ch] scoring/*.[ch] sim/*.[ch] tests/unit/*.c tests/support/*.[ch] \
		tests/helpers/*.c tests/fuzz/*.c 2>/dev/null; then \
		echo "error: banned call above (use snprintf, memcpy/strlcpy-style helpers, strtol, strtok_r)"; exit 1; fi

deps:
	hack/deps.sh

test-unit: check-banned $(BUILD)/certcast $(UNIT_BIN)
	tests/run-unit.sh $(BUILD) $(UNIT_BIN)

test-san:
	$(MAKE) BUILD=build-san SAN=1 OPT=-O1 test-unit

# The tests that run threads, under ThreadSanitizer. Any report fails the run
# (halt_on_error); tests/tsan.supp may hold only third-party libraries' known false positives.
# About 40 s; not part of `make test`.
TSAN_TESTS := test_concurrency test_workqueue test_reconcile test_store test_ticker test_model \
	test_metrics test_http_server test_reflector test_kube_client test_intern test_ratelimit \
	test_scraper test_aripoll test_signals test_lease test_evrec test_act test_leaderev test_live \
	test_httpauth
test-tsan:
	$(MAKE) BUILD=build-tsan TSAN=1 OPT=-O1 $(TSAN_TESTS:%=build-tsan/tests/%)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
		tests/run-unit.sh build-tsan $(TSAN_TESTS:%=build-tsan/tests/%)

# Every harness replays its seeds and runs FUZZ_RUNS mutations from a fixed seed, under ASan,
# UBSan and LeakSanitizer: the same inputs each run, so a failure here is reproducible.
test-fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SAN=1 FUZZ=1 OPT=-O1 fuzz-bins
	tests/run-fuzz.sh build-fuzz $(FUZZ_RUNS) $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)

# Exploration, not a test: one harness for FUZZ_SECONDS with a random seed; new inputs that reach
# new code go to build-fuzz/corpus/TARGET, crashes to build-fuzz/crashes/.
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SAN=1 FUZZ=1 OPT=-O1 build-fuzz/fuzz/fuzz_$(FUZZ_TARGET)
	mkdir -p build-fuzz/corpus/$(FUZZ_TARGET) build-fuzz/crashes
	build-fuzz/fuzz/fuzz_$(FUZZ_TARGET) -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=build-fuzz/crashes/$(FUZZ_TARGET)- \
		$$(test -f tests/fuzz/$(FUZZ_TARGET).dict && echo -dict=tests/fuzz/$(FUZZ_TARGET).dict) \
		build-fuzz/corpus/$(FUZZ_TARGET) tests/fuzz/corpus/$(FUZZ_TARGET)

test-scenarios: $(BUILD)/certcast
	tests/run-scenarios.sh $(BUILD)/certcast

# Issue 3's bars with the known-shortfall list ignored: fails until every bar is met.
test-bars: $(BUILD)/certcast
	SCENARIO_STRICT=1 tests/run-scenarios.sh $(BUILD)/certcast

test-integration: $(BUILD)/certcast $(HELPER_BIN)
	tests/integration/run.sh $(BUILD)

# The integration tests that drive certcast's own code (its watches, writes, Events, election,
# HTTP endpoints and their auth, live page, model, recovery and failover), again with the
# ASan+UBSan build: a memory error, a leak at its exit or undefined behaviour in any certcast
# they start fails them (lib.sh reads every background program's log). The rest drive only the
# stand-in, the test environment, the chart or the browser protocol.
SAN_IT_TESTS := test_controller test_actions test_events test_explain test_leader test_signals \
	test_status test_status_remote test_watch test_model test_ari test_budget test_livepage \
	test_recovery test_prometheus test_failover_trial test_http_auth test_http_tls
test-integration-san:
	$(MAKE) BUILD=build-san SAN=1 OPT=-O1 build-san/certcast \
		$(HELPER_SRC:tests/helpers/%.c=build-san/helpers/%)
	INTEGRATION_SUITE=integration-sanitized ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/integration/run.sh build-san $(SAN_IT_TESTS:%=tests/integration/%.sh)

# The README's test command: installs what is missing, then runs every suite.
test: deps
	$(MAKE) test-unit
	$(MAKE) test-san
	$(MAKE) test-tsan
	$(MAKE) test-fuzz
	$(MAKE) test-scenarios
	$(MAKE) test-integration
	$(MAKE) test-integration-san
	tests/summary.sh

bench: deps $(BUILD)/certcast $(BENCH_BIN)
	hack/bench.sh $(BUILD)

demo: deps $(BUILD)/certcast
	hack/demo.sh $(BUILD)

fmt:
	clang-format -i controller/*.[ch] scoring/*.[ch] sim/*.[ch] tests/unit/*.c tests/support/*.[ch] \
		tests/helpers/*.c tests/fuzz/*.c

clean:
	rm -rf build build-san build-tsan build-fuzz
