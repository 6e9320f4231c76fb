/* libcurl and libarchive loaded at their first use (src/oci/dl.h says
 * why). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#define OCI_DL_NO_MACROS
#include "oci/dl.h"
#include "util/error.h"

/* The sonames of the libraries the headers are of (libcurl4's .4,
 * libarchive13's .13, as Debian packages them). */
#define CURL_SONAME "libcurl.so.4"
#define ARCHIVE_SONAME "libarchive.so.13"

struct lib {
	const char *soname;
	pthread_once_t once;
	bool loaded;
	char why[256]; /* when not loaded */
};

static struct oci_curl_fns curl_fns;
static struct oci_archive_fns archive_fns;
static struct lib curl_lib = {CURL_SONAME, PTHREAD_ONCE_INIT, false, ""};
static struct lib archive_lib = {ARCHIVE_SONAME, PTHREAD_ONCE_INIT, false, ""};

/* dlopen's error, or the first name the library lacks, as why */
static void *open_lib(struct lib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	const char *e = h ? NULL : dlerror();

	if (!h)
		snprintf(l->why, sizeof(l->why), "%s", e ? e : l->soname);
	return h;
}

/* Each name into its slot (POSIX's dlsym-to-function-pointer form); the
 * first missing one ends the load. The handle stays open: the process
 * keeps the library. */
#define LOOKUP(fns, l, h, f)                                                \
	if ((l)->loaded) {                                                  \
		*(void **)&(fns).f = dlsym(h, #f);                          \
		if (!(fns).f) {                                             \
			(l)->loaded = false;                                \
			snprintf((l)->why, sizeof((l)->why), "%s lacks %s", \
				 (l)->soname, #f);                          \
		}                                                           \
	}

static void load_curl(void)
{
	void *h = open_lib(&curl_lib);

	curl_lib.loaded = h != NULL;
#define CURL_LOOKUP(f) LOOKUP(curl_fns, &curl_lib, h, f)
	OCI_CURL_FUNCS(CURL_LOOKUP)
	if (!curl_lib.loaded) /* none half-filled: oci_curl_need says why */
		curl_fns = (struct oci_curl_fns){0};
}

static void load_archive(void)
{
	void *h = open_lib(&archive_lib);

	archive_lib.loaded = h != NULL;
#define ARCHIVE_LOOKUP(f) LOOKUP(archive_fns, &archive_lib, h, f)
	OCI_ARCHIVE_FUNCS(ARCHIVE_LOOKUP)
	if (!archive_lib.loaded)
		archive_fns = (struct oci_archive_fns){0};
}

const struct oci_curl_fns *oci_curl(void)
{
	pthread_once(&curl_lib.once, load_curl);
	return &curl_fns;
}

const struct oci_archive_fns *oci_archive(void)
{
	pthread_once(&archive_lib.once, load_archive);
	return &archive_fns;
}

static int need(struct lib *l, const char *what, struct sm_error *err)
{
	if (l->loaded)
		return 0;
	return sm_err(err, -ENOSYS, "%s needs %s, which cannot be loaded: %s",
		      what, l->soname, l->why);
}

int oci_curl_need(struct sm_error *err)
{
	oci_curl();
	return need(&curl_lib, "talking to a registry", err);
}

int oci_archive_need(struct sm_error *err)
{
	oci_archive();
	return need(&archive_lib, "reading an archive", err);
}
