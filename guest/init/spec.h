/*
 * The process spec the host sends (SM_F_SPEC, src/proto/proto.h): parsed
 * here, run by agent.c. Apart from agent.c so that the fuzz target
 * (tests/fuzz/fuzz_guest_spec.c) and the unit tests can run the parser
 * on the build host: the records that act on the machine at once (the
 * clock, the RNG) go through spec_set_time and spec_add_entropy, which
 * agent.c defines and they replace.
 */
#ifndef SM_INIT_SPEC_H
#define SM_INIT_SPEC_H

#include <stdint.h>

#include "proto/proto.h"

struct spec {
	char *argv[SM_SPEC_MAX_ARGS + 1];
	int argc;
	char **env;
	int envc;
	char *cwd, *user, *hostname;
	int tty, stdin_open;
	int idle; /* SM_S_IDLE: wait for a signal instead of argv */
	unsigned short rows, cols;
};

/*
 * Fills sp from a SPEC payload; -1 when it is malformed (a NUL in a text
 * record, too many args or env entries, a bad mount, no argv). Volume
 * records go to mounts_add, the network's to net_set_spec.
 */
int parse_spec(const uint8_t *buf, uint32_t size, struct spec *sp);
/*
 * Frees what parse_spec allocated, also after a failure (the init keeps
 * its spec for the process's life and adds a static HOME to env: it
 * never calls this; the tests and the fuzz target do).
 */
void spec_free(struct spec *sp);

/* SM_S_TIME: the host's wall clock, ns since the epoch. */
void spec_set_time(uint64_t ns);
/* SM_S_ENTROPY: bytes for the guest RNG. */
void spec_add_entropy(const uint8_t *v, uint32_t len);

#endif
