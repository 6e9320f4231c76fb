/* sm_image_load(): placeholder until the importer lands. */
#include "oci/image.h"
#include "util/error.h"

SM_API int sm_image_load(struct sm_store *s, const char *path,
			 const struct sm_load_options *o,
			 struct sm_image_info **list, struct sm_error *err)
{
	(void)s;
	(void)o;
	*list = NULL;
	return sm_err(err, -ENOSYS, "load %s: not implemented", path);
}
