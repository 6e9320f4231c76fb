/*
 * The agent protocol between the VMM and the guest init, over one vsock
 * stream (guest connects to the host, CID 2, port SM_AGENT_PORT).
 * See docs/protocol.md. Header-only and libc-only: the static guest init
 * includes it too.
 *
 * Every frame: struct sm_frame_hdr (little endian) then `len` payload
 * bytes, len <= SM_FRAME_MAX. Strings in payloads are not NUL-terminated
 * on the wire; their length is the record's.
 */
#ifndef SM_PROTO_H
#define SM_PROTO_H

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define SM_AGENT_PORT 1024
/* 2: the init says SM_F_STARTED once the process runs. A host takes
 * inits from SM_PROTO_VERSION_MIN on (a restored snapshot's). */
#define SM_PROTO_VERSION 2
#define SM_PROTO_VERSION_MIN 1
#define SM_FRAME_MAX (256 * 1024)
#define SM_DATA_CHUNK (32 * 1024)

struct __attribute__((packed)) sm_frame_hdr {
	uint32_t len;
	uint16_t type;
	uint16_t reserved;
};

enum sm_frame_type {
	/* guest -> host */
	SM_F_HELLO = 1,	 /* u32 protocol version: init is ready for a spec */
	SM_F_STDOUT = 2, /* data */
	SM_F_STDERR = 3, /* data */
	SM_F_EXIT = 4,	 /* i32 status; the host answers SM_F_EXIT_ACK */
	SM_F_ERROR = 5,	 /* text: why the process could not start */
	SM_F_RESUME = 6, /* instead of HELLO after a restore: the process
			  * runs already, relay it (no spec) */
	SM_F_EXEC_HELLO = 7, /* u32 protocol version, u32 exec id: first
			      * frame of an exec connection */
	SM_F_STARTED = 8,    /* (v2) the process runs: its exec succeeded */
	/* host -> guest */
	SM_F_SPEC = 16,	 /* records, see below; starts the process */
	SM_F_STDIN = 17, /* data */
	SM_F_STDIN_EOF = 18,
	SM_F_SIGNAL = 19,  /* u32 signal number */
	SM_F_WINSIZE = 20, /* u16 rows, u16 cols */
	SM_F_EXIT_ACK = 21,
	SM_F_EXEC = 22,	    /* u32 exec id: open an exec connection */
	SM_F_IDENTITY = 23, /* spec records TIME, ENTROPY and HOSTNAME, sent
			     * after a RESUME: a clone of a snapshot sets
			     * its clock, reseeds its RNG and takes a new
			     * hostname and machine-id (an older init
			     * ignores it) */
};

/* SPEC payload: records of { u16 tag, u32 len, len bytes }. */
enum sm_spec_tag {
	SM_S_ARG = 1, /* one per argv element, in order */
	SM_S_ENV = 2, /* one per "K=V" */
	SM_S_CWD = 3,
	SM_S_USER = 4, /* "name", "uid", "uid:gid", "name:group" */
	SM_S_HOSTNAME = 5,
	SM_S_TTY = 6,	  /* u16 rows, u16 cols: run on a pty */
	SM_S_STDIN = 7,	  /* empty: keep stdin open (else /dev/null) */
	SM_S_TIME = 8,	  /* u64 ns since the epoch: host wall clock */
	SM_S_ENTROPY = 9, /* bytes to mix into the guest RNG */
	SM_S_NET = 10,	  /* text "ADDR/PREFIX GATEWAY DNS": configure eth0 */
	/* 11: reserved for networking */
	/* volumes (docs/volumes.md); text, so no NUL bytes */
	/* "SLOT:ro|rw:TARGET": virtio-fs smvolSLOT on TARGET;
	 * "SLOT:ro|rw,file:TARGET": the slot's one file (SM_VOL_FILE_NAME)
	 * bound on TARGET */
	SM_S_MOUNT = 12,
	SM_S_TMPFS = 13, /* "OPTIONS:TARGET": a tmpfs */
	SM_S_IDLE = 14,	 /* empty: the process only waits for a signal (a
			  * pool's VM: its work comes by exec); argv is
			  * its name, not run */
};

#define SM_SPEC_MAX_ARGS 4096
/* virtio-fs tag of volume slot N (SM_S_MOUNT) */
#define SM_VOL_TAG_FMT "smvol%u"
#define SM_VOL_SLOTS_MAX 16
/* the entry of a single-file slot's synthetic root (docs/volumes.md) */
#define SM_VOL_FILE_NAME "file"

static inline void sm_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void sm_put_le32(uint8_t *p, uint32_t v)
{
	sm_put_le16(p, (uint16_t)v);
	sm_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline uint16_t sm_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t sm_le32(const uint8_t *p)
{
	return sm_le16(p) | (uint32_t)sm_le16(p + 2) << 16;
}

/* Writes all of buf (retrying EINTR; waiting on a non-blocking fd). */
static inline int sm_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};

			poll(&pf, 1, 1000);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends one frame; -1 when the peer is gone. */
static inline int sm_send_frame(int fd, uint16_t type, const void *data,
				uint32_t len)
{
	uint8_t hdr[sizeof(struct sm_frame_hdr)];

	sm_put_le32(hdr, len);
	sm_put_le16(hdr + 4, type);
	sm_put_le16(hdr + 6, 0);
	if (sm_write_all(fd, hdr, sizeof(hdr)))
		return -1;
	return len ? sm_write_all(fd, data, len) : 0;
}

/*
 * Iterates SPEC records: returns 1 with *tag, *val, *len set and *off
 * advanced, 0 at the end, -1 on a malformed record.
 */
static inline int sm_spec_next(const uint8_t *buf, size_t size, size_t *off,
			       uint16_t *tag, const uint8_t **val,
			       uint32_t *len)
{
	if (*off == size)
		return 0;
	if (size - *off < 6)
		return -1;
	*tag = sm_le16(buf + *off);
	*len = sm_le32(buf + *off + 2);
	if (*len > size - *off - 6)
		return -1;
	*val = buf + *off + 6;
	*off += 6 + (size_t)*len;
	return 1;
}

#endif
