/* Registry authentication helpers. */
#ifndef SM_OCI_AUTH_H
#define SM_OCI_AUTH_H

struct auth_challenge {
	char *realm, *service, *scope;
};

/* Bounds on a registry's WWW-Authenticate header and on each of its
 * values (realm, service, scope). */
#define AUTH_HEADER_MAX 8192
#define AUTH_VALUE_MAX 1024

/* 'b' Bearer, 'B' Basic, 0 unknown scheme, -E2BIG over the bounds,
 * -ENOMEM. */
int auth_parse_challenge(const char *header, struct auth_challenge *c);
void auth_challenge_free(struct auth_challenge *c);
/* 1: Basic credentials for registry_base ("http(s)://host[:port]") may
 * go to the token realm; 0: ask the realm anonymously; -EINVAL: the realm
 * is not an absolute http(s) URL and must not be fetched. */
int auth_realm_gets_creds(const char *registry_base, const char *realm);
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
