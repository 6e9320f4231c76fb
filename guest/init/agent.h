#ifndef SM_INIT_AGENT_H
#define SM_INIT_AGENT_H

/* Runs the process the VMM sends over vsock; returns its exit status. */
int agent_run(void);
/* Set by init: the root is a tmpfs overlay of the image, where the
 * agent may write the VM's identity files (/etc/hostname, hosts,
 * machine-id). 0: the root is the host's directory itself (an OCI
 * bundle's), whose files belong to its engine: left alone. */
extern int agent_root_overlay;

#endif
