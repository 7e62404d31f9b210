# SPDX-License-Identifier: Apache-2.0
#
# make                 library (shared + static), the crac command, the preload library
# make test            build and run every test (tests/run.sh)
# make demo            the warm-service demo (scripts/demo.sh)
# make bench           benchmarks (bench/run.sh)
# make bench-servers   real servers: cold start against restore (bench/servers.sh)
# make bench-pss       memory of 16 instances of one 1 GiB image (bench/pss.sh)
# make fuzz            the image fuzzer, long mode (FUZZ_SECONDS=600; fuzz/README.md)
# make install         PREFIX=/usr/local DESTDIR=
# make SANITIZE=1      ASan+UBSan for the library's ordinary code and the tests
# make clean

VERSION_MAJOR := 0
VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
MANDIR ?= $(PREFIX)/share/man
B := build

CC ?= gcc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Isrc -fvisibility=hidden \
	-DCRAC_VERSION_STRING='"$(VERSION)"'
ifeq ($(SANITIZE),1)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
endif
ALL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS) $(SAN)
LDLIBS_LIB := -lpthread

# The library, one folder per subsystem (docs/architecture.md): coordination,
# checker, policies, control socket, engines, the native engine, image format.
LIB_DIRS := core checker policy control clone engine native image
LIB_SRC := $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c))
LIB_ASM := $(wildcard src/native/*.S)
LIB_MAP := src/core/libcrac.map
LIB_OBJ := $(LIB_SRC:%.c=$(B)/pic/%.o) $(LIB_ASM:%.S=$(B)/pic/%.o)
# The crac command: CLI plus the restore side (it turns itself into the saved process).
CLI_SRC := $(wildcard src/cli/*.c src/restore/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/obj/%.o) $(B)/obj/blob_embed.o
# Freestanding restorer blob.
BLOB_SRC := $(wildcard src/restore/blob/*.c)
BLOB_ASM := $(wildcard src/restore/blob/*.S)
BLOB_OBJ := $(BLOB_SRC:%.c=$(B)/blob/%.o) $(BLOB_ASM:%.S=$(B)/blob/%.o)
BLOB_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -Isrc -O2 -g -ffreestanding -nostdlib \
	-fno-stack-protector -fpie -fno-plt -fvisibility=hidden -fno-builtin \
	-fno-tree-loop-distribute-patterns -fno-asynchronous-unwind-tables \
	-fno-exceptions -fcf-protection=none -mno-red-zone -U_FORTIFY_SOURCE
PRELOAD_SRC := $(wildcard src/preload/*.c)

TEST_C := $(wildcard tests/*.c)
TEST_BIN := $(TEST_C:tests/%.c=$(B)/tests/%)
TEST_HELPERS := $(wildcard tests/helpers/*.c)
TEST_HELPER_BIN := $(TEST_HELPERS:tests/helpers/%.c=$(B)/tests/helpers/%)
EXAMPLES := $(B)/examples/warm-service $(B)/examples/first-answer
BENCH_C := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_C:bench/%.c=$(B)/bench/%)

SONAME := libcrac.so.$(VERSION_MAJOR)
TARGETS := $(B)/libcrac.so $(B)/libcrac.a $(B)/crac $(B)/crac.pc
ifneq ($(PRELOAD_SRC),)
TARGETS += $(B)/libcrac-preload.so
endif

.PHONY: all test demo bench bench-servers bench-pss install clean check-blob examples tests fuzz fuzz-build
all: $(TARGETS)

$(B)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c $< -o $@
$(B)/pic/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -fPIC -c $< -o $@
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/libcrac.so.$(VERSION): $(LIB_OBJ) $(LIB_MAP)
	$(CC) $(SAN) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(LIB_MAP) \
		-Wl,-z,defs -o $@ $(LIB_OBJ) $(LDLIBS_LIB)
$(B)/libcrac.so: $(B)/libcrac.so.$(VERSION)
	ln -sf libcrac.so.$(VERSION) $(B)/$(SONAME)
	ln -sf $(SONAME) $@
$(B)/libcrac.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# --- the restorer blob: freestanding, position independent, no relocations ---
$(B)/blob/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BLOB_CFLAGS) -MMD -MP -c $< -o $@
$(B)/blob/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(BLOB_CFLAGS) -c $< -o $@
$(B)/blob/blob.elf: $(BLOB_OBJ) src/restore/blob/blob.lds
	$(CC) -nostdlib -static -Wl,-T,src/restore/blob/blob.lds -Wl,--no-dynamic-linker -Wl,--build-id=none \
		-Wl,-e,crac_blob_entry -o $@ $(BLOB_OBJ)
	@# the blob runs with nothing around it: refuse undefined symbols and relocations
	@if [ -n "$$(nm -u $@)" ]; then echo "blob: undefined symbols:"; nm -u $@; rm -f $@; exit 1; fi
	@if readelf -r $@ | grep -q 'Relocation section'; then echo "blob: has relocations"; readelf -r $@; rm -f $@; exit 1; fi
	@if [ "$$(nm $@ | awk '$$3=="crac_blob_entry"{print $$1}')" != "0000000000000000" ]; then \
		echo "blob: entry is not at offset 0"; rm -f $@; exit 1; fi
$(B)/blob/blob.bin: $(B)/blob/blob.elf
	objcopy -O binary $< $@
$(B)/obj/blob_embed.o: src/restore/blob_embed.S $(B)/blob/blob.bin
	@mkdir -p $(@D)
	$(CC) -c -DBLOB_BIN='"$(B)/blob/blob.bin"' $< -o $@

# libsodium: signed images (src/restore/sign.c), in the command only.
$(B)/crac: $(CLI_OBJ) $(B)/libcrac.a
	$(CC) $(SAN) -o $@ $(CLI_OBJ) $(B)/libcrac.a $(LDLIBS_LIB) -lsodium

# The preload library is a shim that needs libcrac.so.0 (kept even though it
# calls nothing: --no-as-needed) and finds it beside itself ($$ORIGIN).
$(B)/libcrac-preload.so: $(PRELOAD_SRC) $(B)/libcrac.so
	$(CC) $(ALL_CFLAGS) -fPIC -shared -Wl,-z,defs -o $@ $(PRELOAD_SRC) \
		-L$(B) -Wl,--no-as-needed -lcrac -Wl,-rpath,'$$ORIGIN'

PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@VERSION@|$(VERSION)|g'
$(B)/crac.pc: crac.pc.in Makefile
	$(PC_SED) $< > $@

# --- tests, examples, benchmarks: linked against the shared library ---
LINK_SHARED = -L$(B) -lcrac -Wl,-rpath,'$$ORIGIN/..' -Wl,-rpath,'$$ORIGIN/../..' -lpthread
# -MMD: a test is rebuilt when a header it includes changes (tests/*.h too).
$(B)/tests/%: tests/%.c $(B)/libcrac.so
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -o $@ $< $(LINK_SHARED)
# White-box tests (tests/internal-*.c) reach crac__* names: link the static library.
$(B)/tests/internal-%: tests/internal-%.c $(B)/libcrac.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -o $@ $< $(B)/libcrac.a $(LDLIBS_LIB)
$(B)/tests/helpers/%: tests/helpers/%.c $(B)/libcrac.so
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -o $@ $< $(LINK_SHARED) $(HELPER_LIBS)
# Instances must draw different bytes from real crypto libraries (Debian's
# libssl-dev, libgnutls28-dev).
$(B)/tests/helpers/clone-unique: HELPER_LIBS := -lcrypto -lgnutls
# Installed set-user-ID by its test: the loader ignores $ORIGIN there.
$(B)/tests/helpers/setuid-probe: tests/helpers/setuid-probe.c $(B)/libcrac.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(B)/libcrac.a $(LDLIBS_LIB)
$(B)/examples/warm-service: $(wildcard examples/warm-service/*.[ch]) $(B)/libcrac.so
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LINK_SHARED)
$(B)/examples/first-answer: examples/first-answer/first-answer.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<
$(B)/bench/%: bench/%.c $(wildcard bench/*.h) $(B)/libcrac.so
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LINK_SHARED)

# --- the image fuzzer (fuzz/README.md) ---
# The libFuzzer target, built by clang with ASan and UBSan from the reader,
# the checks and the restorer's validation; only when clang and its libFuzzer
# runtime are there (scripts/setup-debian installs them), else
# tests/fuzz-quick.sh skips and says why.
FUZZ_CC ?= clang
FUZZ_HAVE := $(and $(shell command -v $(FUZZ_CC) 2>/dev/null),$(wildcard \
	/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a))
FUZZ_FLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Isrc -I. -g -O1 \
	-fno-omit-frame-pointer -DCRAC_VERSION_STRING='"$(VERSION)"'
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_RESTORE := $(wildcard src/restore/validate*.c)
FUZZ_LIB := $(filter-out src/image/hash_avx2.c,$(wildcard src/image/*.c)) src/core/error.c \
	src/core/log.c $(FUZZ_RESTORE)
FUZZ_SRC := fuzz/harness.c fuzz/mutate.c fuzz/fields.c
FUZZ_DEPS := $(FUZZ_SRC) $(FUZZ_LIB) src/image/hash_avx2.c $(wildcard fuzz/*.h src/image/*.h \
	src/restore/*.h src/core/*.h)
$(B)/fuzz/fuzz-image: fuzz/target.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_SAN) -mavx2 -Wno-unknown-pragmas -c src/image/hash_avx2.c \
		-o $(B)/fuzz/hash_avx2.o
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_SRC) $(FUZZ_LIB) $(B)/fuzz/hash_avx2.o
# The same, instrumented for line coverage (llvm-cov) instead of sanitized.
$(B)/fuzz/fuzz-image-cov: fuzz/target.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
		-mavx2 -Wno-unknown-pragmas -o $@ $< $(FUZZ_SRC) $(FUZZ_LIB) src/image/hash_avx2.c
# Plain tools for the differential check (fuzz/restore-accepted.sh).
$(B)/fuzz/fuzz-gen: fuzz/gen.c $(FUZZ_SRC) $(wildcard fuzz/*.h) $(B)/libcrac.a \
		$(FUZZ_RESTORE:%.c=$(B)/obj/%.o)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I. -o $@ $< $(FUZZ_SRC) $(FUZZ_RESTORE:%.c=$(B)/obj/%.o) \
		$(B)/libcrac.a $(LDLIBS_LIB)
$(B)/fuzz/restore-watch: fuzz/watch.c $(B)/libcrac.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libcrac.a $(LDLIBS_LIB)
FUZZ_TOOLS := $(B)/fuzz/fuzz-gen $(B)/fuzz/restore-watch
FUZZ_BIN := $(FUZZ_TOOLS) $(if $(FUZZ_HAVE),$(B)/fuzz/fuzz-image)
fuzz-build: all $(TEST_HELPER_BIN) $(FUZZ_BIN)
# Long mode: FUZZ_SECONDS (600) of fuzzing, then the differential check.
fuzz: fuzz-build $(if $(FUZZ_HAVE),$(B)/fuzz/fuzz-image $(B)/fuzz/fuzz-image-cov)
	@if [ -z "$(FUZZ_HAVE)" ]; then echo "make fuzz: clang's libFuzzer is not installed" \
		"(scripts/setup-debian installs clang, libclang-rt-14-dev and llvm)"; exit 1; fi
	bash fuzz/run.sh

examples: $(EXAMPLES)
tests: all $(TEST_BIN) $(TEST_HELPER_BIN) $(EXAMPLES) $(BENCH_BIN) $(FUZZ_BIN)
test: tests
	SANITIZE=$(SANITIZE) sh tests/run.sh
demo: all $(EXAMPLES)
	bash scripts/demo.sh
bench: all $(BENCH_BIN) $(TEST_HELPER_BIN) $(EXAMPLES)
	bash bench/run.sh
bench-pss: all $(BENCH_BIN)
	bash bench/pss.sh
bench-servers: all $(TEST_HELPER_BIN) $(EXAMPLES)
	bash bench/servers.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 0644 include/crac.h $(DESTDIR)$(PREFIX)/include/crac.h
	install -m 0755 $(B)/libcrac.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libcrac.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libcrac.so
	install -m 0644 $(B)/libcrac.a $(DESTDIR)$(LIBDIR)/
	@# written here rather than copied from build/: make does not notice that PREFIX
	@# changed since build/crac.pc was made, and the installed file must name this PREFIX
	$(PC_SED) crac.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/crac.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/crac.pc
	install -m 0755 $(B)/crac $(DESTDIR)$(PREFIX)/bin/crac
	if [ -f $(B)/libcrac-preload.so ]; then install -m 0755 $(B)/libcrac-preload.so $(DESTDIR)$(LIBDIR)/; fi
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 0644 man/crac.1 $(DESTDIR)$(MANDIR)/man1/crac.1
	install -m 0644 man/libcrac.3 $(DESTDIR)$(MANDIR)/man3/libcrac.3

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
