#ifndef SM_INIT_AGENT_H
#define SM_INIT_AGENT_H

/* Runs the process the VMM sends over vsock; returns its exit status. */
int agent_run(void);

#endif
