/*
 * A container log's records (log_format.h): encoding, and reading them
 * back from bytes nobody vouches for (the VMM wrote them).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "container/log_format.h"

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void ctr_log_hdr_put(uint8_t hdr[CTR_LOG_HDR], uint64_t base)
{
	memcpy(hdr, CTR_LOG_MAGIC, 8);
	put_le64(hdr + 8, base);
}

int ctr_log_hdr_parse(const uint8_t *buf, size_t len, uint64_t *base)
{
	if (len < CTR_LOG_HDR || memcmp(buf, CTR_LOG_MAGIC, 8))
		return -EBADMSG;
	*base = get_le64(buf + 8);
	return 0;
}

void ctr_log_rec_put(uint8_t hdr[CTR_LOG_REC_HDR], int stream, int64_t ns,
		     uint32_t len)
{
	hdr[0] = (uint8_t)stream;
	hdr[1] = hdr[2] = hdr[3] = 0;
	for (int i = 0; i < 4; i++)
		hdr[4 + i] = (uint8_t)(len >> (8 * i));
	put_le64(hdr + 8, (uint64_t)ns);
}

ssize_t ctr_log_rec_size(const uint8_t hdr[CTR_LOG_REC_HDR])
{
	uint32_t n = (uint32_t)hdr[4] | (uint32_t)hdr[5] << 8 |
		     (uint32_t)hdr[6] << 16 | (uint32_t)hdr[7] << 24;

	if ((hdr[0] != 1 && hdr[0] != 2) || hdr[1] || hdr[2] || hdr[3] ||
	    n > CTR_LOG_REC_MAX)
		return -EBADMSG;
	return (ssize_t)(CTR_LOG_REC_HDR + n);
}

ssize_t ctr_log_rec_parse(const uint8_t *buf, size_t len, struct ctr_log_rec *r)
{
	ssize_t size;
	uint32_t n;

	if (len < CTR_LOG_REC_HDR)
		return 0;
	if ((size = ctr_log_rec_size(buf)) < 0)
		return size;
	n = (uint32_t)(size - CTR_LOG_REC_HDR);
	if (len < (size_t)size)
		return 0;
	r->stream = buf[0];
	r->len = n;
	r->time_ns = (int64_t)get_le64(buf + 8);
	r->data = buf + CTR_LOG_REC_HDR;
	return (ssize_t)(CTR_LOG_REC_HDR + n);
}

int ctr_log_place(uint64_t pos, uint64_t base, uint64_t *at, uint64_t *off)
{
	*at = pos > base ? pos : base;
	if (*at - base > UINT64_MAX / 2) /* an off_t holds it */
		return -EOVERFLOW;
	*off = CTR_LOG_HDR + (*at - base);
	return 0;
}

size_t ctr_log_timestamp(int64_t ns, char *buf, size_t size)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	struct tm tm;
	time_t t;
	int n;

	if (frac < 0) /* before 1970: the fraction counts up, as Go's */
		frac += 1000000000, sec--;
	t = (time_t)sec;
	/* a time no calendar of four-digit years holds: the epoch */
	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900)
		t = 0, frac = 0, gmtime_r(&t, &tm);
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (int)frac);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* One record's bytes, line by line (a record may hold several when some
 * other writer made it). */
static int feed_record(struct ctr_log_reader *rd, const struct ctr_log_rec *r)
{
	const uint8_t *d = r->data;
	size_t pos = 0;
	int s = r->stream, ret;

	if ((rd->since_ns && r->time_ns < rd->since_ns) ||
	    (rd->until_ns && r->time_ns > rd->until_ns)) {
		if (r->len) /* its line goes on in the next, or not */
			rd->mid_line[s] = d[r->len - 1] != '\n';
		return 0;
	}
	while (pos < r->len) {
		const uint8_t *nl = memchr(d + pos, '\n', r->len - pos);
		size_t end = nl ? (size_t)(nl - d) + 1 : r->len;
		bool starts = !rd->mid_line[s];

		if (starts) {
			rd->lines++;
			rd->drop[s] = rd->skip > 0;
			if (rd->skip)
				rd->skip--;
		}
		if (rd->emit && !rd->drop[s]) {
			char ts[64];
			size_t tl =
			    starts && rd->timestamps
				? ctr_log_timestamp(r->time_ns, ts, sizeof(ts))
				: 0;

			if (tl && (ret = rd->emit(rd->opaque, s, ts, tl)))
				return ret;
			if ((ret = rd->emit(rd->opaque, s, d + pos, end - pos)))
				return ret;
		}
		rd->mid_line[s] = !nl;
		pos = end;
	}
	return 0;
}

int ctr_log_feed(struct ctr_log_reader *rd, const uint8_t *buf, size_t len,
		 size_t *taken)
{
	struct ctr_log_rec r;
	ssize_t n;
	int ret;

	*taken = 0;
	while ((n = ctr_log_rec_parse(buf + *taken, len - *taken, &r)) > 0) {
		if ((ret = feed_record(rd, &r)))
			return ret;
		*taken += (size_t)n;
	}
	return (int)n; /* 0: the rest is part of a record, or nothing */
}
