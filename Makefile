# kvmforge — one Makefile for the library, the programs, the tests and the fuzzers.
#   make             build (installs missing Debian packages first when run as root)
#   make check       build and run every test; prints "N passed, N failed, N skipped"
#   make SANITIZE=1  the same with ASan+UBSan (SANITIZE=address,undefined works too)
#   make fuzz        libFuzzer builds of the parsers under build/fuzz/
#   make bench       bench/convert.sh: kvmforge-image against qemu-img
#   make iso         the installer ISO, build/kvmforge.iso (as root: mmdebstrap)

CC       ?= cc
BUILD    ?= build
PKGS     := zlib libdeflate libcrypto libxml-2.0 libcurl libvirt blkid libparted libarchive \
            libisofs-1 libcrypt
CFLAGS   ?= -O2 -g
LDFLAGS  += -Wl,--as-needed
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
            -Wno-format-nonliteral -Wno-format-truncation -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -pthread -Icommon \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lz -ldeflate -lcrypto -lxml2 -lcurl -lvirt -lblkid -lparted -larchive -lisofs -lcrypt) -lx86emu -lm -pthread

ifneq ($(SANITIZE),)
ifeq ($(SANITIZE),1)
override SANITIZE := address,undefined
endif
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    := build/sanitize
export ASAN_OPTIONS := intercept_strchr=0:detect_leaks=1
endif

# Debian packages: to build, to test, to fuzz.
DEB_BUILD := gcc make pkg-config libc6-dev zlib1g-dev libdeflate-dev libssl-dev libxml2-dev \
             libcurl4-openssl-dev libvirt-dev libblkid-dev libparted-dev libx86emu-dev \
             libarchive-dev libisofs-dev libcrypt-dev libnewt-dev ca-certificates
# What `kvmforge-image iso` runs or copies into the live environment (defined before
# DEB_TEST, which includes it: := expands at once, and an undefined name is empty).
DEB_ISO   := mmdebstrap grub-common grub-pc-bin grub-efi-amd64-bin mtools dosfstools zstd \
             lvm2 thin-provisioning-tools mdadm e2fsprogs xfsprogs util-linux busybox xorriso \
             ncurses-base tzdata console-setup kbd
DEB_TEST  := libcmocka-dev qemu-utils e2fsprogs time python3 openssl iproute2 \
             libvirt-daemon-system libvirt-clients qemu-system-x86 \
             ovmf syslinux syslinux-common mtools dosfstools cpio fdisk lvm2 thin-provisioning-tools xfsprogs mdadm binutils xz-utils \
             openssh-client tmux $(DEB_ISO)
DEB_FUZZ  := clang libclang-rt-14-dev

LIB_SRC  := $(wildcard common/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libkvmforge.a
PROGRAMS := $(BUILD)/kvmforge-image $(BUILD)/kvmforge-install \
            $(if $(wildcard postinst/*.c),$(BUILD)/kvmforge-postinst) \
            $(if $(wildcard iso/init.c),$(BUILD)/iso/kvmforge-init)

UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.SECONDARY:
.PHONY: all deps deps-test deps-fuzz deps-iso iso check unit fuzz bench format check-format check-headers clean
.DEFAULT_GOAL := all

all: deps $(PROGRAMS)

define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -ne 0 ]; then echo "missing Debian packages:$$missing (run 'sudo make deps')" >&2; exit 1; fi; \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEB_BUILD))
deps-test: deps
	$(call install_missing,$(DEB_TEST))
deps-fuzz:
	$(call install_missing,$(DEB_FUZZ))
deps-iso: deps
	$(call install_missing,$(DEB_ISO))

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

IMAGE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard imagebuild/*.c))
POSTINST_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard postinst/*.c))

$(BUILD)/kvmforge-image: $(IMAGE_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/kvmforge-postinst: $(POSTINST_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The live environment's /init: static, it runs before any library is there (never sanitized).
$(BUILD)/iso/kvmforge-init: iso/init.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Os -g -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<

INSTALL_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard installer/*.c))

# Only the installer draws screens: newt (and its slang) stay out of the other programs.
$(BUILD)/kvmforge-install: $(INSTALL_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lnewt

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/replay/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) | deps-fuzz
	@mkdir -p $(dir $@)
	clang -O1 -g -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread -Icommon \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(shell pkg-config --cflags libxml-2.0) -o $@ $< $(LIB_SRC) $(LDLIBS)

# Build every header alone: each must include what it uses.
check-headers:
	@for h in common/*.h; do \
		echo "#include \"$$h\"" | $(CC) $(CFLAGS) -x c -fsyntax-only - || exit 1; \
	done; echo "headers: ok"

unit: deps-test $(UNIT_BIN) $(REPLAY_BIN)

check: deps-test $(PROGRAMS) $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN)
	@BUILD=$(BUILD) tests/run.sh

fuzz: $(FUZZ_BIN)

# The installer ISO with the defaults (ISO_ARGS for more: ISO_ARGS="--answer ks.cfg").
iso: deps-iso $(PROGRAMS)
	$(BUILD)/kvmforge-image iso -o $(BUILD)/kvmforge.iso $(ISO_ARGS)

bench: deps-test $(PROGRAMS)
	bench/convert.sh

format:
	clang-format -i common/*.[ch] imagebuild/*.[ch] installer/*.[ch] postinst/*.[ch] iso/*.c \
		tests/unit/*.c tests/fuzz/*.c tests/tools/*.c

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
