# thinvisor build.  `make` builds build/thinvisor.elf; `make test` runs
# every test (host unit tests, fuzzing, system tests under QEMU, GRUB, Linux e2e).

BUILD ?= build
CC ?= gcc
HV_CC := gcc

CRYPTO_SRCS := crypto/aes.c crypto/aesni.c crypto/xts.c crypto/sha256.c crypto/pbkdf2.c
HV_SRCS := boot/entry.S core/entry64.S arch/svm/svm_entry.S arch/vmx/vmx_entry.S \
	core/main.c core/mem.c core/cpu.c core/exit.c core/log.c core/string.c \
	core/fmt.c core/cmdline.c core/bootinfo.c core/guest_start.c \
	core/io.c core/apic.c core/smp.c core/mmio_trap.c core/platform.c dev/mmio_decode.c mm/pt.c mm/memmap.c mm/gwalk.c guest/linux.c guest/multiboot.c \
	arch/svm/svm.c arch/vmx/vmx.c dev/pci.c dev/pci_cfg.c dev/ata.c dev/ahci.c dev/nvme.c dev/ata_cmd.c dev/iommu.c dev/iommu_acpi.c dev/vtd.c dev/amdvi.c storage/storage.c storage/policy.c \
	$(CRYPTO_SRCS)

HV_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	-ffreestanding -nostdlib -fno-builtin -mno-red-zone -mcmodel=kernel \
	-fno-pic -fno-pie -mgeneral-regs-only -fstack-protector-strong -mstack-protector-guard=global \
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -Iinclude
HV_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack \
	-T boot/thinvisor.ld -Wl,--build-id=none

HV_OBJS := $(patsubst %,$(BUILD)/hv/%.o,$(HV_SRCS))

all: $(BUILD)/thinvisor.elf

$(BUILD)/hv/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(HV_CC) $(HV_CFLAGS) -c $< -o $@

# AES-NI code uses vector registers; it saves and restores the guest's itself.
# (Its target attributes would reset the stack-protector guard to TLS: no canary there.)
$(BUILD)/hv/crypto/aesni.c.o: HV_CFLAGS := $(filter-out -mgeneral-regs-only -fstack-protector-strong,$(HV_CFLAGS)) -msse2 -maes -fno-stack-protector

$(BUILD)/hv/%.c.o: %.c $(wildcard include/tv/*.h arch/svm/*.h arch/vmx/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(HV_CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/thinvisor.elf: $(HV_OBJS) boot/thinvisor.ld tools/check-image.sh
	@echo "  LD    $@"
	@$(HV_CC) $(HV_CFLAGS) $(HV_LDFLAGS) $(HV_OBJS) -o $@
	@tools/check-image.sh $@ || { rm -f $@; exit 1; }

# Host unit tests: pure modules built for the host under ASan and UBSan.
UNIT_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
UNIT_MODS := core/fmt.c core/cmdline.c core/bootinfo.c mm/pt.c mm/memmap.c mm/gwalk.c \
	guest/linux.c guest/multiboot.c storage/policy.c dev/ata_cmd.c dev/mmio_decode.c dev/iommu_acpi.c dev/pci_cfg.c
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

$(BUILD)/unit/%: tests/unit/%.c $(UNIT_MODS) $(wildcard include/tv/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $< $(UNIT_MODS) -o $@ -lcmocka

# The crypto test also needs the crypto sources and OpenSSL to compare with.
$(BUILD)/unit/test_crypto: tests/unit/test_crypto.c $(CRYPTO_SRCS) core/fmt.c $(wildcard include/tv/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -maes $< $(CRYPTO_SRCS) core/fmt.c -o $@ -lcmocka -lcrypto

unit: $(patsubst %,$(BUILD)/unit/%,$(UNIT_TESTS))
	tests/unit/run.sh $(BUILD)/unit $(UNIT_TESTS)

# Fuzzing: a libFuzzer harness (tests/fuzz/fuzz_*.c, clang) for every parser
# of guest-controlled data, the pure modules built with it.  `make fuzz` runs
# each for FUZZ_TIME seconds (15) from its seed corpus, two at a time;
# `make fuzz-soak` for longer (600), keeping its corpus in build/fuzz-soak/.
FUZZ_CC ?= clang
FUZZ_JOBS ?= 2
FUZZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_MODS := core/fmt.c core/cmdline.c core/bootinfo.c mm/memmap.c mm/gwalk.c guest/linux.c \
	guest/multiboot.c storage/policy.c dev/ata_cmd.c dev/mmio_decode.c dev/pci_cfg.c
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_MODS))
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_NAMES))

$(BUILD)/fuzz/obj/%.o: %.c $(wildcard include/tv/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_OBJS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh --fresh -j $(FUZZ_JOBS) -t $(or $(FUZZ_TIME),15) $(BUILD)/fuzz $(BUILD)/fuzz/run $(FUZZ_NAMES)

fuzz-soak: fuzz-build
	tests/fuzz/run.sh -j $(FUZZ_JOBS) -t $(or $(FUZZ_TIME),600) $(BUILD)/fuzz $(BUILD)/fuzz-soak $(FUZZ_NAMES)

# Host tools: image encryption/checking with OpenSSL, our XTS against OpenSSL.
HOST_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude -Itests/guests/lib
$(BUILD)/tools/tvcrypt: tools/tvcrypt.c tests/guests/lib/pattern.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $< -o $@ -lcrypto

# Our XTS against OpenSSL on the host (crypto built as in the hypervisor).
$(BUILD)/tools/bench-xts: tools/bench-xts.c $(CRYPTO_SRCS) core/fmt.c
	@mkdir -p $(BUILD)/bench-obj
	for f in aes xts sha256 pbkdf2; do $(CC) -std=c11 -O2 -Iinclude -mgeneral-regs-only -c crypto/$$f.c -o $(BUILD)/bench-obj/$$f.o || exit 1; done
	$(CC) -std=c11 -O2 -Iinclude -msse2 -maes -c crypto/aesni.c -o $(BUILD)/bench-obj/aesni.o
	$(CC) $(HOST_CFLAGS) $< $(BUILD)/bench-obj/*.o core/fmt.c -o $@ -lcrypto

tools: $(BUILD)/tools/tvcrypt $(BUILD)/tools/bench-xts

guests:
	$(MAKE) -C tests/guests BUILD=$(abspath $(BUILD))

system: all guests
	tests/system/run.sh

grub: all guests
	tests/system/grub-mb2.sh

e2e: all
	tools/linux-kit.sh $(BUILD)
	tests/e2e/linux-boot.sh

storage-e2e: all tools
	tools/linux-kit.sh $(BUILD)
	tests/e2e/linux-storage.sh

# Benchmarks (not part of the test run): bench/results.{md,csv,png} (IDE),
# bench/ahci/ and bench/nvme/ the same on the other controllers.
bench: all tools
	tools/bench.sh
	tools/bench.sh --controller ahci --out bench/ahci
	tools/bench.sh --controller nvme --out bench/nvme
	tools/bench-smp.sh

bench-smp: all
	tools/bench-smp.sh

test:
	tools/test.sh

clean:
	rm -rf $(BUILD)

.PHONY: bench-smp all unit fuzz-build fuzz fuzz-soak tools guests system grub e2e storage-e2e bench test clean
