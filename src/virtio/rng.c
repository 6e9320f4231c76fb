/* virtio-rng (entropy device, virtio 1.2 section 5.4): one request queue. */
#include <errno.h>
#include <sys/random.h>

#include "virtio/device.h"

#define VIRTIO_ID_RNG 4
#define RNG_QUEUE_SIZE 64
/* Cap per request: a hostile driver cannot make us loop for long. */
#define RNG_MAX_PER_REQUEST 65536

static size_t fill_random(struct virtio_dev *dev, const struct virtq_chain *c)
{
	size_t done = 0;

	(void)dev;
	for (unsigned i = c->n_readable;
	     i < c->n_readable + c->n_writable && done < RNG_MAX_PER_REQUEST;
	     i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t want = c->iov[i].iov_len;

		if (want > RNG_MAX_PER_REQUEST - done)
			want = RNG_MAX_PER_REQUEST - done;
		while (want) {
			ssize_t n = getrandom(p, want, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return done;
			p += n;
			want -= (size_t)n;
			done += (size_t)n;
		}
	}
	return done;
}

static void rng_notify(struct virtio_dev *dev, unsigned queue)
{
	virtio_serve_queue(dev, queue, fill_random);
}

const struct virtio_dev_ops virtio_rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max = RNG_QUEUE_SIZE,
    .notify = rng_notify,
};
