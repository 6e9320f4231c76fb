/*
 * docker start and restart: a record runs again, detached, in a new VM
 * made from the options it was created with (config.c), under the same
 * id and name, its log going on where it was. The new VM boots (or
 * restores its template) from the image: what the last one wrote to its
 * root file system is gone, what it wrote to volumes and binds stays
 * (docs/containers.md, "Start and restart").
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "container/container.h"
#include "util/error.h"

/* How long a start waits for the last VM's process to finish its end
 * (socket removed, cgroup left) after its record says it exited. */
#define LAST_END_WAIT_MS (30 * 1000)

int ctr_start_existing(struct sm_container *k, int *status,
		       struct sm_error *err)
{
	int ret = ctr_load(&k->rec, err), life;

	*status = CTR_EXIT_FAILURE;
	if (ret)
		return ret;
	life = ctr_lock_life(&k->rec, 0);
	if (life == -EBUSY && ctr_running(&k->rec)) {
		*status = 0;
		return 0; /* running already: nothing to do, as docker */
	}
	if (life == -EBUSY)
		life = ctr_lock_life(&k->rec, LAST_END_WAIT_MS);
	if (life < 0)
		return sm_err(err, life,
			      "start %s: its last VM has not finished (%s)",
			      k->rec.name, strerror(-life));
	/* under the lock, what its state says now */
	if (!(ret = ctr_load(&k->rec, err)) && ctr_running(&k->rec)) {
		close(life);
		*status = 0;
		return 0;
	}
	if (!ret)
		ret = ctr_config_load(k->rec.meta, &k->cfg, err);
	if (ret) {
		close(life);
		return sm_err_wrap(err, ret, "start %s", k->rec.name);
	}
	k->o = k->cfg->o;
	k->o.detach = 1;
	k->life_fd = life;
	return ctr_start_detached(k, status, err);
}

SM_API int sm_container_restart(struct sm_container *k, int timeout_s,
				struct sm_error *err)
{
	int status, ret;

	if (!k || !k->recorded)
		return sm_err(err, -ENOENT, "the container has no record");
	if (k->started || k->o.run)
		return sm_err(err, -EINVAL,
			      "sm_container_restart: want a handle from "
			      "sm_container_open()");
	if ((ret = ctr_load(&k->rec, err)))
		return ret;
	if (json_is_true(json_object_get(k->rec.meta, "auto_remove")))
		return sm_err(err, -ENOTSUP,
			      "cannot restart %s: it was run with --rm, so it "
			      "is removed once its VM stops",
			      k->rec.name);
	if (ctr_running(&k->rec) &&
	    (ret = sm_container_stop(k, timeout_s, err)))
		return ret;
	k->started = true;
	return ctr_start_existing(k, &status, err);
}
