/*
 * Volume mounts of the process spec (SM_S_MOUNT, SM_S_TMPFS; see
 * docs/volumes.md): collected while the spec is parsed, mounted once the
 * root is in place and before the process starts.
 */
#ifndef SM_INIT_MOUNTS_H
#define SM_INIT_MOUNTS_H

#include <stddef.h>
#include <stdint.h>

/* Takes one spec record; -1 when it is malformed (the spec is refused). */
int mounts_add(uint16_t tag, const uint8_t *v, uint32_t len);
/* Mounts everything in order; -1 with a message in why on the first
 * failure (the process is then not started). */
int mounts_apply(char *why, size_t wl);

#endif
