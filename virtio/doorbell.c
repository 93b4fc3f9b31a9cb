// SPDX-License-Identifier: GPL-2.0
/* Queue doorbells of the virtio transports: see virtio/doorbell.h. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/log.h"
#include "virtio/doorbell.h"

void virtio_doorbell_clear(struct virtio_doorbell *db)
{
	*db = (struct virtio_doorbell){ .fd = -1 };
}

void virtio_doorbell_ring(struct virtio_doorbell *db)
{
	u64 one = 1;

	if (write(db->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("%s: doorbell: %s", db->dev->name,
				    strerror(errno));
}

/* I/O thread: the queue was kicked. */
static void doorbell_kick(int fd, void *arg)
{
	struct virtio_doorbell *db = arg;
	u64 v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("%s: read doorbell: %s", db->dev->name,
				    strerror(errno));
	if (virtio_queue_notify(db->dev, db->qidx))
		virtio_doorbell_ring(db);
}

int virtio_doorbell_init(struct virtio_doorbell *db, struct ioloop *loop,
			 struct virtio_dev *dev, unsigned int qidx)
{
	db->dev = dev;
	db->qidx = qidx;
	db->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (db->fd < 0)
		return -errno;
	db->ev = ioloop_add(loop, db->fd, doorbell_kick, db);
	return db->ev ? 0 : -ENOMEM;
}

void virtio_doorbell_fini(struct virtio_doorbell *db, struct ioloop *loop)
{
	if (db->ev)
		ioloop_del(loop, db->ev);
	if (db->fd >= 0)
		close(db->fd);
	virtio_doorbell_clear(db);
}
