/*
 * libFuzzer target for a container log's reader (src/container/
 * log_format.c): the log is written by the VMM, which runs guest-facing
 * code, and read back by `logs`. Input: u8 flags (bit 0: -t; bits 1-3:
 * lines to skip, as --tail), u8 split, then a log file's bytes (header,
 * records). Besides the sanitizers it checks that feeding the records in
 * two reads (a follower's, cut at `split`) emits exactly what one read
 * does, that a reader never takes more than it was given, and that the
 * place a follower reads at (ctr_log_place) stays inside the file's
 * offsets whatever the header says.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container/log_format.h"
#include "fuzz_seed.h"

/* ---- seeds: logs as the writer lays them out ---- */

static size_t put(uint8_t *b, size_t at, int stream, int64_t ns,
		  const char *text)
{
	size_t n = strlen(text);

	ctr_log_rec_put(b + at, stream, ns, (uint32_t)n);
	memcpy(b + at + CTR_LOG_REC_HDR, text, n);
	return at + CTR_LOG_REC_HDR + n;
}

static void make_seeds(void)
{
	uint8_t b[1024];
	size_t n;

	b[0] = 1, b[1] = 40;
	ctr_log_hdr_put(b + 2, 0);
	n = put(b, 2 + CTR_LOG_HDR, 1, 1700000000123456789LL, "out1\n");
	n = put(b, n, 2, 1700000000223456789LL, "err1\n");
	n = put(b, n, 1, 1700000000323456789LL, "par");
	n = put(b, n, 1, 1700000000423456789LL, "tial\n");
	seed_write("interleaved", b, n);
	b[0] = 2 << 1; /* --tail: skip two */
	ctr_log_hdr_put(b + 2, 123456);
	seed_write("tail_after_cap", b, n);
	b[0] = 1;
	n = put(b, n, 2, -1, "a\nb\nc"); /* lines in one record, no end */
	seed_write("several_lines", b, n);
}

FUZZ_SEEDS(make_seeds)

/* ---- the harness ---- */

struct digest {
	uint64_t h, bytes;
};

static int hash_emit(void *opaque, int stream, const void *data, size_t len)
{
	struct digest *d = opaque;
	const uint8_t *p = data;

	if (stream != 1 && stream != 2)
		abort(); /* the reader only passes on streams it checked */
	d->h = (d->h ^ (uint64_t)stream) * 1099511628211ULL;
	for (size_t i = 0; i < len; i++)
		d->h = (d->h ^ p[i]) * 1099511628211ULL;
	d->bytes += len;
	return 0;
}

static void reader(struct ctr_log_reader *rd, struct digest *d, uint8_t flags)
{
	*d = (struct digest){14695981039346656037ULL, 0};
	*rd = (struct ctr_log_reader){.timestamps = flags & 1,
				      .skip = (flags >> 1) & 7,
				      .emit = hash_emit,
				      .opaque = d};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctr_log_reader one, two;
	struct digest d1, d2;
	size_t taken, t1 = 0, t2 = 0, k, len;
	uint64_t base = 0, at, off;
	const uint8_t *body;
	int r1, r2;

	if (size < 2)
		return 0;
	body = data + 2, len = size - 2;
	if (!ctr_log_hdr_parse(body, len, &base))
		body += CTR_LOG_HDR, len -= CTR_LOG_HDR;
	/* wherever a follower was, and whatever the header says */
	for (uint64_t pos = 0; pos < 3; pos++)
		if (!ctr_log_place(pos * (base + 1), base, &at, &off) &&
		    (off < CTR_LOG_HDR || at < base))
			abort();
	reader(&one, &d1, data[0]);
	r1 = ctr_log_feed(&one, body, len, &taken);
	if (taken > len || (r1 && r1 != -EBADMSG))
		abort();
	/* the same in two reads: the first sees only `split` bytes */
	reader(&two, &d2, data[0]);
	k = data[1] < len ? data[1] : len;
	r2 = ctr_log_feed(&two, body, k, &t1);
	if (!r2)
		r2 = ctr_log_feed(&two, body + t1, len - t1, &t2);
	if (r1 != r2 || taken != t1 + t2 || d1.h != d2.h ||
	    d1.bytes != d2.bytes || one.lines != two.lines)
		abort();
	return 0;
}
