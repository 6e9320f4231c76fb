# supermachine build. GNU Make: the tree is small, the targets are few, and
# every developer machine already has it (see README, "Why Make").
#
#   make              library, CLI, guest init + initramfs, guest kernel
#   make check        every test (unit, then KVM tests via tools/with-kvm)
#   make check SANITIZE=1   unit tests under ASan/UBSan (build-san/)
#   make install      PREFIX=/usr/local

PREFIX ?= /usr/local
# "0.1.0", from include/supermachine.h (for the pkg-config file)
VERSION := $(shell awk '/define SM_VERSION_(MAJOR|MINOR|PATCH)/ { v = v (v == "" ? "" : ".") $$3 } END { print v }' include/supermachine.h)
DESTDIR ?=
SANITIZE ?= 0
GUEST := build/guest

ifeq ($(SANITIZE),1)
BUILD ?= build-san
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SAN :=
endif

PKGS := libcurl libarchive jansson libcrypto slirp libseccomp
# libcurl and libarchive are loaded when first used (src/oci/dl.h): not
# linked, but for the tests that call them themselves
LINK_PKGS := jansson libcrypto slirp libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LINK_LIBS := $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null)

CC ?= cc
OPT ?= -O2 -g
CFLAGS := $(OPT) -std=gnu11 -Wall -Wextra -Werror -fPIC -fvisibility=hidden \
	-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Iinclude -Isrc $(PKG_CFLAGS) $(SAN) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)
LDLIBS := $(LINK_LIBS) -ldl -lpthread -lm
# unit tests may build archives with libarchive themselves
TEST_LDLIBS := $(PKG_LIBS) -ldl -lpthread -lm

LIB_SRC := $(sort $(shell find src -name '*.c'))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_INTERNAL := $(BUILD)/libsupermachine-internal.a
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
OCI_SRC := $(sort $(wildcard cli/oci/*.c))
OCI_OBJ := $(OCI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
# test-only code linked into every test (the memfs FUSE backend)
TEST_SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard tests/support/*.c)))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Helper programs: tools/src/NAME.c -> $(BUILD)/tools/NAME
TOOL_SRC := $(sort $(wildcard tools/src/*.c))
TOOL_BIN := $(TOOL_SRC:tools/src/%.c=$(BUILD)/tools/%)
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
# programs the KVM tests run: tests/kvm/NAME.c -> $(BUILD)/tests/kvm/NAME
# (the public API only, as examples)
KVM_PROG_SRC := $(sort $(wildcard tests/kvm/*.c))
KVM_PROG_BIN := $(KVM_PROG_SRC:tests/kvm/%.c=$(BUILD)/tests/kvm/%)
INIT_SRC := $(sort $(wildcard guest/init/*.c))

.PHONY: all lib cli guest kernel tests check check-unit check-kvm check-long fuzz install clean format
all: lib cli tools guest kernel
lib: $(BUILD)/libsupermachine.a $(LIB_INTERNAL) $(BUILD)/libsupermachine.so
cli: $(BUILD)/supermachine $(BUILD)/supermachine-oci
tools: $(TOOL_BIN)
guest: $(GUEST)/init $(GUEST)/initramfs.cpio
kernel: $(GUEST)/vmlinux $(GUEST)/bzImage
tests: $(TEST_BIN) $(EXAMPLE_BIN) $(KVM_PROG_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Every object as it is: what the CLI, the tests and tools/ link (they
# use internal functions).
$(LIB_INTERNAL): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The installed static library: the objects linked into one whose hidden
# (internal) symbols are made local, so a program that links it sees the
# sm_* API only and may have its own check_name or registry_open.
$(BUILD)/libsupermachine.a: $(LIB_OBJ)
	@rm -f $@
	$(LD) -r -o $(BUILD)/obj/libsupermachine.o $^
	objcopy --localize-hidden $(BUILD)/obj/libsupermachine.o
	ar rcs $@ $(BUILD)/obj/libsupermachine.o

$(BUILD)/libsupermachine.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsupermachine.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/supermachine: $(CLI_OBJ) $(LIB_INTERNAL)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB_INTERNAL) $(LDLIBS)

# the OCI runtime engines call (docs/oci-runtime.md)
$(BUILD)/supermachine-oci: $(OCI_OBJ) $(LIB_INTERNAL)
	$(CC) $(LDFLAGS) -o $@ $(OCI_OBJ) $(LIB_INTERNAL) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(TEST_SUPPORT_OBJ) $(LIB_INTERNAL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itests/support $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(LIB_INTERNAL) $(TEST_LDLIBS)

# built from the guest init's own sources (included, not linked)
$(BUILD)/tests/test_guest_spec: $(INIT_SRC) $(wildcard guest/init/*.h)

$(BUILD)/tools/%: tools/src/%.c $(LIB_INTERNAL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_INTERNAL) $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(BUILD)/libsupermachine.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libsupermachine.a $(LDLIBS)

$(BUILD)/tests/kvm/%: tests/kvm/%.c $(BUILD)/libsupermachine.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libsupermachine.a $(LDLIBS)

# The guest init is static (musl) so the initramfs needs nothing else;
# busybox (static, Debian's) gives boot-level tests a shell and tools.
$(GUEST)/init: $(INIT_SRC) $(wildcard guest/init/*.h) src/proto/proto.h
	@mkdir -p $(dir $@)
	musl-gcc -static -Os -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc -o $@ $(INIT_SRC)

$(GUEST)/initramfs.cpio: $(GUEST)/init
	rm -rf $(GUEST)/initramfs && mkdir -p $(GUEST)/initramfs/dev $(GUEST)/initramfs/proc \
		$(GUEST)/initramfs/sys $(GUEST)/initramfs/tmp $(GUEST)/initramfs/run
	cp $< $(GUEST)/initramfs/init
	mkdir -p $(GUEST)/initramfs/bin
	cp /bin/busybox $(GUEST)/initramfs/bin/busybox
	for a in $$(/bin/busybox --list); do [ -e $(GUEST)/initramfs/bin/$$a ] || ln -s busybox $(GUEST)/initramfs/bin/$$a; done
	cd $(GUEST)/initramfs && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > ../initramfs.cpio.tmp
	mv $(GUEST)/initramfs.cpio.tmp $@

$(GUEST)/vmlinux: guest/kernel/microvm.config tools/build-kernel
	tools/build-kernel $@

# tools/build-kernel writes it next to vmlinux
$(GUEST)/bzImage: $(GUEST)/vmlinux
	@test -s $@ || tools/build-kernel $<

check: all tests
	tests/run $(BUILD)

check-unit: lib cli tools tests
	SKIP_KVM=1 tests/run $(BUILD)

check-kvm: all tests
	ONLY_KVM=1 tests/run $(BUILD)

# The long sets CI runs a bounded part of: the FUSE race test at 10^6
# requests per opcode (CI: 10^5), the FUSE decoder fuzzed for 10 minutes
# and every other fuzz target for 2 (CI: 16 s each, under 5 minutes in all;
# docs/fuzzing.md). Run before calling an issue resolved.
check-long: all tests
	SM_FUSE_RACE_N=1000000 SM_CRASH_TRIALS=20 FUZZ_S=120 FUZZ_FUSE_S=600 tests/run $(BUILD)

# Every fuzz target, FUZZ_S seconds each (default 15): make fuzz FUZZ_S=60
FUZZ_S ?= 15
fuzz:
	FUZZ_S=$(FUZZ_S) tests/host/fuzz.sh

install: lib cli guest kernel
	install -D -m 0755 $(BUILD)/supermachine $(DESTDIR)$(PREFIX)/bin/supermachine
	install -D -m 0755 $(BUILD)/supermachine-oci $(DESTDIR)$(PREFIX)/bin/supermachine-oci
	install -D -m 0644 $(BUILD)/libsupermachine.a $(DESTDIR)$(PREFIX)/lib/libsupermachine.a
	install -D -m 0755 $(BUILD)/libsupermachine.so $(DESTDIR)$(PREFIX)/lib/libsupermachine.so.0
	ln -sf libsupermachine.so.0 $(DESTDIR)$(PREFIX)/lib/libsupermachine.so
	install -D -m 0644 include/supermachine.h $(DESTDIR)$(PREFIX)/include/supermachine.h
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' supermachine.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/supermachine.pc
	install -D -m 0644 $(GUEST)/vmlinux $(DESTDIR)$(PREFIX)/share/supermachine/vmlinux
	install -D -m 0644 $(GUEST)/initramfs.cpio $(DESTDIR)$(PREFIX)/share/supermachine/initramfs.cpio

format:
	clang-format -i $(shell find src cli include tests/unit tests/support tools/src tests/kvm guest/init examples -name '*.[ch]' 2>/dev/null)

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
