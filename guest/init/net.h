/*
 * Guest network setup (guest/init/net.c): lo always; eth0, the default
 * route and /etc/resolv.conf when the spec carries SM_S_NET.
 */
#ifndef SM_INIT_NET_H
#define SM_INIT_NET_H

#include <stdint.h>

/* Keeps the SM_S_NET record ("ADDR/PREFIX GATEWAY DNS") for net_configure. */
void net_set_spec(const uint8_t *v, uint32_t len);

/* Brings the network up; problems are reported on the console only. */
void net_configure(void);

#endif
