# zipc - shared-memory IPC for Linux.
#
#   make                 build libzipc.so/.a, shmctl, zipc-perf (installs deps first)
#   make test            build and run the Criterion suite
#   make bench           run the perf harness's default suite (cross-process)
#   make SAN=1 test      the suite under AddressSanitizer + UBSan (in build-san/)
#   make install PREFIX=/usr/local [DESTDIR=...]
#
# Dependencies are checked (and, as root, installed with apt-get) by
# scripts/deps.sh before anything is built.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
SAN ?=
WERROR ?= -Werror

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT = -O1
else ifeq ($(SAN),thread)
BUILD ?= build-tsan
SANFLAGS = -fsanitize=thread
OPT = -O1
else
BUILD ?= build
SANFLAGS =
OPT = -O2
endif

SONAME = libzipc.so.0
VERSION = 0.1.0

WARN = -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) $(SANFLAGS) -Iinclude -pthread
LIB_CFLAGS = $(BASE_CFLAGS) -fPIC -fvisibility=hidden
# pkg-config is evaluated lazily (recursive variables), after deps.sh ran.
LIB_LIBS = $(shell pkg-config --libs numa liburing) -pthread
TOOL_LIBS = $(shell pkg-config --libs json-c hwloc)
TEST_LIBS = $(shell pkg-config --libs criterion)

LIB_SRC = $(wildcard shm/*.c) $(wildcard ring/*.c) $(wildcard dispatch/*.c) $(wildcard pool/*.c) $(wildcard sched/*.c)
LIB_OBJ = $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
SHMCTL_SRC = $(wildcard tools/*.c)
PERF_SRC = $(wildcard perf/*.c)
TEST_SRC = $(wildcard tests/test_*.c)
TEST_HELPERS = $(wildcard tests/helpers/*.c)
PEER_SRC = $(wildcard tests/peer/*.c)
EXAMPLES = $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

SHARED = $(BUILD)/libzipc.so
STATIC = $(BUILD)/libzipc.a
SHMCTL = $(BUILD)/shmctl
PERF = $(BUILD)/zipc-perf
TESTS = $(BUILD)/tests/zipc-tests
PEER = $(BUILD)/tests/zipc-peer

.PHONY: all deps build test bench install clean check-werror examples

all: deps
	@$(MAKE) --no-print-directory build

deps:
	@sh scripts/deps.sh

build: $(SHARED) $(STATIC) $(SHMCTL) $(PERF) $(EXAMPLES)

$(BUILD)/obj/%.o: %.c $(wildcard include/zipc/*.h include/zipc/bits/*.h shm/*.h ring/*.h dispatch/*.h pool/*.h sched/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(SHARED): $(LIB_OBJ) zipc.map
	$(CC) $(SANFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=zipc.map -o $@.$(VERSION) $(LIB_OBJ) $(LIB_LIBS)
	ln -sf libzipc.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libzipc.so.$(VERSION) $@

$(STATIC): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

# Tools and tests link the static library: no LD_LIBRARY_PATH games.
$(SHMCTL): $(SHMCTL_SRC) $(STATIC)
	$(CC) $(BASE_CFLAGS) -o $@ $(SHMCTL_SRC) $(STATIC) $(TOOL_LIBS) $(LIB_LIBS)

$(PERF): $(PERF_SRC) $(wildcard perf/*.h) $(STATIC)
	$(CC) $(BASE_CFLAGS) -o $@ $(PERF_SRC) $(STATIC) $(TOOL_LIBS) $(LIB_LIBS) -lm

$(PEER): $(PEER_SRC) $(TEST_HELPERS) $(wildcard tests/helpers/*.h) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Itests -o $@ $(PEER_SRC) $(TEST_HELPERS) $(STATIC) $(LIB_LIBS)

$(TESTS): $(TEST_SRC) $(TEST_HELPERS) $(wildcard tests/helpers/*.h) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Itests -o $@ $(TEST_SRC) $(TEST_HELPERS) $(STATIC) $(TEST_LIBS) $(TOOL_LIBS) $(LIB_LIBS)

$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -o $@ $< $(STATIC) $(LIB_LIBS)

examples: $(EXAMPLES)

# The test suite: one Criterion binary (one test at a time: the
# multi-process tests pin busy processes to the two cores) plus the
# zipc-peer program that the multi-process tests fork and exec.
test: deps
	@$(MAKE) --no-print-directory build $(TESTS) $(PEER)
	ZIPC_PEER=$(abspath $(PEER)) ZIPC_SHMCTL=$(abspath $(SHMCTL)) \
		$(TESTS) --jobs=1 $(TEST_ARGS)

bench: deps
	@$(MAKE) --no-print-directory build
	$(PERF) $(BENCH_ARGS)

install: all
	install -d $(DESTDIR)$(PREFIX)/include/zipc/bits $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/zipc/*.h $(DESTDIR)$(PREFIX)/include/zipc/
	install -m 644 include/zipc/bits/*.h $(DESTDIR)$(PREFIX)/include/zipc/bits/
	install -m 755 $(BUILD)/libzipc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libzipc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf libzipc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libzipc.so
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHMCTL) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(PERF) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' zipc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/zipc.pc

clean:
	rm -rf build build-san build-tsan
