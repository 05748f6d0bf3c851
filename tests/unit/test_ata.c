/* dev/ata_cmd.c: ATA command classification, taskfile LBA decoding, PRD tables, scatter copies. */
#include "util.h"

#include "tv/ata.h"
#include "tv/lib.h"

/* ---- ata_classify ---- */

struct want {
	u8 kind;
	bool lba48, multiple;
};

/* The full expected table: anything not listed must be refused. */
static void expected_table(struct want w[256])
{
	for (int c = 0; c < 256; c++)
		w[c] = (struct want){ ATA_REFUSE, false, false };
#define K(c, k, l, m) (w[c] = (struct want){ k, l, m })
	K(0x20, ATA_PIO_IN, false, false);	/* READ SECTORS */
	K(0x21, ATA_PIO_IN, false, false);	/* READ SECTORS without retry */
	K(0x24, ATA_PIO_IN, true, false);	/* READ SECTORS EXT */
	K(0xC4, ATA_PIO_IN, false, true);	/* READ MULTIPLE */
	K(0x29, ATA_PIO_IN, true, true);	/* READ MULTIPLE EXT */
	K(0x30, ATA_PIO_OUT, false, false);	/* WRITE SECTORS */
	K(0x31, ATA_PIO_OUT, false, false);
	K(0x34, ATA_PIO_OUT, true, false);	/* WRITE SECTORS EXT */
	K(0xC5, ATA_PIO_OUT, false, true);	/* WRITE MULTIPLE */
	K(0x39, ATA_PIO_OUT, true, true);	/* WRITE MULTIPLE EXT */
	K(0xCE, ATA_PIO_OUT, true, true);	/* WRITE MULTIPLE FUA EXT */
	K(0xC8, ATA_DMA_IN, false, false);	/* READ DMA */
	K(0xC9, ATA_DMA_IN, false, false);
	K(0x25, ATA_DMA_IN, true, false);	/* READ DMA EXT */
	K(0xCA, ATA_DMA_OUT, false, false);	/* WRITE DMA */
	K(0xCB, ATA_DMA_OUT, false, false);
	K(0x35, ATA_DMA_OUT, true, false);	/* WRITE DMA EXT */
	K(0x3D, ATA_DMA_OUT, true, false);	/* WRITE DMA FUA EXT */
	K(0xEC, ATA_INFO_IN, false, false);	/* IDENTIFY DEVICE */
	K(0xA1, ATA_INFO_IN, false, false);	/* IDENTIFY PACKET DEVICE */
	K(0x2F, ATA_INFO_IN, false, false);	/* READ LOG EXT */
	K(0xB0, ATA_INFO_IN, false, false);	/* SMART (writes refused by the mediator) */
	K(0xA0, ATA_PACKET, false, false);	/* PACKET */
	static const u8 nondata[] = {
		0x00, 0x08, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C,
		0x1D, 0x1E, 0x1F, 0x27, 0x40, 0x41, 0x42, 0x70, 0x90, 0x91, 0x94, 0x95, 0x96, 0x97, 0x98,
		0x99, 0xE0, 0xE1, 0xE2, 0xE3, 0xE5, 0xE6, 0xC6, 0xE7, 0xEA, 0xEF, 0xF8, 0xDA,
	};
	for (size_t i = 0; i < ARRAY_SIZE(nondata); i++)
		K(nondata[i], ATA_NONDATA, false, false);
#undef K
}

static void test_classify_every_opcode(void **state)
{
	struct want w[256];

	expected_table(w);
	for (int c = 0; c < 256; c++) {
		struct ata_cmd_info r = ata_classify((u8)c);
		if (r.kind != w[c].kind || r.lba48 != w[c].lba48 || r.multiple != w[c].multiple)
			fail_msg("ata_classify(%#04x) = { kind %u, lba48 %d, multiple %d }, expected "
				 "{ %u, %d, %d }", c, r.kind, r.lba48, r.multiple, w[c].kind, w[c].lba48,
				 w[c].multiple);
	}
}

static void test_classify_data_commands(void **state)
{
	struct ata_cmd_info r;

	r = ata_classify(0x25);
	assert_int_equal(r.kind, ATA_DMA_IN);
	assert_true(r.lba48);
	assert_false(r.multiple);
	r = ata_classify(0xCA);
	assert_int_equal(r.kind, ATA_DMA_OUT);
	assert_false(r.lba48);
	r = ata_classify(0x3D);	/* FUA */
	assert_int_equal(r.kind, ATA_DMA_OUT);
	assert_true(r.lba48);
	r = ata_classify(0xCE);	/* FUA */
	assert_int_equal(r.kind, ATA_PIO_OUT);
	assert_true(r.lba48);
	assert_true(r.multiple);
	r = ata_classify(0xC4);
	assert_int_equal(r.kind, ATA_PIO_IN);
	assert_false(r.lba48);
	assert_true(r.multiple);
	r = ata_classify(0x24);
	assert_int_equal(r.kind, ATA_PIO_IN);
	assert_true(r.lba48);
	assert_false(r.multiple);
	assert_int_equal(ata_classify(0xEC).kind, ATA_INFO_IN);
	assert_int_equal(ata_classify(0xA1).kind, ATA_INFO_IN);
	assert_int_equal(ata_classify(0xA0).kind, ATA_PACKET);
	assert_int_equal(ata_classify(0xEF).kind, ATA_NONDATA);
	assert_int_equal(ata_classify(0xE7).kind, ATA_NONDATA);
	assert_int_equal(ata_classify(0xEA).kind, ATA_NONDATA);
	assert_int_equal(ata_classify(0xC6).kind, ATA_NONDATA);
}

static void test_classify_refused(void **state)
{
	static const u8 refused[] = {
		0x06,				/* DATA SET MANAGEMENT (TRIM) */
		0x92, 0x93,			/* DOWNLOAD MICROCODE (DMA) */
		0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6,	/* SECURITY * */
		0x3F, 0x57,			/* WRITE LOG EXT, WRITE LOG DMA EXT */
		0xC7, 0xCC, 0x26, 0x36,		/* queued DMA */
		0x45,				/* WRITE UNCORRECTABLE EXT */
		0x60, 0x61,			/* NCQ */
		0xE4, 0xE8,			/* READ/WRITE BUFFER */
		0xF9, 0x37,			/* SET MAX ADDRESS (EXT) */
		0x3B, 0x3A, 0x38, 0x03, 0x87, 0xFF,
	};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		struct ata_cmd_info r = ata_classify(refused[i]);
		if (r.kind != ATA_REFUSE || r.lba48 || r.multiple)
			fail_msg("ata_classify(%#04x): kind %u, expected ATA_REFUSE", refused[i], r.kind);
	}
	for (int c = 0x80; c <= 0x8F; c++)	/* vendor specific */
		assert_int_equal(ata_classify((u8)c).kind, ATA_REFUSE);
	assert_int_equal(ATA_REFUSE, 0);	/* a zeroed ata_cmd_info refuses */
}

/* ---- ata_tf_lba ---- */

#define SENT64 0xA5A5A5A5A5A5A5A5ull
#define SENT32 0xA5A5A5A5u

static struct ata_tf tf_make(u8 dev, u8 c2, u8 c3, u8 c4, u8 c5, u8 p2, u8 p3, u8 p4, u8 p5)
{
	struct ata_tf tf;

	memset(&tf, 0xEE, sizeof(tf));	/* features and register 0 are noise */
	tf.device = dev;
	tf.cur[2] = c2, tf.cur[3] = c3, tf.cur[4] = c4, tf.cur[5] = c5;
	tf.prev[2] = p2, tf.prev[3] = p3, tf.prev[4] = p4, tf.prev[5] = p5;
	return tf;
}

static void test_tf_lba28(void **state)
{
	u64 lba = SENT64;
	u32 count = SENT32;
	/* Device 0xE5: LBA bit 6, obsolete bits 5 and 7, drive 0, LBA bits 24-27 = 5. */
	struct ata_tf tf = tf_make(0xE5, 0x10, 0x78, 0x56, 0x34, 0x99, 0x99, 0x99, 0x99);

	assert_true(ata_tf_lba(&tf, false, &lba, &count));
	assert_int_equal(lba, 0x05345678);
	assert_int_equal(count, 16);
	/* Drive bit 4 is not an address bit; previous registers are ignored. */
	tf = tf_make(0x5A, 0x01, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF);
	assert_true(ata_tf_lba(&tf, false, &lba, &count));
	assert_int_equal(lba, 0x0A000000);
	assert_int_equal(count, 1);
	/* Count 0 means 256. */
	tf = tf_make(0x40, 0x00, 0x01, 0x02, 0x03, 0x00, 0, 0, 0);
	assert_true(ata_tf_lba(&tf, false, &lba, &count));
	assert_int_equal(lba, 0x030201);
	assert_int_equal(count, 256);
	/* Largest. */
	tf = tf_make(0x4F, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0);
	assert_true(ata_tf_lba(&tf, false, &lba, &count));
	assert_int_equal(lba, 0x0FFFFFFF);
	assert_int_equal(count, 255);
}

static void test_tf_lba48(void **state)
{
	u64 lba = SENT64;
	u32 count = SENT32;
	/* Device low nibble is not used by 48-bit commands. */
	struct ata_tf tf = tf_make(0x4F, 0x34, 0x11, 0x22, 0x33, 0x12, 0x44, 0x55, 0x66);

	assert_true(ata_tf_lba(&tf, true, &lba, &count));
	assert_int_equal(lba, 0x665544332211ull);
	assert_int_equal(count, 0x1234);
	/* Count 0 (both bytes) means 65536; one byte zero does not. */
	tf = tf_make(0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
	assert_true(ata_tf_lba(&tf, true, &lba, &count));
	assert_int_equal(lba, 0);
	assert_int_equal(count, 65536);
	tf = tf_make(0x40, 0x00, 0, 0, 0, 0x01, 0, 0, 0);
	assert_true(ata_tf_lba(&tf, true, &lba, &count));
	assert_int_equal(count, 256);
	tf = tf_make(0x40, 0x01, 0, 0, 0, 0x00, 0, 0, 0);
	assert_true(ata_tf_lba(&tf, true, &lba, &count));
	assert_int_equal(count, 1);
	/* Largest. */
	tf = tf_make(0xE0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
	assert_true(ata_tf_lba(&tf, true, &lba, &count));
	assert_int_equal(lba, 0xFFFFFFFFFFFFull);
	assert_int_equal(count, 65535);
	/* Each byte in its place. */
	tf = tf_make(0x40, 0, 0, 0, 0, 0, 0x80, 0, 0);
	assert_true(ata_tf_lba(&tf, true, &lba, &count));
	assert_int_equal(lba, 0x80000000ull);
	tf = tf_make(0x40, 0, 0, 0, 0, 0, 0, 0, 0x01);
	assert_true(ata_tf_lba(&tf, true, &lba, &count));
	assert_int_equal(lba, 1ull << 40);
}

static void test_tf_chs(void **state)
{
	u64 lba = SENT64;
	u32 count = SENT32;
	struct ata_tf tf = tf_make(0xA0, 0x01, 0x01, 0x00, 0x00, 0, 0, 0, 0);

	assert_false(ata_tf_lba(&tf, false, &lba, &count));
	assert_false(ata_tf_lba(&tf, true, &lba, &count));
	tf.device = 0xBF;	/* everything but bit 6 */
	assert_false(ata_tf_lba(&tf, false, &lba, &count));
	assert_false(ata_tf_lba(&tf, true, &lba, &count));
	assert_int_equal(lba, SENT64);
	assert_int_equal(count, SENT32);
}

/* ---- prd_parse ---- */

/* Fake RAM [0, 1 MiB) holds PRD tables; buffers need only pass the limits. */
#define RAM_SIZE 0x100000ull
#define PRDT 0x10000ull
#define EOT 0x8000

static const struct dma_limits lim = { 0x4000000, 0x2000000, 0x8000000 };	/* hv at 64-96 MiB of 128 */

static int setup(void **state)
{
	*state = fake_ram_new(0, RAM_SIZE, 0);
	return 0;
}

static int teardown(void **state)
{
	fake_ram_free(*state);
	return 0;
}

static void prd_put(struct fake_ram *r, u64 pa, u32 base, u16 cnt, u16 flags)
{
	u8 *e = fake_at(r, pa, 8);
	put32(e, base);
	put16(e + 4, cnt);
	put16(e + 6, flags);
}

static int parse(struct fake_ram *r, u64 prdt, const struct dma_limits *l, struct sg_entry *sg, u32 max,
		 u64 *total)
{
	*total = SENT64;
	return prd_parse(&r->pm, prdt, l, sg, max, total);
}

static void test_prd_single(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[4];
	u64 total;

	memset(sg, 0xEE, sizeof(sg));
	prd_put(r, PRDT, 0x200000, 0x1000, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), 1);
	assert_int_equal(sg[0].pa, 0x200000);
	assert_int_equal(sg[0].len, 0x1000);
	assert_int_equal(total, 0x1000);
	assert_int_equal(sg[1].pa, 0xEEEEEEEEEEEEEEEEull);	/* nothing more written */
	/* max 1 is enough for one entry. */
	assert_int_equal(parse(r, PRDT, &lim, sg, 1, &total), 1);
	/* Bit 15 of the flags word ends the table whatever the other bits hold. */
	prd_put(r, PRDT, 0x200000, 0x1000, 0xFFFF);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), 1);
}

static void test_prd_count_zero_is_64k(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[2];
	u64 total;

	prd_put(r, PRDT, 0x300000, 0, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 2, &total), 1);
	assert_int_equal(sg[0].pa, 0x300000);
	assert_int_equal(sg[0].len, 0x10000);
	assert_int_equal(total, 0x10000);
	prd_put(r, PRDT, 0x300000, 0xFFFF, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 2, &total), 1);
	assert_int_equal(sg[0].len, 0xFFFF);
}

static void test_prd_odd_sizes(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[4];
	u64 total;

	prd_put(r, PRDT, 0x200000, 0x201, 0);
	prd_put(r, PRDT + 8, 0x200400, 1, 0);
	prd_put(r, PRDT + 16, 0x200800, 0x1FF, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), 3);
	assert_int_equal(sg[0].len, 0x201);
	assert_int_equal(sg[1].len, 1);
	assert_int_equal(sg[2].len, 0x1FF);
	assert_int_equal(sg[1].pa, 0x200400);
	assert_int_equal(sg[2].pa, 0x200800);
	assert_int_equal(total, 0x201 + 1 + 0x1FF);
}

static void test_prd_multiple_total(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[8];
	u64 total;

	prd_put(r, PRDT, 0x100000, 0, 0x7FFF);	/* 64 KiB, not the end despite the other bits */
	prd_put(r, PRDT + 8, 0x7FF0000, 0, 0);	/* the last 64 KiB below ram_top */
	prd_put(r, PRDT + 16, 0x3FFF000, 0x1000, 0);	/* right up to the hypervisor */
	prd_put(r, PRDT + 24, 0x6000000, 0x200, 0);	/* right after it */
	prd_put(r, PRDT + 32, 0x2, 0x2, EOT);
	prd_put(r, PRDT + 40, 0x500000, 0x10, EOT);	/* after the end: not read */
	assert_int_equal(parse(r, PRDT, &lim, sg, 8, &total), 5);
	assert_int_equal(sg[0].pa, 0x100000);
	assert_int_equal(sg[0].len, 0x10000);
	assert_int_equal(sg[1].pa, 0x7FF0000);
	assert_int_equal(sg[1].len, 0x10000);
	assert_int_equal(sg[2].pa, 0x3FFF000);
	assert_int_equal(sg[2].len, 0x1000);
	assert_int_equal(sg[3].pa, 0x6000000);
	assert_int_equal(sg[3].len, 0x200);
	assert_int_equal(sg[4].pa, 0x2);
	assert_int_equal(sg[4].len, 0x2);
	assert_int_equal(total, 0x20000 + 0x1000 + 0x200 + 2);
}

static void test_prd_odd_base(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[4];
	u64 total;

	prd_put(r, PRDT, 0x200001, 0x100, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), -EINVAL);
	prd_put(r, PRDT, 0x200000, 0x100, 0);
	prd_put(r, PRDT + 8, 0xFFFFF, 0x100, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), -EINVAL);
	/* Even an odd base the limits would also refuse is -EINVAL (checked first). */
	prd_put(r, PRDT + 8, 0x4000001, 0x100, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), -EINVAL);
}

static void test_prd_no_eot(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[4];
	u64 total;

	prd_put(r, PRDT, 0x200000, 0x100, 0);
	prd_put(r, PRDT + 8, 0x200000, 0x100, 0);
	prd_put(r, PRDT + 16, 0x200000, 0x100, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 2, &total), -EINVAL);	/* EOT is entry 3 */
	assert_int_equal(parse(r, PRDT, &lim, sg, 3, &total), 3);
	assert_int_equal(total, 0x300);
	assert_int_equal(parse(r, PRDT, &lim, sg, 0, &total), -EINVAL);
}

/* max beyond PRD_MAX is capped: sg is never written past PRD_MAX entries. */
static void test_prd_max_capped(void **state)
{
	struct fake_ram *r = *state;
	u32 n = PRD_MAX + 2;
	struct sg_entry *sg = calloc(n, sizeof(*sg));
	u64 total;

	assert_non_null(sg);
	for (u32 i = 0; i < n; i++)
		prd_put(r, 8ull * i, 0x200000, 2, i == PRD_MAX ? EOT : 0);	/* EOT on entry PRD_MAX + 1 */
	assert_int_equal(parse(r, 0, &lim, sg, n, &total), -EINVAL);
	assert_int_equal(sg[PRD_MAX].len, 0);
	/* The same with the end one entry earlier fits exactly. */
	prd_put(r, 8ull * (PRD_MAX - 1), 0x200000, 2, EOT);
	assert_int_equal(parse(r, 0, &lim, sg, n, &total), PRD_MAX);
	assert_int_equal(total, 2ull * PRD_MAX);
	free(sg);
}

static void test_prd_table_crosses_page(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[4];
	u64 total;

	prd_put(r, 0x10FF8, 0x200000, 0x800, 0);
	prd_put(r, 0x11000, 0x400000, 0x400, EOT);
	assert_int_equal(parse(r, 0x10FF8, &lim, sg, 4, &total), 2);
	assert_int_equal(sg[1].pa, 0x400000);
	assert_int_equal(total, 0xC00);
}

static void test_prd_table_in_hv_region(void **state)
{
	struct fake_ram *r = *state;
	const struct dma_limits l = { 0x80000, 0x10000, 0x8000000 };	/* hv inside the fake RAM */
	struct sg_entry sg[4];
	u64 total;

	prd_put(r, 0x80000, 0x200000, 0x100, EOT);
	assert_int_equal(parse(r, 0x80000, &l, sg, 4, &total), -EFAULT);
	prd_put(r, 0x8FFF8, 0x200000, 0x100, EOT);
	assert_int_equal(parse(r, 0x8FFF8, &l, sg, 4, &total), -EFAULT);
	/* Straddling the start. */
	prd_put(r, 0x7FFFC, 0x200000, 0x100, EOT);
	assert_int_equal(parse(r, 0x7FFFC, &l, sg, 4, &total), -EFAULT);
	/* Ending exactly at the start, or starting exactly at the end: fine. */
	prd_put(r, 0x7FFF8, 0x200000, 0x100, EOT);
	assert_int_equal(parse(r, 0x7FFF8, &l, sg, 4, &total), 1);
	prd_put(r, 0x90000, 0x200000, 0x100, EOT);
	assert_int_equal(parse(r, 0x90000, &l, sg, 4, &total), 1);
	/* A table that runs on into it. */
	prd_put(r, 0x7FFF8, 0x200000, 0x100, 0);
	prd_put(r, 0x80000, 0x200000, 0x100, EOT);
	assert_int_equal(parse(r, 0x7FFF8, &l, sg, 4, &total), -EFAULT);
}

static void test_prd_table_outside_ram(void **state)
{
	struct fake_ram *r = *state;
	const struct dma_limits low = { 0x4000000, 0x2000000, 0x80000 };	/* ram_top below the table */
	struct sg_entry sg[4];
	u64 total;

	prd_put(r, 0x7FFF8, 0x1000, 0x100, EOT);
	assert_int_equal(parse(r, 0x7FFF8, &low, sg, 4, &total), 1);
	prd_put(r, 0x80000, 0x1000, 0x100, EOT);
	assert_int_equal(parse(r, 0x80000, &low, sg, 4, &total), -EFAULT);
	prd_put(r, 0x7FFF8, 0x1000, 0x100, 0);
	assert_int_equal(parse(r, 0x7FFF8, &low, sg, 4, &total), -EFAULT);	/* runs past ram_top */
	/* Below ram_top but outside the physmem window. */
	assert_int_equal(parse(r, RAM_SIZE, &lim, sg, 4, &total), -EFAULT);
	assert_int_equal(parse(r, RAM_SIZE - 4, &lim, sg, 4, &total), -EFAULT);
}

static void test_prd_buffer_in_hv_region(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[4];
	u64 total;
	static const struct { u32 base; u16 cnt; int rc; } cases[] = {
		{ 0x4000000, 0x200, -EFAULT },		/* at the start */
		{ 0x5FFFE00, 0x200, -EFAULT },		/* at the end */
		{ 0x5000000, 0, -EFAULT },		/* inside */
		{ 0x3FFF000, 0x1002, -EFAULT },		/* running into it */
		{ 0x5FFFFFE, 4, -EFAULT },		/* running out of it */
		{ 0x3FF0002, 0, -EFAULT },		/* 64 KiB ending 2 bytes in */
		{ 0x3FF0000, 0, 1 },			/* 64 KiB ending at its start */
		{ 0x3FFF000, 0x1000, 1 },
		{ 0x6000000, 0x200, 1 },		/* starting at its end */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		prd_put(r, PRDT, cases[i].base, cases[i].cnt, EOT);
		int rc = parse(r, PRDT, &lim, sg, 4, &total);
		if (rc != cases[i].rc)
			fail_msg("buffer %#x+%#x: prd_parse = %d, expected %d", cases[i].base, cases[i].cnt, rc,
				 cases[i].rc);
	}
	/* A bad buffer in a later entry fails the whole table. */
	prd_put(r, PRDT, 0x200000, 0x200, 0);
	prd_put(r, PRDT + 8, 0x4000000, 0x200, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), -EFAULT);
}

static void test_prd_buffer_past_ram_top(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[4];
	u64 total;

	prd_put(r, PRDT, 0x7FFF000, 0x1000, EOT);	/* ends at ram_top */
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), 1);
	prd_put(r, PRDT, 0x7FFF000, 0x1002, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), -EFAULT);
	prd_put(r, PRDT, 0x8000000, 2, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), -EFAULT);
	prd_put(r, PRDT, 0xFFFFFFFE, 2, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), -EFAULT);
	prd_put(r, PRDT, 0xFFFF0000, 0, EOT);
	assert_int_equal(parse(r, PRDT, &lim, sg, 4, &total), -EFAULT);
	/* With RAM above 4 GiB, a buffer ending exactly at 4 GiB is fine (no 32-bit wrap). */
	const struct dma_limits big = { 0x4000000, 0x2000000, 0x200000000ull };
	assert_int_equal(parse(r, PRDT, &big, sg, 4, &total), 1);
	assert_int_equal(sg[0].pa, 0xFFFF0000);
	assert_int_equal(sg[0].len, 0x10000);
	assert_int_equal(total, 0x10000);
}

/* ---- sg_copy ---- */

static const struct sg_entry sgl[] = {
	{ 0x1000, 100 }, { 0x3000, 1 }, { 0x5000, 300 }, { 0x8000, 50 },
};
#define SGL_TOTAL 451

static void fill_pattern(u8 *p, size_t n, u8 seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(seed + i * 7 + (i >> 8));
}

/* The byte of the list at offset off (0 .. SGL_TOTAL-1). */
static u8 *sg_byte(struct fake_ram *r, u64 off)
{
	for (size_t i = 0; i < ARRAY_SIZE(sgl); i++) {
		if (off < sgl[i].len)
			return fake_at(r, sgl[i].pa + off, 1);
		off -= sgl[i].len;
	}
	fail_msg("offset past the list");
	return NULL;
}

/* Copy to the list at skip/len; check exactly [skip, skip+len) of the list changed. */
static void check_to_sg(struct fake_ram *r, u64 skip, u64 len, u64 copied)
{
	u8 buf[600];

	memset(r->buf, 0xCC, 0x9000);
	fill_pattern(buf, sizeof(buf), (u8)skip);
	sg_copy(&r->pm, sgl, ARRAY_SIZE(sgl), skip, buf, len, true);
	for (u64 off = 0; off < SGL_TOTAL; off++) {
		u8 want = off >= skip && off < skip + copied ? buf[off - skip] : 0xCC;
		u8 got = *sg_byte(r, off);
		if (got != want)
			fail_msg("skip %llu len %llu: list byte %llu is %#x, expected %#x", (unsigned long long)skip,
				 (unsigned long long)len, (unsigned long long)off, got, want);
	}
	/* Nothing around the entries was touched. */
	assert_true(all_bytes(r->buf, 0x1000, 0xCC));
	assert_true(all_bytes(r->buf + 0x1000 + 100, 0x3000 - 0x1000 - 100, 0xCC));
	assert_true(all_bytes(r->buf + 0x3001, 0x5000 - 0x3001, 0xCC));
	assert_true(all_bytes(r->buf + 0x5000 + 300, 0x8000 - 0x5000 - 300, 0xCC));
	assert_true(all_bytes(r->buf + 0x8000 + 50, 0x9000 - 0x8000 - 50, 0xCC));
}

/* Copy from the list; check exactly 'copied' bytes of buf changed. */
static void check_from_sg(struct fake_ram *r, u64 skip, u64 len, u64 copied)
{
	u8 buf[600];

	memset(r->buf, 0, 0x9000);
	for (u64 off = 0; off < SGL_TOTAL; off++)
		*sg_byte(r, off) = (u8)(off * 13 + 1);
	memset(buf, 0xCC, sizeof(buf));
	sg_copy(&r->pm, sgl, ARRAY_SIZE(sgl), skip, buf, len, false);
	for (u64 i = 0; i < sizeof(buf); i++) {
		u8 want = i < copied ? (u8)((skip + i) * 13 + 1) : 0xCC;
		if (buf[i] != want)
			fail_msg("skip %llu len %llu: buf[%llu] is %#x, expected %#x", (unsigned long long)skip,
				 (unsigned long long)len, (unsigned long long)i, buf[i], want);
	}
}

static void test_sg_copy_to_sg(void **state)
{
	struct fake_ram *r = *state;

	check_to_sg(r, 0, SGL_TOTAL, SGL_TOTAL);	/* everything */
	check_to_sg(r, 60, 350, 350);		/* 40 + 1 + 300 + 9: partial first and last */
	check_to_sg(r, 100, 1, 1);		/* exactly the one-byte entry */
	check_to_sg(r, 99, 3, 3);		/* across it */
	check_to_sg(r, 101, 300, 300);		/* exactly the third entry */
	check_to_sg(r, 150, 20, 20);		/* inside one entry */
	check_to_sg(r, 400, 200, SGL_TOTAL - 400);	/* more than the list holds */
	check_to_sg(r, SGL_TOTAL - 1, 5, 1);
	check_to_sg(r, SGL_TOTAL, 5, 0);		/* skip at the end */
	check_to_sg(r, 1000, 5, 0);		/* skip beyond */
	check_to_sg(r, 10, 0, 0);		/* nothing */
}

static void test_sg_copy_from_sg(void **state)
{
	struct fake_ram *r = *state;

	check_from_sg(r, 0, SGL_TOTAL, SGL_TOTAL);
	check_from_sg(r, 60, 350, 350);
	check_from_sg(r, 100, 1, 1);
	check_from_sg(r, 99, 3, 3);
	check_from_sg(r, 101, 300, 300);
	check_from_sg(r, 150, 20, 20);
	check_from_sg(r, 400, 200, SGL_TOTAL - 400);
	check_from_sg(r, SGL_TOTAL, 5, 0);
	check_from_sg(r, 10, 0, 0);
}

/* Chunked copies with a moving skip reassemble the whole transfer (how the mediator bounces). */
static void test_sg_copy_chunks_round_trip(void **state)
{
	struct fake_ram *r = *state;
	u8 src[SGL_TOTAL], back[SGL_TOTAL];

	memset(r->buf, 0, 0x9000);
	fill_pattern(src, sizeof(src), 0x31);
	for (u64 off = 0; off < SGL_TOTAL; off += 64)
		sg_copy(&r->pm, sgl, ARRAY_SIZE(sgl), off, src + off, MIN(64, SGL_TOTAL - off), true);
	for (u64 off = 0; off < SGL_TOTAL; off++)
		assert_int_equal(*sg_byte(r, off), src[off]);
	memset(back, 0, sizeof(back));
	for (u64 off = 0; off < SGL_TOTAL; off += 33)
		sg_copy(&r->pm, sgl, ARRAY_SIZE(sgl), off, back + off, MIN(33, SGL_TOTAL - off), false);
	assert_memory_equal(back, src, SGL_TOTAL);
}

/* An entry outside the window is skipped without losing the buffer position. */
static void test_sg_copy_entry_outside_window(void **state)
{
	struct fake_ram *r = *state;
	const struct sg_entry sg[] = { { 0x1000, 16 }, { RAM_SIZE - 8, 16 }, { 0x2000, 16 } };
	u8 buf[48];

	memset(r->buf, 0xCC, 0x3000);
	fill_pattern(buf, sizeof(buf), 1);
	sg_copy(&r->pm, sg, 3, 0, buf, sizeof(buf), true);
	assert_memory_equal(fake_at(r, 0x1000, 16), buf, 16);
	assert_memory_equal(fake_at(r, 0x2000, 16), buf + 32, 16);
	assert_true(all_bytes(fake_at(r, RAM_SIZE - 8, 8), 8, 0));	/* the fake RAM's initial fill */
}


/* ---- AHCI PRDT and NVMe PRP lists ---- */

static void test_ahci_prdt(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[8];
	u64 total;
	u8 *t = fake_at(r, 0x20000 + 0x80, 48);

	put64(t, 0x300000);			/* 4 KiB */
	put32(t + 12, 0xFFF | 1u << 31);	/* interrupt bit ignored */
	put64(t + 16, 0x500200);		/* 512 bytes, unaligned start */
	put32(t + 28, 0x1FF);
	put64(t + 32, 0x600000);		/* 4 MiB, the most one entry holds */
	put32(t + 44, 0x3FFFFF);
	assert_int_equal(ahci_prdt_parse(&r->pm, 0x20000, 3, &lim, sg, 8, &total), 3);
	assert_int_equal(total, 0x1000 + 0x200 + 0x400000);
	assert_int_equal(sg[1].pa, 0x500200);
	assert_int_equal(sg[1].len, 0x200);
	assert_int_equal(sg[2].len, 0x400000);
	assert_int_equal(ahci_prdt_parse(&r->pm, 0x20000, 3, &lim, sg, 2, &total), -EINVAL);	/* too many */
	put64(t + 16, 0x4000000);		/* into the hypervisor region */
	assert_int_equal(ahci_prdt_parse(&r->pm, 0x20000, 3, &lim, sg, 8, &total), -EFAULT);
	put64(t + 16, 0x7FFFF00);		/* runs past ram_top */
	put32(t + 28, 0x1FFF);
	assert_int_equal(ahci_prdt_parse(&r->pm, 0x20000, 3, &lim, sg, 8, &total), -EFAULT);
	/* the table itself in the hypervisor region */
	assert_int_equal(ahci_prdt_parse(&r->pm, 0x4000000, 1, &lim, sg, 8, &total), -EFAULT);
}

static void test_nvme_prp_one_two_pages(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[4];
	u32 n;

	/* 512 bytes at an offset: PRP1 only. */
	assert_int_equal(nvme_prp_walk(&r->pm, 0x300100, 0, 512, &lim, sg, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sg[0].pa, 0x300100);
	assert_int_equal(sg[0].len, 512);
	/* 4 KiB starting 0x800 into a page: PRP1 to the page end, PRP2 the next page. */
	assert_int_equal(nvme_prp_walk(&r->pm, 0x300800, 0x700000, 4096, &lim, sg, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sg[0].len, 0x800);
	assert_int_equal(sg[1].pa, 0x700000);
	assert_int_equal(sg[1].len, 0x800);
	assert_int_equal(nvme_prp_walk(&r->pm, 0x300800, 0x700010, 4096, &lim, sg, 4, &n), -EFAULT);	/* PRP2 offset */
	assert_int_equal(nvme_prp_walk(&r->pm, 0x300002, 0, 512, &lim, sg, 4, &n), -EFAULT);	/* not dword aligned */
	assert_int_equal(nvme_prp_walk(&r->pm, 0x4000000, 0, 512, &lim, sg, 4, &n), -EFAULT);	/* hypervisor */
}

static void test_nvme_prp_list_chain(void **state)
{
	struct fake_ram *r = *state;
	struct sg_entry sg[600];
	u32 n;

	/* 520 pages: the first list page holds 511 entries and a pointer to the second. */
	u64 l1 = 0x40000, l2 = 0x50000;
	for (u32 i = 0; i < 511; i++)
		put64(fake_at(r, l1 + 8 * i, 8), 0x1000000 + 0x1000ull * (i + 1));
	put64(fake_at(r, l1 + 8 * 511, 8), l2);
	for (u32 i = 0; i < 8; i++)
		put64(fake_at(r, l2 + 8 * i, 8), 0x1000000 + 0x1000ull * (i + 512));
	u64 bytes = 520ull * 4096 - 0x200;	/* first page starts at 0x200 */
	assert_int_equal(nvme_prp_walk(&r->pm, 0x1000200, l1, bytes, &lim, sg, 600, &n), 0);
	assert_int_equal(n, 520);
	assert_int_equal(sg[0].len, 0xE00);
	assert_int_equal(sg[511].pa, 0x1000000 + 0x1000ull * 511);	/* from the second list page */
	assert_int_equal(sg[519].pa, 0x1000000 + 0x1000ull * 519);
	u64 sum = 0;
	for (u32 i = 0; i < n; i++)
		sum += sg[i].len;
	assert_int_equal(sum, bytes);
	/* A list entry aimed at the hypervisor region: refused. */
	put64(fake_at(r, l2 + 8 * 3, 8), 0x4001000);
	assert_int_equal(nvme_prp_walk(&r->pm, 0x1000200, l1, bytes, &lim, sg, 600, &n), -EFAULT);
	/* The list itself in the hypervisor region: refused. */
	assert_int_equal(nvme_prp_walk(&r->pm, 0x1000000, 0x4000000, 3 * 4096, &lim, sg, 600, &n), -EFAULT);
	/* More entries than the caller has room for: refused, no overflow. */
	assert_int_equal(nvme_prp_walk(&r->pm, 0x1000200, l1, 8 * 4096, &lim, sg, 4, &n), -EFAULT);
}

/*
 * A list page's last slot aimed back into a last slot (itself, or another
 * page's) walked forever (fuzz_nvme_prp reports it as a timeout; its seed
 * regress-chain-loop is one).  Chain pointers must
 * start a page (NVMe: list entries have offset 0), so every list page
 * holds 511 data pointers and the walk ends.  In a child with an alarm, so
 * that a regression fails instead of hanging the run.
 */
static int prp_chain_loops_child(void *arg)
{
	struct fake_ram *r = arg;
	struct sg_entry sg[8];
	u32 n;
	int bad = 0;

	alarm(10);
	put64(fake_at(r, 0x40FF8, 8), 0x40FF8);		/* itself */
	bad |= nvme_prp_walk(&r->pm, 0x1000000, 0x40FF8, 3 * 4096, &lim, sg, 8, &n) != -EFAULT;
	put64(fake_at(r, 0x50FF8, 8), 0x60FF8);		/* two pages pointing at each other */
	put64(fake_at(r, 0x60FF8, 8), 0x50FF8);
	bad |= nvme_prp_walk(&r->pm, 0x1000000, 0x50FF0, 3 * 4096, &lim, sg, 8, &n) != -EFAULT;
	put64(fake_at(r, 0x70FF8, 8), 0x80010);		/* an offset into the next page */
	bad |= nvme_prp_walk(&r->pm, 0x1000000, 0x70FF8, 3 * 4096, &lim, sg, 8, &n) != -EFAULT;
	/* A page-aligned chain pointer is still followed. */
	put64(fake_at(r, 0x90FF8, 8), 0xA0000);
	put64(fake_at(r, 0xA0000, 8), 0x2000000);
	put64(fake_at(r, 0xA0008, 8), 0x2001000);
	bad |= nvme_prp_walk(&r->pm, 0x1000000, 0x90FF8, 3 * 4096, &lim, sg, 8, &n) != 0 || n != 3 ||
	       sg[2].pa != 0x2001000;
	return bad;
}

static void test_nvme_prp_chain_loops(void **state)
{
	assert_int_equal(run_isolated(prp_chain_loops_child, *state), 0);
}

/* ---- prd_build: our own PRD tables for the controller ---- */

static void prd_get(const u8 *t, u32 i, u32 *base, u32 *cnt, bool *eot)
{
	u16 c, f;
	memcpy(base, t + 8 * i, 4);
	memcpy(&c, t + 8 * i + 4, 2);
	memcpy(&f, t + 8 * i + 6, 2);
	*cnt = c ? c : 0x10000;
	*eot = f & 0x8000;
}

static void test_prd_build_bounce_1mib(void **state)
{
	(void)state;
	u8 t[4096];
	struct sg_entry sg = { 0x200000, 0x100000 };
	int n = prd_build(t, 512, &sg, 1, 0x100000);
	assert_int_equal(n, 16);	/* sixteen 64 KiB entries, count field 0 */
	for (u32 i = 0; i < 16; i++) {
		u32 base, cnt;
		bool eot;
		prd_get(t, i, &base, &cnt, &eot);
		assert_int_equal(base, 0x200000 + 0x10000 * i);
		assert_int_equal(cnt, 0x10000);
		assert_int_equal(eot, i == 15);
	}
}

static void test_prd_build_splits_at_64k_boundaries(void **state)
{
	(void)state;
	u8 t[4096];
	/* Starts 512 bytes below a 64 KiB boundary; the list is longer than needed. */
	struct sg_entry sg[2] = { { 0x1FE00, 0x1000 }, { 0x50000, 0x20000 } };
	int n = prd_build(t, 512, sg, 2, 0x1000 + 0x800);
	assert_int_equal(n, 3);
	u32 base, cnt;
	bool eot;
	prd_get(t, 0, &base, &cnt, &eot);
	assert_int_equal(base, 0x1FE00); assert_int_equal(cnt, 0x200); assert_false(eot);
	prd_get(t, 1, &base, &cnt, &eot);
	assert_int_equal(base, 0x20000); assert_int_equal(cnt, 0xE00); assert_false(eot);
	prd_get(t, 2, &base, &cnt, &eot);
	assert_int_equal(base, 0x50000); assert_int_equal(cnt, 0x800); assert_true(eot);
}

static void test_prd_build_limits(void **state)
{
	(void)state;
	u8 t[4096];
	struct sg_entry small = { 0x1000, 0x200 }, odd = { 0x1001, 0x200 }, high = { 0xFFFFF000, 0x2000 };
	struct sg_entry pages[600];
	for (u32 i = 0; i < 600; i++)
		pages[i] = (struct sg_entry){ 0x100000 + 0x2000ull * i, 0x1000 };
	assert_int_equal(prd_build(t, 512, &small, 1, 0x400), -EINVAL);	/* list too short */
	assert_int_equal(prd_build(t, 512, &odd, 1, 0x200), -EINVAL);
	assert_int_equal(prd_build(t, 512, &high, 1, 0x2000), -EINVAL);	/* above 4 GiB */
	assert_int_equal(prd_build(t, 512, pages, 600, 600 * 0x1000), -ENOMEM);
	assert_int_equal(prd_build(t, 512, pages, 600, 512 * 0x1000), 512);
}

/*
 * Found by fuzz_prd_build: a list entry whose end wraps past 2^64 passed
 * the "above 4 GiB" check and became PRD entries for the address's low 32
 * bits.  (The guest's own lists cannot get there: prd_parse gives 32-bit
 * bases.)
 */
static void test_prd_build_wrapping_entry(void **state)
{
	(void)state;
	u8 t[4096];
	struct sg_entry wrap = { 0xFFFFFFFFFFFF0158ull, 0x79FFFE };
	struct sg_entry top = { 0xFFFFFFFFFFFFFFFEull, 2 };

	assert_int_equal(prd_build(t, 23, &wrap, 1, 0x24FFCA), -EINVAL);
	assert_int_equal(prd_build(t, 512, &top, 1, 2), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_every_opcode),
		cmocka_unit_test(test_classify_data_commands),
		cmocka_unit_test(test_classify_refused),
		cmocka_unit_test(test_tf_lba28),
		cmocka_unit_test(test_tf_lba48),
		cmocka_unit_test(test_tf_chs),
		cmocka_unit_test(test_prd_build_bounce_1mib),
		cmocka_unit_test(test_prd_build_splits_at_64k_boundaries),
		cmocka_unit_test(test_prd_build_limits),
		cmocka_unit_test(test_prd_build_wrapping_entry),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_ahci_prdt),
		T(test_nvme_prp_one_two_pages),
		T(test_nvme_prp_list_chain),
		T(test_nvme_prp_chain_loops),
		T(test_prd_single),
		T(test_prd_count_zero_is_64k),
		T(test_prd_odd_sizes),
		T(test_prd_multiple_total),
		T(test_prd_odd_base),
		T(test_prd_no_eot),
		T(test_prd_max_capped),
		T(test_prd_table_crosses_page),
		T(test_prd_table_in_hv_region),
		T(test_prd_table_outside_ram),
		T(test_prd_buffer_in_hv_region),
		T(test_prd_buffer_past_ram_top),
		T(test_sg_copy_to_sg),
		T(test_sg_copy_from_sg),
		T(test_sg_copy_chunks_round_trip),
		T(test_sg_copy_entry_outside_window),
#undef T
	};
	return RUN_TESTS(tests);
}
