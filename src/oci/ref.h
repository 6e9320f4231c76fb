/* Image references, parsed and normalised exactly as docker does. */
#ifndef SM_OCI_REF_H
#define SM_OCI_REF_H

#include "supermachine.h"

struct oci_ref {
	char *domain; /* "docker.io", "localhost:5000" */
	char *path;   /* "library/alpine" */
	char *tag;    /* "latest"; NULL when only a digest was given */
	char *digest; /* "sha256:<64 hex>" or NULL */
};

/* Parses s ("alpine", "ghcr.io/o/i@sha256:..."); fills r. */
int oci_ref_parse(const char *s, struct oci_ref *r, struct sm_error *err);
void oci_ref_free(struct oci_ref *r);

/* "docker.io/library/alpine:3.20" (tag or digest form); caller frees. */
char *oci_ref_string(const struct oci_ref *r);
/* "domain/path" without tag or digest; caller frees. */
char *oci_ref_name(const struct oci_ref *r);
/* Docker's short form of a full name: strips docker.io/ and library/. */
const char *oci_ref_familiar(const char *full_name);
/* Host to talk to: docker.io is served by registry-1.docker.io. */
const char *oci_ref_api_host(const struct oci_ref *r);

/* True for "sha256:" followed by 64 lowercase hex digits. */
int oci_digest_valid(const char *d);

#endif
