/* Registry authentication helpers. */
#ifndef SM_OCI_AUTH_H
#define SM_OCI_AUTH_H

struct auth_challenge {
	char *realm, *service, *scope;
};

/* 'b' Bearer, 'B' Basic, 0 unknown scheme. */
int auth_parse_challenge(const char *header, struct auth_challenge *c);
void auth_challenge_free(struct auth_challenge *c);
/*
 * The token server's JSON answer (distribution token spec): *token is
 * "token", or "access_token" when that is absent or empty (caller
 * frees); *expires_in its lifetime in seconds (60 when absent or not
 * positive, AUTH_TOKEN_MAX_S at most). -EIO: no token in the answer,
 * -ENOMEM.
 */
#define AUTH_TOKEN_MAX_S 86400
int auth_parse_token(const char *body, size_t len, char **token,
		     long long *expires_in);
/* Base64 of a string; caller frees. */
char *auth_b64(const char *in);

#endif
