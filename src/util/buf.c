#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

void sm_buf_free(struct sm_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void sm_buf_put(struct sm_buf *b, const void *p, size_t len)
{
	if (b->oom)
		return;
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *n;

		while (cap - b->len < len) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		n = realloc(b->data, cap);
		if (!n) {
			b->oom = true;
			return;
		}
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

void sm_buf_put_u8(struct sm_buf *b, uint8_t v)
{
	sm_buf_put(b, &v, 1);
}

void sm_buf_put_u16(struct sm_buf *b, uint16_t v)
{
	uint8_t x[2] = {v, v >> 8};

	sm_buf_put(b, x, 2);
}

void sm_buf_put_u32(struct sm_buf *b, uint32_t v)
{
	sm_buf_put_u16(b, (uint16_t)v);
	sm_buf_put_u16(b, (uint16_t)(v >> 16));
}

void sm_buf_put_u64(struct sm_buf *b, uint64_t v)
{
	sm_buf_put_u32(b, (uint32_t)v);
	sm_buf_put_u32(b, (uint32_t)(v >> 32));
}

void sm_reader_init(struct sm_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->left = len;
	r->bad = false;
}

void sm_get(struct sm_reader *r, void *dst, size_t len)
{
	if (r->bad || len > r->left) {
		r->bad = true;
		memset(dst, 0, len);
		return;
	}
	memcpy(dst, r->p, len);
	r->p += len;
	r->left -= len;
}

uint8_t sm_get_u8(struct sm_reader *r)
{
	uint8_t v;

	sm_get(r, &v, 1);
	return v;
}

uint16_t sm_get_u16(struct sm_reader *r)
{
	uint8_t x[2];

	sm_get(r, x, 2);
	return (uint16_t)(x[0] | x[1] << 8);
}

uint32_t sm_get_u32(struct sm_reader *r)
{
	uint32_t lo = sm_get_u16(r);

	return lo | (uint32_t)sm_get_u16(r) << 16;
}

uint64_t sm_get_u64(struct sm_reader *r)
{
	uint64_t lo = sm_get_u32(r);

	return lo | (uint64_t)sm_get_u32(r) << 32;
}

void sm_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}
