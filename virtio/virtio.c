// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio device core (virtio 1.2 §2, §3.1): device status, feature
 * negotiation, queue setup, config space, and the hand-off between vCPU
 * threads (which configure and reset the device) and the I/O thread (which
 * processes its queues).  See virtio.h for who calls what.
 *
 * The life of a device, as the driver sees it (§3.1.1):
 *   reset (status 0) -> ACKNOWLEDGE -> DRIVER -> read features, write the
 *   ones it wants -> FEATURES_OK (we refuse it if we cannot live with those
 *   features) -> set up queues -> DRIVER_OK: the device goes live, and the
 *   I/O thread starts honouring queue notifications.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm/log.h"
#include "kvm/migrate-stream.h"
#include "virtio/virtio.h"

static void virtio_set_live(struct virtio_dev *dev, bool live)
{
	/* Release: queue state set up before going live is visible to readers. */
	__atomic_store_n(&dev->live, live, __ATOMIC_RELEASE);
}

static void virtio_queues_clear(struct virtio_dev *dev)
{
	unsigned int i;
	struct virtio_queue *q;

	for (i = 0; i < dev->type->nr_queues; i++) {
		q = &dev->queues[i];
		q->size = dev->type->queue_max_size;
		q->enabled = false;
		q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
		memset(&q->vq, 0, sizeof(q->vq));
	}
}

/* virtio_reset_wait() waits on it with a monotonic deadline. */
static int init_reset_cond(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int r;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	r = -pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return r;
}

int virtio_init(struct virtio_dev *dev, const struct virtio_dev_type *type,
		const struct guest_mem *mem, void *priv)
{
	u16 max = type->queue_max_size;
	int r;

	if (!type->nr_queues || !max || (max & (max - 1)) ||
	    max > VIRTQ_MAX_SIZE)
		return -EINVAL;

	memset(dev, 0, sizeof(*dev));
	dev->type = type;
	dev->mem = mem;
	dev->priv = priv;
	dev->name = type->name;
	dev->device_features = type->features | VIRTIO_CORE_FEATURES;
	dev->queues = calloc(type->nr_queues, sizeof(*dev->queues));
	if (!dev->queues)
		return -ENOMEM;
	r = -pthread_mutex_init(&dev->lock, NULL);
	if (r)
		goto err_free;
	r = init_reset_cond(&dev->reset_cond);
	if (r) {
		pthread_mutex_destroy(&dev->lock);
		goto err_free;
	}
	virtio_queues_clear(dev);
	return 0;

err_free:
	free(dev->queues);
	dev->queues = NULL;
	return r;
}

void virtio_exit(struct virtio_dev *dev)
{
	if (!dev->queues)
		return;
	pthread_cond_destroy(&dev->reset_cond);
	pthread_mutex_destroy(&dev->lock);
	free(dev->queues);
	dev->queues = NULL;
}

bool virtio_has_feature(const struct virtio_dev *dev, unsigned int bit)
{
	return bit < 64 && (dev->driver_features & (1ULL << bit));
}

unsigned int virtio_nr_queues(const struct virtio_dev *dev)
{
	return dev->type->nr_queues;
}

struct virtio_queue *virtio_queue(struct virtio_dev *dev, unsigned int qidx)
{
	return qidx < dev->type->nr_queues ? &dev->queues[qidx] : NULL;
}

struct virtq *virtio_vq(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_queue *q = virtio_queue(dev, qidx);

	return q ? &q->vq : NULL;
}

bool virtio_running(struct virtio_dev *dev)
{
	return __atomic_load_n(&dev->live, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&dev->dma_off, __ATOMIC_ACQUIRE);
}

void virtio_set_dma(struct virtio_dev *dev, bool allowed)
{
	pthread_mutex_lock(&dev->lock);
	__atomic_store_n(&dev->dma_off, !allowed, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&dev->lock);
}

static int virtio_notify_guest(struct virtio_dev *dev, int qidx)
{
	return dev->notify_guest ? dev->notify_guest(dev, qidx) : 0;
}

int virtio_signal(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtq *vq = virtio_vq(dev, qidx);
	int r;

	if (!vq || !virtq_should_interrupt(vq))
		return 0;
	r = virtio_notify_guest(dev, qidx);
	return r ? r : 1;
}

/*
 * Enter the error state: stop processing and set DEVICE_NEEDS_RESET.
 * §2.1.2: "If DRIVER_OK is set, after it sets DEVICE_NEEDS_RESET, the
 * device MUST send a device configuration change notification".
 * Called with dev->lock held; returns whether to send that notification.
 */
static bool virtio_set_needs_reset(struct virtio_dev *dev)
{
	bool notify;

	if (!dev->status || dev->reset_pending ||
	    (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return false;	/* being reset anyway, or already failed */
	virtio_set_live(dev, false);
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	notify = dev->status & VIRTIO_CONFIG_S_DRIVER_OK;
	if (notify)
		dev->config_generation++;
	return notify;
}

void virtio_fail(struct virtio_dev *dev, unsigned int qidx, int err)
{
	struct virtq *vq = virtio_vq(dev, qidx);
	bool notify;

	pthread_mutex_lock(&dev->lock);
	/* Once per device: a hostile guest must not flood the terminal. */
	if (!dev->failure_logged) {
		dev->failure_logged = true;
		pr_warn("%s: queue %u: %s (%s); device needs reset", dev->name,
			qidx, vq && vq->broken_reason ? vq->broken_reason :
			"device error", strerror(-err));
	}
	notify = virtio_set_needs_reset(dev);
	pthread_mutex_unlock(&dev->lock);
	if (notify)
		virtio_notify_guest(dev, VIRTIO_NOTIFY_CONFIG);
}

int virtio_config_changed(struct virtio_dev *dev)
{
	bool notify;

	pthread_mutex_lock(&dev->lock);
	/* §2.5.1: the driver re-reads until the generation is stable. */
	dev->config_generation++;
	notify = dev->status & VIRTIO_CONFIG_S_DRIVER_OK;
	pthread_mutex_unlock(&dev->lock);
	return notify ? virtio_notify_guest(dev, VIRTIO_NOTIFY_CONFIG) : 0;
}

/*
 * Inside, a device may write guest memory, so it is also inside the
 * guest-memory write gate (kvm/mem.h), which migration closes to copy
 * memory that no device is writing.  Taken before dev->lock: migration
 * saves devices, under their locks, while it holds the gate.
 */
bool virtio_enter(struct virtio_dev *dev)
{
	bool ok;

	if (!guest_mem_write_begin(dev->mem))
		return false;
	pthread_mutex_lock(&dev->lock);
	ok = dev->live && !dev->dma_off;
	if (ok)
		dev->busy++;
	pthread_mutex_unlock(&dev->lock);
	if (!ok)
		guest_mem_write_end(dev->mem);
	return ok;
}

static void virtio_do_reset(struct virtio_dev *dev);

void virtio_leave(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	/* A reset came while we were inside: ours to finish. */
	if (!--dev->busy && dev->reset_pending)
		virtio_do_reset(dev);
	pthread_mutex_unlock(&dev->lock);
	guest_mem_write_end(dev->mem);
}

/* ---- features (§2.2) ---- */

static u32 half(u64 v, unsigned int sel)
{
	return sel < 2 ? (u32)(v >> (32 * sel)) : 0;
}

u32 virtio_get_device_features(struct virtio_dev *dev, unsigned int sel)
{
	return half(dev->device_features, sel);
}

u32 virtio_get_driver_features(struct virtio_dev *dev, unsigned int sel)
{
	u32 v;

	pthread_mutex_lock(&dev->lock);
	v = half(dev->driver_features, sel);
	pthread_mutex_unlock(&dev->lock);
	return v;
}

void virtio_set_driver_features(struct virtio_dev *dev, unsigned int sel,
				u32 val)
{
	u64 mask;

	if (sel > 1)
		return;
	mask = 0xffffffffULL << (32 * sel);
	pthread_mutex_lock(&dev->lock);
	/* §3.1.1: features are fixed once FEATURES_OK is set. */
	if (!(dev->status & VIRTIO_CONFIG_S_FEATURES_OK))
		dev->driver_features = (dev->driver_features & ~mask) |
				       ((u64)val << (32 * sel));
	pthread_mutex_unlock(&dev->lock);
}

/*
 * §2.2.1: the driver MUST NOT accept a feature the device did not offer.
 * We are a modern-only device, so VERSION_1 is required (§6.1: a device
 * MAY fail to operate if VIRTIO_F_VERSION_1 is not accepted).
 */
static bool virtio_features_ok(struct virtio_dev *dev)
{
	u64 extra = dev->driver_features & ~dev->device_features;

	if (extra) {
		pr_warn_ratelimited("%s: driver accepted features %#llx we never offered",
				    dev->name, (unsigned long long)extra);
		return false;
	}
	if (!virtio_has_feature(dev, VIRTIO_F_VERSION_1)) {
		pr_warn_ratelimited("%s: driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not supported)",
				    dev->name);
		return false;
	}
	return true;
}

/* ---- status (§2.1) ---- */

u8 virtio_get_status(struct virtio_dev *dev)
{
	u8 s;

	pthread_mutex_lock(&dev->lock);
	s = dev->status;
	pthread_mutex_unlock(&dev->lock);
	return s;
}

/* DRIVER_OK: bind every enabled queue to guest memory, then go live. */
static int virtio_activate(struct virtio_dev *dev)
{
	struct virtio_queue *q;
	unsigned int i;
	int r;

	for (i = 0; i < dev->type->nr_queues; i++) {
		q = &dev->queues[i];
		if (!q->enabled)
			continue;
		r = virtq_init(&q->vq, dev->mem, q->size, q->desc_gpa,
			       q->avail_gpa, q->used_gpa, dev->driver_features);
		if (r) {
			pr_warn_ratelimited("%s: queue %u: rings not in guest RAM or misaligned",
					    dev->name, i);
			return r;
		}
	}
	if (dev->type->activate) {
		r = dev->type->activate(dev);
		if (r)
			return r;
	}
	virtio_set_live(dev, true);
	return 0;
}

/* Called with dev->lock held, and nobody inside the device. */
static void virtio_do_reset(struct virtio_dev *dev)
{
	if (dev->type->reset)
		dev->type->reset(dev);
	/* §2.4.1: status 0 tells the driver the reset is complete. */
	dev->status = 0;
	dev->driver_features = 0;
	dev->reset_pending = false;
	virtio_queues_clear(dev);
	if (dev->reset_done)
		dev->reset_done(dev);
	pthread_cond_broadcast(&dev->reset_cond);
}

void virtio_reset(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	virtio_set_live(dev, false);
	/*
	 * The I/O thread may be in the middle of a long request (a 1 GiB
	 * write and its flush): a vCPU must not wait for that, holding the
	 * bus lock.  Leave the reset to the I/O thread (virtio_leave()).
	 * Until then status stays non-zero: the driver polls it until it
	 * reads 0 (§2.4.2, and §4.1.4.3.2 for PCI).  It is non-zero here
	 * anyway: only a live device, with DRIVER_OK set, can be busy.
	 */
	if (dev->busy)
		dev->reset_pending = true;
	else
		virtio_do_reset(dev);
	pthread_mutex_unlock(&dev->lock);
}

int virtio_reset_wait(struct virtio_dev *dev, unsigned int timeout_ms)
{
	struct timespec end;
	int r = 0;

	virtio_reset(dev);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&dev->lock);
	while (dev->reset_pending && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&dev->reset_cond, &dev->lock, &end);
	r = dev->reset_pending ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&dev->lock);
	return r;
}

int virtio_set_status(struct virtio_dev *dev, u8 val)
{
	const u8 needs_reset = VIRTIO_CONFIG_S_NEEDS_RESET;
	bool notify = false;
	u8 old, new;
	int r = 0;

	if (!val) {
		virtio_reset(dev);
		return 0;
	}

	pthread_mutex_lock(&dev->lock);
	if (dev->reset_pending) {
		/* §4.1.4.3.2: the driver waits for status 0 first. */
		pthread_mutex_unlock(&dev->lock);
		return -EBUSY;
	}
	old = dev->status;
	/*
	 * §2.1.1: the driver MUST NOT clear a status bit, and NEEDS_RESET is
	 * the device's to set; so bits only accumulate.
	 */
	new = old | (val & ~needs_reset);

	if ((new & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK) && !virtio_features_ok(dev)) {
		/* §2.2.2: the driver re-reads status to see this refused. */
		new &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		r = -EINVAL;
	}

	if ((new & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (!(new & VIRTIO_CONFIG_S_FEATURES_OK) || (old & needs_reset)) {
			new &= ~VIRTIO_CONFIG_S_DRIVER_OK;
			r = -EINVAL;
		} else {
			dev->status = new;
			r = virtio_activate(dev);
			if (r)
				notify = virtio_set_needs_reset(dev);
			new = dev->status;
		}
	}
	dev->status = new;
	pthread_mutex_unlock(&dev->lock);

	if (notify)
		virtio_notify_guest(dev, VIRTIO_NOTIFY_CONFIG);
	return r;
}

/* ---- config space (§2.5) ---- */

u8 virtio_get_config_generation(struct virtio_dev *dev)
{
	u8 g;

	pthread_mutex_lock(&dev->lock);
	g = dev->config_generation;
	pthread_mutex_unlock(&dev->lock);
	return g;
}

static int virtio_config_check(struct virtio_dev *dev, u32 off, u32 len)
{
	u32 size = dev->type->config_size;

	return off > size || len > size - off ? -EINVAL : 0;
}

int virtio_config_read(struct virtio_dev *dev, u32 off, void *buf, u32 len)
{
	int r = virtio_config_check(dev, off, len);

	if (r)
		return r;
	pthread_mutex_lock(&dev->lock);
	if (dev->type->read_config)
		r = dev->type->read_config(dev, off, buf, len);
	else if (dev->config)
		memcpy(buf, (u8 *)dev->config + off, len);
	else
		memset(buf, 0, len);
	pthread_mutex_unlock(&dev->lock);
	return r;
}

int virtio_config_write(struct virtio_dev *dev, u32 off, const void *buf,
			u32 len)
{
	int r = virtio_config_check(dev, off, len);

	if (r)
		return r;
	if (!dev->type->write_config)
		return -EPERM;
	pthread_mutex_lock(&dev->lock);
	r = dev->type->write_config(dev, off, buf, len);
	pthread_mutex_unlock(&dev->lock);
	return r;
}

/* ---- queue setup (§2.6, §4.1.4.3) ---- */

bool virtio_queue_get_setup(struct virtio_dev *dev, unsigned int qidx,
			    struct virtio_queue_setup *s)
{
	struct virtio_queue *q = virtio_queue(dev, qidx);

	if (!q)
		return false;
	pthread_mutex_lock(&dev->lock);
	*s = (struct virtio_queue_setup){ q->size, q->enabled, q->desc_gpa,
					  q->avail_gpa, q->used_gpa };
	pthread_mutex_unlock(&dev->lock);
	return true;
}

/* With dev->lock held: may queue @qidx still be reconfigured? */
static struct virtio_queue *virtio_queue_writable(struct virtio_dev *dev,
						  unsigned int qidx, int *r)
{
	struct virtio_queue *q = virtio_queue(dev, qidx);

	*r = 0;
	if (!q)
		*r = -EINVAL;
	else if (q->enabled || (dev->status & VIRTIO_CONFIG_S_DRIVER_OK))
		*r = -EBUSY;
	return *r ? NULL : q;
}

int virtio_queue_set_size(struct virtio_dev *dev, unsigned int qidx, u16 size)
{
	struct virtio_queue *q;
	int r;

	/* §2.7: a power of 2; and no bigger than we offered. */
	if (!size || (size & (size - 1)) || size > dev->type->queue_max_size)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	q = virtio_queue_writable(dev, qidx, &r);
	if (q)
		q->size = size;
	pthread_mutex_unlock(&dev->lock);
	return r;
}

int virtio_queue_set_addr(struct virtio_dev *dev, unsigned int qidx,
			  enum virtio_queue_area area, u64 gpa)
{
	struct virtio_queue *q;
	int r;

	pthread_mutex_lock(&dev->lock);
	q = virtio_queue_writable(dev, qidx, &r);
	if (q) {
		switch (area) {
		case VIRTIO_QUEUE_DESC:
			q->desc_gpa = gpa;
			break;
		case VIRTIO_QUEUE_AVAIL:
			q->avail_gpa = gpa;
			break;
		case VIRTIO_QUEUE_USED:
			q->used_gpa = gpa;
			break;
		default:
			r = -EINVAL;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return r;
}

int virtio_queue_set_enabled(struct virtio_dev *dev, unsigned int qidx,
			     bool enabled)
{
	struct virtio_queue *q = virtio_queue(dev, qidx);
	int r = 0;

	if (!q)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	/* Addresses are checked at DRIVER_OK, when the rings are bound. */
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		r = q->enabled == enabled ? 0 : -EBUSY;
	else
		q->enabled = enabled;
	pthread_mutex_unlock(&dev->lock);
	return r;
}

bool virtio_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_queue *q = virtio_queue(dev, qidx);
	bool more = false;

	/* §2.7.10: spurious notifications are harmless; so are bad indices. */
	if (!q || !virtio_enter(dev))
		return false;
	/* Live means queue setup is frozen: q->enabled cannot change now. */
	if (q->enabled && dev->type->queue_notify)
		more = dev->type->queue_notify(dev, qidx);
	virtio_leave(dev);
	return more;
}

/* ---- migration ---- */

int virtio_save(struct virtio_dev *dev, struct state_out *o)
{
	struct virtio_queue *q;
	unsigned int i;
	u16 unused;

	if (!dev->type->save || !dev->type->load)
		return -ENOTSUP;
	pthread_mutex_lock(&dev->lock);
	state_put_u64(o, dev->device_features);
	state_put_u64(o, dev->driver_features);
	state_put_u8(o, dev->status);
	state_put_u8(o, dev->config_generation);
	state_put_u32(o, dev->type->nr_queues);
	for (i = 0; i < dev->type->nr_queues; i++) {
		q = &dev->queues[i];
		state_put_u16(o, q->size);
		state_put_u8(o, q->enabled);
		state_put_u64(o, q->desc_gpa);
		state_put_u64(o, q->avail_gpa);
		state_put_u64(o, q->used_gpa);
		unused = dev->type->unused_chains && q->enabled ?
				 dev->type->unused_chains(dev, i) : 0;
		state_put_u16(o, (u16)(q->vq.last_avail_idx - unused));
		state_put_u16(o, q->vq.used_idx);
		state_put_u8(o, q->vq.broken);
	}
	pthread_mutex_unlock(&dev->lock);
	return dev->type->save(dev, o);
}

/* The ring indices of a queue being loaded, set once it is bound. */
struct queue_idx {
	u16 last_avail;
	u16 used;
	bool broken;
};

/* One queue's setup and ring indices, checked like a driver's writes. */
static void load_queue(struct virtio_dev *dev, struct virtio_queue *q,
		       struct state_in *in, struct queue_idx *x)
{
	q->size = state_get_u16(in);
	q->enabled = state_get_u8(in);
	q->desc_gpa = state_get_u64(in);
	q->avail_gpa = state_get_u64(in);
	q->used_gpa = state_get_u64(in);
	x->last_avail = state_get_u16(in);
	x->used = state_get_u16(in);
	x->broken = state_get_u8(in);
	if (!in->err && (!q->size || (q->size & (q->size - 1)) ||
			 q->size > dev->type->queue_max_size))
		state_fail(in, "%s: queue size %u", dev->name, q->size);
}

/* Live as DRIVER_OK made it: bind the rings, then set their indices. */
static void load_live(struct virtio_dev *dev, struct state_in *in,
		      const struct queue_idx *x)
{
	unsigned int i;

	if (!(dev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return;
	if (virtio_activate(dev)) {
		state_fail(in, "%s: its rings are not in guest RAM", dev->name);
		return;
	}
	for (i = 0; i < dev->type->nr_queues; i++) {
		if (!dev->queues[i].enabled)
			continue;
		virtq_set_state(&dev->queues[i].vq, x[i].last_avail, x[i].used);
		dev->queues[i].vq.broken = x[i].broken;
	}
}

int virtio_load(struct virtio_dev *dev, struct state_in *in)
{
	unsigned int i, nr = dev->type->nr_queues;
	struct queue_idx *x;
	u64 features;

	features = state_get_u64(in);
	if (!in->err && features != dev->device_features)
		return state_fail(in, "%s: features %#llx at the source, %#llx here",
				  dev->name, (unsigned long long)features,
				  (unsigned long long)dev->device_features);
	x = calloc(nr, sizeof(*x));
	if (!x)
		return -ENOMEM;
	pthread_mutex_lock(&dev->lock);
	dev->driver_features = state_get_u64(in);
	dev->status = state_get_u8(in);
	dev->config_generation = state_get_u8(in);
	if (!in->err && state_get_u32(in) != nr)
		state_fail(in, "%s: another number of queues", dev->name);
	if (!in->err && (dev->driver_features & ~dev->device_features))
		state_fail(in, "%s: driver features beyond the device's",
			   dev->name);
	for (i = 0; i < nr && !in->err; i++)
		load_queue(dev, &dev->queues[i], in, &x[i]);
	if (!in->err)
		load_live(dev, in, x);
	pthread_mutex_unlock(&dev->lock);
	free(x);
	if (in->err)
		return in->err;
	return dev->type->load(dev, in);
}
