/*
 * libcurl and libarchive, loaded when first used (src/oci/dl.c): a
 * `supermachine run` of an image in the store, `ps`, `exec`... need
 * neither, and linking them loads some 40 shared libraries (their TLS,
 * HTTP/2, LDAP, Kerberos, ICU, compression...) into every process: some
 * 200 mmaps and 400 syscalls, and their page faults, on the warm path
 * (docs/benchmarks.md, "Counts").
 *
 * Include this instead of <curl/curl.h> and <archive.h>: each function
 * used becomes a call through a table filled by dlopen/dlsym at the
 * first use (pthread_once). The entry points (registry_open, the load
 * and unpack of archives) call oci_curl_need / oci_archive_need first,
 * which say why when the library cannot be loaded; every other call is
 * reached only with a handle those made.
 */
#ifndef SM_OCI_DL_H
#define SM_OCI_DL_H

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>

struct sm_error;

/* curl's type-checking wrappers (typecheck-gcc.h) would wrap ours */
#undef curl_easy_setopt
#undef curl_easy_getinfo

/* clang-format off */
#define OCI_CURL_FUNCS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_escape) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_reset) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_free) \
	X(curl_global_init) \
	X(curl_slist_append) \
	X(curl_slist_free_all) \
	X(curl_url) \
	X(curl_url_cleanup) \
	X(curl_url_get) \
	X(curl_url_set)

#define OCI_ARCHIVE_FUNCS(X) \
	X(archive_entry_filetype) \
	X(archive_entry_gid) \
	X(archive_entry_hardlink) \
	X(archive_entry_mode) \
	X(archive_entry_mtime) \
	X(archive_entry_mtime_nsec) \
	X(archive_entry_pathname) \
	X(archive_entry_perm) \
	X(archive_entry_rdevmajor) \
	X(archive_entry_rdevminor) \
	X(archive_entry_size) \
	X(archive_entry_symlink) \
	X(archive_entry_uid) \
	X(archive_entry_xattr_next) \
	X(archive_entry_xattr_reset) \
	X(archive_error_string) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open_filename) \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_empty) \
	X(archive_read_support_format_tar)
/* clang-format on */

#define OCI_DL_FIELD(name) __typeof__(&name) name;
struct oci_curl_fns {
	OCI_CURL_FUNCS(OCI_DL_FIELD)
};
struct oci_archive_fns {
	OCI_ARCHIVE_FUNCS(OCI_DL_FIELD)
};

/* The tables, loaded at the first call (NULL functions when the library
 * could not be loaded: oci_*_need says so first). */
const struct oci_curl_fns *oci_curl(void);
const struct oci_archive_fns *oci_archive(void);
/* 0 when loaded, else -ENOSYS and why (the dlopen error) in err. */
int oci_curl_need(struct sm_error *err);
int oci_archive_need(struct sm_error *err);

/* dl.c, which fills the tables, names their fields */
#ifndef OCI_DL_NO_MACROS
#define curl_easy_cleanup (oci_curl()->curl_easy_cleanup)
#define curl_easy_escape (oci_curl()->curl_easy_escape)
#define curl_easy_getinfo (oci_curl()->curl_easy_getinfo)
#define curl_easy_init (oci_curl()->curl_easy_init)
#define curl_easy_perform (oci_curl()->curl_easy_perform)
#define curl_easy_reset (oci_curl()->curl_easy_reset)
#define curl_easy_setopt (oci_curl()->curl_easy_setopt)
#define curl_easy_strerror (oci_curl()->curl_easy_strerror)
#define curl_free (oci_curl()->curl_free)
#define curl_global_init (oci_curl()->curl_global_init)
#define curl_slist_append (oci_curl()->curl_slist_append)
#define curl_slist_free_all (oci_curl()->curl_slist_free_all)
#define curl_url (oci_curl()->curl_url)
#define curl_url_cleanup (oci_curl()->curl_url_cleanup)
#define curl_url_get (oci_curl()->curl_url_get)
#define curl_url_set (oci_curl()->curl_url_set)

#define archive_entry_filetype (oci_archive()->archive_entry_filetype)
#define archive_entry_gid (oci_archive()->archive_entry_gid)
#define archive_entry_hardlink (oci_archive()->archive_entry_hardlink)
#define archive_entry_mode (oci_archive()->archive_entry_mode)
#define archive_entry_mtime (oci_archive()->archive_entry_mtime)
#define archive_entry_mtime_nsec (oci_archive()->archive_entry_mtime_nsec)
#define archive_entry_pathname (oci_archive()->archive_entry_pathname)
#define archive_entry_perm (oci_archive()->archive_entry_perm)
#define archive_entry_rdevmajor (oci_archive()->archive_entry_rdevmajor)
#define archive_entry_rdevminor (oci_archive()->archive_entry_rdevminor)
#define archive_entry_size (oci_archive()->archive_entry_size)
#define archive_entry_symlink (oci_archive()->archive_entry_symlink)
#define archive_entry_uid (oci_archive()->archive_entry_uid)
#define archive_entry_xattr_next (oci_archive()->archive_entry_xattr_next)
#define archive_entry_xattr_reset (oci_archive()->archive_entry_xattr_reset)
#define archive_error_string (oci_archive()->archive_error_string)
#define archive_read_data_block (oci_archive()->archive_read_data_block)
#define archive_read_free (oci_archive()->archive_read_free)
#define archive_read_new (oci_archive()->archive_read_new)
#define archive_read_next_header (oci_archive()->archive_read_next_header)
#define archive_read_open_filename (oci_archive()->archive_read_open_filename)
#define archive_read_support_filter_gzip \
	(oci_archive()->archive_read_support_filter_gzip)
#define archive_read_support_filter_zstd \
	(oci_archive()->archive_read_support_filter_zstd)
#define archive_read_support_format_empty \
	(oci_archive()->archive_read_support_format_empty)
#define archive_read_support_format_tar \
	(oci_archive()->archive_read_support_format_tar)
#endif

#endif
