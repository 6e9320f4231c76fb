/*
 * A container's log (docs/containers.md, "Logs"; the format in
 * log_format.h): written by the VM's process, read by `logs`.
 */
#ifndef SM_CONTAINER_LOGS_H
#define SM_CONTAINER_LOGS_H

#include <stdint.h>

#include "container/container.h"
#include "container/log_format.h"

#define CTR_LOG_FILE "container.log"
#define CTR_LOG_DEFAULT_CAP (10ULL << 20) /* docker's 10m, as a max-size */
#define CTR_LOG_MIN_CAP (64ULL << 10)	  /* a smaller max-size: this */

struct ctr_log_writer;

/* Opens the record's log for its run, at most cap bytes (0: the default;
 * less than CTR_LOG_MIN_CAP: that): after the records an earlier run of
 * the record left (a start), else afresh. */
int ctr_log_open(struct ctr *c, uint64_t cap, struct ctr_log_writer **out,
		 struct sm_error *err);
/* The same on an fd opened for reading and writing (taken). */
int ctr_log_open_fd(int fd, uint64_t cap, struct ctr_log_writer **out,
		    struct sm_error *err);
void ctr_log_close(struct ctr_log_writer *w);
int ctr_log_fd(const struct ctr_log_writer *w);
/* Appends output of stream 1 or 2 received at ns; 0 or -errno (the
 * file then holds what it held before). */
int ctr_log_append(struct ctr_log_writer *w, int stream, int64_t ns,
		   const void *data, size_t len);
/* ctr_log_append() now, for the VM's output sink (run/output_sink.h). */
void ctr_log_sink(void *opaque, int stream, const uint8_t *data, size_t len);

/*
 * Feeds rd every whole record of the log on fd from *pos (a position in
 * everything ever written: records dropped by the cap do not move it;
 * 0: the oldest kept) on; *pos moves past them.
 */
int ctr_log_read(int fd, uint64_t *pos, struct ctr_log_reader *rd,
		 struct sm_error *err);

#endif
