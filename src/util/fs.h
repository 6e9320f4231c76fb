/* Small file-system helpers shared by the library. */
#ifndef SM_UTIL_FS_H
#define SM_UTIL_FS_H

/* Removes dir and everything below it, best effort, never following
 * symbolic links. */
void sm_rm_tree(const char *dir);

#endif
