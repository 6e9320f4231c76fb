#include "supermachine.h"

#define STR2(x) #x
#define STR(x) STR2(x)

SM_API const char *sm_version(void)
{
	return STR(SM_VERSION_MAJOR) "." STR(SM_VERSION_MINOR) "." STR(
	    SM_VERSION_PATCH);
}
