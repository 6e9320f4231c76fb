/*
 * Keeps a slirp guest off the host's loopback (docs/networking.md, "The
 * host's loopback"). libslirp maps every address of its network but the
 * DNS forwarder (10.0.2.2, and any other 10.0.2.x) to the host's
 * 127.0.0.1, and the DNS forwarder 10.0.2.3 to the host's resolver. Its own
 * switch, disable_host_loopback, also drops the guest's UDP answers to a
 * published port (the answer goes to 10.0.2.2, like a new datagram would), so
 * the guard is ours, on the guest's frames before slirp sees them:
 *   - TCP to 10.0.2.x (not the DNS forwarder): a SYN without ACK (a new
 *     connection from the guest), a fragment, or a first fragment too
 *     short to hold the flags is dropped; every other segment belongs
 *     to a connection the host opened to a published port, or to none
 *     (slirp answers those with a reset);
 *   - UDP to 10.0.2.x: passes only as the answer to a datagram that
 *     slirp delivered from that address and port to that guest port (a
 *     published UDP port's peer), remembered in a small table;
 *   - ICMP passes (slirp answers an echo to its own addresses itself);
 *     other protocols to 10.0.2.x are dropped;
 *   - to 10.0.2.3, only port 53 (UDP and TCP) and ICMP pass.
 * Everything runs on the slirp thread; frames are the device's host
 * copies.
 */
#ifndef SM_NET_LO_GUARD_H
#define SM_NET_LO_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LO_GUARD_FLOWS 64

struct lo_flow {
	uint32_t peer_addr;		/* network order, a 10.0.2.x address */
	uint16_t peer_port, guest_port; /* host order */
	bool used;
};

struct lo_guard {
	struct lo_flow flows[LO_GUARD_FLOWS];
	unsigned next; /* the slot to reuse when all are taken */
	uint64_t dropped;
};

/* A frame slirp sends to the guest: remembers a UDP peer on 10.0.2.x. */
void lo_guard_to_guest(struct lo_guard *g, const uint8_t *frame, size_t len);

/* May this guest frame go to slirp? */
bool lo_guard_from_guest(struct lo_guard *g, const uint8_t *frame, size_t len);

#endif
