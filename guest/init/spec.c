/* The host's process spec: see spec.h. */
#include <stdlib.h>
#include <string.h>

#include "mounts.h"
#include "net.h"
#include "spec.h"

static char *dup_field(const uint8_t *v, uint32_t len)
{
	char *s = malloc(len + 1);

	if (s) {
		memcpy(s, v, len);
		s[len] = '\0';
	}
	return s;
}

/*
 * A text record the host gives again replaces the last one, as it always
 * did; the copy it replaces is freed (each repeat leaked its copy).
 */
static void set_field(char **dst, const uint8_t *v, uint32_t len)
{
	free(*dst);
	*dst = dup_field(v, len);
}

int parse_spec(const uint8_t *buf, uint32_t size, struct spec *sp)
{
	size_t off = 0;
	uint16_t tag;
	const uint8_t *v;
	uint32_t len;
	int r;

	memset(sp, 0, sizeof(*sp));
	sp->env = calloc(SM_SPEC_MAX_ARGS + 1, sizeof(char *));
	if (!sp->env)
		return -1;
	while ((r = sm_spec_next(buf, size, &off, &tag, &v, &len)) == 1) {
		if (memchr(v, 0, len) && tag != SM_S_TIME && tag != SM_S_TTY &&
		    tag != SM_S_ENTROPY)
			return -1;
		switch (tag) {
		case SM_S_ARG:
			if (sp->argc >= SM_SPEC_MAX_ARGS)
				return -1;
			sp->argv[sp->argc++] = dup_field(v, len);
			break;
		case SM_S_ENV:
			if (sp->envc >= SM_SPEC_MAX_ARGS)
				return -1;
			sp->env[sp->envc++] = dup_field(v, len);
			break;
		case SM_S_CWD:
			set_field(&sp->cwd, v, len);
			break;
		case SM_S_USER:
			set_field(&sp->user, v, len);
			break;
		case SM_S_HOSTNAME:
			set_field(&sp->hostname, v, len);
			break;
		case SM_S_TTY:
			sp->tty = 1;
			if (len >= 4) {
				sp->rows = sm_le16(v);
				sp->cols = sm_le16(v + 2);
			}
			break;
		case SM_S_STDIN:
			sp->stdin_open = 1;
			break;
		case SM_S_IDLE:
			sp->idle = 1;
			break;
		case SM_S_TIME:
			if (len == 8)
				spec_set_time((uint64_t)sm_le32(v) |
					      (uint64_t)sm_le32(v + 4) << 32);
			break;
		case SM_S_ENTROPY:
			spec_add_entropy(v, len);
			break;
		case SM_S_NET:
			net_set_spec(v, len);
			break;
		case SM_S_MOUNT:
		case SM_S_TMPFS:
			if (mounts_add(tag, v, len))
				return -1;
			break;
		default:
			break; /* unknown records are skipped: newer hosts */
		}
	}
	return r < 0 || sp->argc == 0 ? -1 : 0;
}

void spec_free(struct spec *sp)
{
	for (int i = 0; i < sp->argc; i++)
		free(sp->argv[i]);
	for (int i = 0; sp->env && i < sp->envc; i++)
		free(sp->env[i]);
	free(sp->env);
	free(sp->cwd);
	free(sp->user);
	free(sp->hostname);
	memset(sp, 0, sizeof(*sp));
}
