/*
 * Growable byte buffer and a bounds-checked reader: the encoding used by
 * device save/restore records (little endian, fixed-width fields).
 */
#ifndef SM_UTIL_BUF_H
#define SM_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sm_buf {
	uint8_t *data;
	size_t len, cap;
	bool oom; /* an append failed: the buffer is incomplete */
};

void sm_buf_free(struct sm_buf *b);

/*
 * Formats onto the end of a fixed string buffer: writes at buf + *off,
 * never past size, and advances *off (which may then exceed size: later
 * calls write nothing). For messages built in pieces.
 */
void sm_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sm_buf_put(struct sm_buf *b, const void *p, size_t len);
void sm_buf_put_u8(struct sm_buf *b, uint8_t v);
void sm_buf_put_u16(struct sm_buf *b, uint16_t v);
void sm_buf_put_u32(struct sm_buf *b, uint32_t v);
void sm_buf_put_u64(struct sm_buf *b, uint64_t v);

struct sm_reader {
	const uint8_t *p;
	size_t left;
	bool bad; /* a read ran past the end: everything after reads 0 */
};

void sm_reader_init(struct sm_reader *r, const void *p, size_t len);
void sm_get(struct sm_reader *r, void *dst, size_t len);
uint8_t sm_get_u8(struct sm_reader *r);
uint16_t sm_get_u16(struct sm_reader *r);
uint32_t sm_get_u32(struct sm_reader *r);
uint64_t sm_get_u64(struct sm_reader *r);

#endif
