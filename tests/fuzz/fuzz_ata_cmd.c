/*
 * ata_classify and ata_tf_lba (dev/ata_cmd.c): a guest's ATA command byte
 * and the taskfile registers it wrote.
 *
 * Input: u8 command, 6 current and 6 previous taskfile bytes, u8 device.
 *
 * Invariants: the kind is one of enum ata_kind; only data commands are
 * LBA48 or MULTIPLE, and MULTIPLE only for PIO; CHS (device bit 6 clear) is
 * refused; an LBA28 address is below 2^28 with 1-256 sectors, an LBA48 one
 * below 2^48 with 1-65536, and both are the taskfile's bytes in order.
 */
#include "fuzz.h"

#include "tv/ata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	u8 cmd = (u8)take(&in, 1);
	struct ata_tf tf;

	for (int i = 0; i < 6; i++)
		tf.cur[i] = (u8)take(&in, 1);
	for (int i = 0; i < 6; i++)
		tf.prev[i] = (u8)take(&in, 1);
	tf.device = (u8)take(&in, 1);

	struct ata_cmd_info ci = ata_classify(cmd);
	bool data_cmd = ci.kind == ATA_PIO_IN || ci.kind == ATA_PIO_OUT || ci.kind == ATA_DMA_IN ||
			ci.kind == ATA_DMA_OUT;
	CHECK(ci.kind <= ATA_PACKET);
	CHECK(data_cmd || (!ci.lba48 && !ci.multiple));
	CHECK(!ci.multiple || ci.kind == ATA_PIO_IN || ci.kind == ATA_PIO_OUT);

	for (int lba48 = 0; lba48 < 2; lba48++) {
		u64 lba = 0xA5A5;
		u32 count = 0xA5A5;
		bool ok = ata_tf_lba(&tf, lba48, &lba, &count);
		CHECK(ok == !!(tf.device & 0x40));
		if (!ok)
			continue;
		u64 lo = (u64)tf.cur[3] | (u64)tf.cur[4] << 8 | (u64)tf.cur[5] << 16;
		if (lba48) {
			u32 c = (u32)tf.cur[2] | (u32)tf.prev[2] << 8;
			CHECK(lba < (1ull << 48) && count >= 1 && count <= 65536);
			CHECK(lba == (lo | (u64)tf.prev[3] << 24 | (u64)tf.prev[4] << 32 | (u64)tf.prev[5] << 40));
			CHECK(count == (c ? c : 65536));
		} else {
			CHECK(lba < (1ull << 28) && count >= 1 && count <= 256);
			CHECK(lba == (lo | (u64)(tf.device & 0xF) << 24));
			CHECK(count == (tf.cur[2] ? tf.cur[2] : 256u));
		}
	}
	return 0;
}
