/*
 * Registry client (OCI distribution spec over libcurl): auth (anonymous,
 * Basic, Bearer tokens), redirects without credentials, retries with
 * backoff, resumable verified blob downloads.
 */
#ifndef SM_OCI_REGISTRY_H
#define SM_OCI_REGISTRY_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "oci/dl.h"
#include "oci/manifest.h"
#include "oci/ref.h"
#include "oci/store.h"

struct registry {
	struct sm_store *store;
	char *host;  /* API host[:port] */
	char *repo;  /* repository path */
	char *base;  /* "https://host" or "http://host" */
	char *basic; /* "Basic <b64>" or NULL */
	unsigned int retries;
	pthread_mutex_t lock; /* guards the token */
	char *token;	      /* "Bearer ..." */
	time_t token_expiry;
	char *realm, *service, *scope; /* last Bearer challenge */
	int basic_challenged;
};

int registry_open(struct registry *r, struct sm_store *s,
		  const struct oci_ref *ref, const struct sm_pull_options *o,
		  struct sm_error *err);
void registry_close(struct registry *r);

/* GET /v2/REPO/manifests/REF; digest_out: sha256 of the body. When ref is a
 * digest, the body must match it. */
int registry_get_manifest(struct registry *r, CURL *h, const char *ref,
			  char **body, size_t *len, char **ctype,
			  char *digest_out, struct sm_error *err);

/* Called with bytes so far (from the blob download). */
typedef void (*blob_progress_fn)(void *opaque, uint64_t cur, int retrying);

/* Downloads a blob into the store, verifying size and digest as it
 * streams; resumes with Range after a broken connection. */
int registry_get_blob(struct registry *r, CURL *h, const struct oci_desc *d,
		      blob_progress_fn cb, void *opaque, struct sm_error *err);

/* Reads credentials for host from the docker config ("user:pass"). */
char *registry_docker_creds(const char *domain);

#endif
