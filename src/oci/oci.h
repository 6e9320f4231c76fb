/*
 * Internal image API for the rest of supermachine (the run command):
 * oci_image_get() turns a reference into an unpacked, read-only rootfs and
 * its parsed config, pulling when the store lacks it.
 */
#ifndef SM_OCI_OCI_H
#define SM_OCI_OCI_H

#include <stddef.h>

#include "supermachine.h"

/* The runtime part of an image config (OCI image-spec "config"). */
struct oci_config {
	char **entrypoint; /* NULL-terminated or NULL when unset */
	char **cmd;
	char **env;	   /* "K=V" */
	char *working_dir; /* NULL when unset */
	char *user;
	char **exposed_ports; /* "80/tcp" */
	char **volumes;	      /* "/data" */
	char *stop_signal;
	char **label_keys; /* parallel arrays, NULL-terminated */
	char **label_values;
	char *os, *arch, *variant;
	long long created; /* seconds since epoch, 0 when unknown */
};

/* Parses an image config blob. */
int oci_config_parse(const char *json, size_t len, struct oci_config *c,
		     struct sm_error *err);
void oci_config_free(struct oci_config *c);

struct oci_image {
	char *name;	       /* normalised reference, "" if unnamed */
	char *manifest_digest; /* "sha256:..." */
	char *config_digest;
	char *dir;    /* ROOT/images/HEX */
	char *rootfs; /* ROOT/images/HEX/rootfs (read-only use) */
	/* Non-zero when ownership/mode live in the xattr
	 * "user.supermachine.owner" = "UID:GID:MODE" (octal mode with type
	 * bits), i.e. the image was unpacked without root. */
	int owners_in_xattr;
	struct oci_config config;
	int pin_fd; /* the image held (image_pin) while it is open; or -1 */
};

struct oci_get_options {
	int no_pull; /* fail instead of pulling */
	int pin;     /* hold the image until oci_image_free (for a VM) */
	const struct sm_pull_options *pull; /* may be NULL */
};

/* Looks ref up in the store (name or ID prefix), pulling when missing. */
int oci_image_get(struct sm_store *s, const char *ref,
		  const struct oci_get_options *o, struct oci_image **out,
		  struct sm_error *err);
void oci_image_free(struct oci_image *img);

#define OCI_OWNER_XATTR "user.supermachine.owner"

#endif
