/* Small file-system helpers shared by the library. */
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util/fs.h"

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void sm_rm_tree(const char *dir)
{
	/* FTW_PHYS: a symlink is removed, not followed */
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
