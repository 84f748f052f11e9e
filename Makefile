# ferc: facial-expression recognition in C.
#   make            builds bin/train, bin/eval and bin/demo
# The commands live in bin/ because train/ and eval/ hold their sources.
#   make deps       installs the Debian packages (apt-get; root or sudo)
#   make test       builds and runs tests/ (tests/run.sh)
#   make bench      runs the benchmarks (bench/run.sh)
#   make asan       runs the test suite under AddressSanitizer + UBSan
#   make CC=clang   builds with clang (warning-free with gcc and clang)
CC      ?= cc
PKGS    := hdf5 libpng libjpeg
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# OpenBLAS: the OpenMP build (Debian libopenblas0-openmp) shares one thread pool
# with ferc's own OpenMP loops; the default pthread build spins against them
# and halves training speed. Falls back to pkg-config's openblas if absent.
BLAS_DIR ?= $(wildcard /usr/lib/x86_64-linux-gnu/openblas-openmp)
ifneq ($(BLAS_DIR),)
BLAS_LIBS := -L$(BLAS_DIR) -lopenblas -Wl,-rpath,$(BLAS_DIR)
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
else
BLAS_LIBS := $(shell pkg-config --libs openblas 2>/dev/null)
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
endif
# OPT: optimisation/sanitiser flags; EXTRA: anything else (e.g. EXTRA=-Werror).
OPT     ?= -O3 -march=native
EXTRA   ?=
ALL_CFLAGS := $(OPT) -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp -Isrc $(PKG_CFLAGS) $(BLAS_CFLAGS) $(EXTRA) $(CFLAGS)
LDLIBS  += $(PKG_LIBS) $(BLAS_LIBS) -lm -lpthread
ALL_LDFLAGS := -fopenmp $(LDFLAGS)
BUILD   ?= build
BIN     ?= bin

SRC  := $(wildcard src/*.c)
OBJ  := $(SRC:src/%.c=$(BUILD)/src/%.o)
LIB  := $(BUILD)/libferc.a
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c tests/mk_*.c))
TOOLS := $(BIN)/train $(BIN)/eval $(BIN)/demo
# SDL2 is used by bin/demo only (its window); the library does not link it.
SDL_CFLAGS := $(shell pkg-config --cflags sdl2 2>/dev/null)
SDL_LIBS   := $(shell pkg-config --libs sdl2 2>/dev/null)
# libmicrohttpd: bin/demo --serve only.
MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS   := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
# A fresh machine without the -dev packages gets one clear line instead of a
# compiler error about a missing header (deps, clean and datasets need none).
MISSING := $(shell for p in $(PKGS) sdl2 libmicrohttpd; do pkg-config --exists $$p 2>/dev/null || echo $$p; done)
ifneq ($(MISSING),)
ifneq ($(filter-out deps clean datasets,$(or $(MAKECMDGOALS),all)),)
$(error missing build dependencies: $(MISSING) (no pkg-config entry); run 'make deps' first (apt-get, needs root))
endif
endif

.PHONY: all test bench asan clean datasets deps
all: $(TOOLS)

$(BUILD)/src/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/train: train/*.c train/*.h $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(ALL_CFLAGS) -Itrain -o $@ $(filter %.c,$^) $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

$(BIN)/eval: eval/*.c eval/*.h $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

# The web page (web/) is embedded into bin/demo by demo/embed.sh.
WEB := $(wildcard web/*.html web/*.js web/*.css)
$(BUILD)/web_assets.c: demo/embed.sh $(WEB)
	@mkdir -p $(dir $@)
	bash demo/embed.sh $@ $(WEB)

$(BIN)/demo: demo/*.c demo/*.h $(BUILD)/web_assets.c $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(ALL_CFLAGS) $(SDL_CFLAGS) $(MHD_CFLAGS) -Idemo -o $@ $(filter %.c,$^) $(LIB) $(ALL_LDFLAGS) $(SDL_LIBS) $(MHD_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/*.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

test: $(TESTS) $(TOOLS)
	BUILD=$(BUILD) BIN=$(BIN) bash tests/run.sh

asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" test

bench: $(TOOLS) $(BUILD)/bench_ferc $(BUILD)/bench_detect $(BUILD)/margin $(BUILD)/crop_sweep
	BUILD=$(BUILD) bash bench/run.sh
	BUILD=$(BUILD) bash bench/detect.sh
	BUILD=$(BUILD) BIN=$(BIN) bash bench/e2e.sh
	BUILD=$(BUILD) BIN=$(BIN) bash bench/serve.sh

$(BUILD)/bench_detect: bench/bench_detect.c tests/haar_synth.h $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

$(BUILD)/margin: bench/margin.c bench/canvas.h $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

$(BUILD)/crop_sweep: bench/crop_sweep.c bench/canvas.h $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

$(BUILD)/bench_ferc: bench/bench_ferc.c $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

# Installs the Debian packages ferc needs (as root or via sudo).
deps:
	bash .ci/deps

# Links the shared research datasets into datasets/ when they are beside the project.
datasets:
	@for d in CK+48 CK+48-neutral fer2013; do \
	  if [ -e ../shared/datasets/$$d ] && [ ! -e datasets/$$d ]; then ln -s ../../shared/datasets/$$d datasets/$$d; echo "linked datasets/$$d"; fi; \
	done

clean:
	rm -rf build build-asan build-clang bin
