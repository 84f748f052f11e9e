# ferc: facial-expression recognition in C.
#   make            builds bin/train (and later bin/eval, bin/demo)
# The commands live in bin/ because train/ and eval/ hold their sources.
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
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp -Isrc $(PKG_CFLAGS) $(BLAS_CFLAGS)
LDLIBS  += $(PKG_LIBS) $(BLAS_LIBS) -lm -lpthread
LDFLAGS += -fopenmp
BUILD   ?= build

SRC  := $(wildcard src/*.c)
OBJ  := $(SRC:src/%.c=$(BUILD)/src/%.o)
LIB  := $(BUILD)/libferc.a
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c tests/mk_*.c))
TOOLS := bin/train

.PHONY: all test bench asan clean datasets
all: $(TOOLS)

$(BUILD)/src/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/train: train/*.c train/*.h $(LIB)
	@mkdir -p bin
	$(CC) $(CFLAGS) -Itrain -o $@ $(filter %.c,$^) $(LIB) $(LDFLAGS) $(LDLIBS)

bin/eval: eval/*.c $(LIB)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/test.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

test: $(TESTS) $(TOOLS)
	BUILD=$(BUILD) bash tests/run.sh

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fopenmp -fsanitize=address,undefined" test

bench: $(TOOLS) $(BUILD)/bench_ferc
	bash bench/run.sh

$(BUILD)/bench_ferc: bench/bench_ferc.c $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# Links the shared research datasets into datasets/ when they are beside the project.
datasets:
	@for d in CK+48 CK+48-neutral fer2013; do \
	  if [ -e ../shared/datasets/$$d ] && [ ! -e datasets/$$d ]; then ln -s ../../shared/datasets/$$d datasets/$$d; echo "linked datasets/$$d"; fi; \
	done

clean:
	rm -rf build build-asan build-clang bin
