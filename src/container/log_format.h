/*
 * A container's log file (RUNTIME/containers/ID/container.log,
 * docs/containers.md "Logs"): its format, and the reader's core, which
 * works on bytes in memory so that the fuzzer reaches all of it.
 *
 *   header  16 bytes: "SMLOG\0\0\1", u64 le base (bytes of records
 *           dropped from the front so far: the cap, logs.c)
 *   record  16 bytes: u8 stream (1 stdout, 2 stderr), u8 0, u16 0,
 *           u32 le length (<= CTR_LOG_REC_MAX), u64 le CLOCK_REALTIME ns;
 *           then that many bytes of output
 *
 * Records are in the order the VMM received the output from the guest.
 * The writer cuts output at each newline, so a record holds at most one
 * line (or a piece of one). The file is written by the VMM, which runs
 * guest-facing code: a reader trusts none of it.
 */
#ifndef SM_CONTAINER_LOG_FORMAT_H
#define SM_CONTAINER_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTR_LOG_MAGIC "SMLOG\0\0\1"
#define CTR_LOG_HDR 16
#define CTR_LOG_REC_HDR 16
#define CTR_LOG_REC_MAX 16384 /* docker's 16 KiB pieces of a long line */

struct ctr_log_rec {
	int stream; /* 1 or 2 */
	int64_t time_ns;
	const uint8_t *data;
	uint32_t len;
};

void ctr_log_hdr_put(uint8_t hdr[CTR_LOG_HDR], uint64_t base);
/* 0 and *base, or -EBADMSG: not a log file's header (or too short). */
int ctr_log_hdr_parse(const uint8_t *buf, size_t len, uint64_t *base);

/* Writes a record's header into hdr. */
void ctr_log_rec_put(uint8_t hdr[CTR_LOG_REC_HDR], int stream, int64_t ns,
		     uint32_t len);
/* A record's size (header included) from its header, or -EBADMSG. */
ssize_t ctr_log_rec_size(const uint8_t hdr[CTR_LOG_REC_HDR]);
/*
 * The record at buf: its size with *r filled (> 0); 0 when buf holds
 * only part of one (a file being written, or cut short); -EBADMSG when it
 * is no record.
 */
ssize_t ctr_log_rec_parse(const uint8_t *buf, size_t len,
			  struct ctr_log_rec *r);

/*
 * Where a reader at pos (in everything written) reads, in a file whose
 * header says base: *at, pos or the oldest kept when the cap dropped
 * pos; *off, its file offset. -EOVERFLOW: no offset holds it.
 */
int ctr_log_place(uint64_t pos, uint64_t base, uint64_t *at, uint64_t *off);

/* docker's -t prefix: RFC3339 with 9 fractional digits, UTC, then a
 * space ("2006-01-02T15:04:05.000000000Z "). Its length, or 0. */
size_t ctr_log_timestamp(int64_t ns, char *buf, size_t size);

/*
 * docker's --since/--until argument (log_time.c): a Unix time, a Go
 * duration before now_ns, or an RFC 3339 date-time, whole or in part
 * (local time without a zone). 0 and *ns (CLOCK_REALTIME), or -EINVAL.
 */
int ctr_log_time_arg(const char *s, int64_t now_ns, int64_t *ns);

/* Where a reader's output goes: stream 1 or 2; -errno stops it. */
typedef int ctr_log_emit(void *opaque, int stream, const void *data,
			 size_t len);

/*
 * The reader's state across the records it is fed. A line starts where
 * its stream's previous record ended with a newline (or at its first):
 * lines are counted, and -t prefixed, per stream, as docker's entries.
 */
struct ctr_log_reader {
	bool timestamps;
	bool mid_line[3]; /* by stream: its last record ended mid-line */
	bool drop[3];	  /* by stream: its current line is skipped */
	uint64_t skip;	  /* line starts to pass over before emitting */
	uint64_t lines;	  /* line starts seen (emitted or not) */
	int64_t since_ns, until_ns; /* records outside: passed over (0: none) */
	ctr_log_emit *emit;	    /* NULL: count only */
	void *opaque;
};

/*
 * Feeds the whole records at the front of buf to rd; *taken: the bytes
 * of those it took (a partial record at the end is left for later).
 * 0, -EBADMSG at bytes that are no record, or what emit returned.
 */
int ctr_log_feed(struct ctr_log_reader *rd, const uint8_t *buf, size_t len,
		 size_t *taken);

#endif
