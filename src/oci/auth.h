/* Registry authentication helpers. */
#ifndef SM_OCI_AUTH_H
#define SM_OCI_AUTH_H

struct auth_challenge {
	char *realm, *service, *scope;
};

/* 'b' Bearer, 'B' Basic, 0 unknown scheme. */
int auth_parse_challenge(const char *header, struct auth_challenge *c);
void auth_challenge_free(struct auth_challenge *c);
/* Base64 of a string; caller frees. */
char *auth_b64(const char *in);

#endif
