/* Manifests and indexes (OCI and Docker schema 2), platform selection. */
#ifndef SM_OCI_MANIFEST_H
#define SM_OCI_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZ "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* What the registry Accept header lists (schema 1 only to refuse it). */
#define MANIFEST_ACCEPT                                                       \
	MT_OCI_INDEX                                                          \
	", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST ", " \
	"application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.1"

struct oci_desc {
	char *media_type;
	char *digest;
	int64_t size;
	char *os, *arch, *variant; /* index entries only */
	char *ref_name;		   /* org.opencontainers.image.ref.name */
};

enum oci_kind { OCI_KIND_MANIFEST, OCI_KIND_INDEX };

struct oci_manifest {
	enum oci_kind kind;
	char *media_type;
	struct oci_desc config;
	struct oci_desc *layers;
	size_t n_layers;
	struct oci_desc *manifests;
	size_t n_manifests;
};

/* content_type: the HTTP Content-Type, or NULL. */
int oci_manifest_parse(const char *body, size_t len, const char *content_type,
		       struct oci_manifest *m, struct sm_error *err);
void oci_manifest_free(struct oci_manifest *m);

/* "os/arch[/variant]" of this host, normalised ("linux/amd64"). */
void oci_host_platform(char *buf, size_t len);
/* Picks the manifest for platform (NULL: host) from an index. */
int oci_index_select(const struct oci_manifest *idx, const char *platform,
		     const struct oci_desc **out, struct sm_error *err);

#endif
