// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/ioloop.h"
#include "kvm/log.h"

struct ioloop_call {
	ioloop_call_fn *fn;
	void *arg;
	bool wait, done;
	pthread_cond_t cond;
	struct ioloop_call *next;
};

static void wake(struct ioloop *l)
{
	u64 one = 1;

	if (write(l->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_once("ioloop: wake failed: %s", strerror(errno));
}

int ioloop_init(struct ioloop *l)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->released, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wakefd < 0) {
		r = -errno;
		goto err_epoll;
	}
	ev.data.ptr = NULL; /* NULL marks the wake eventfd */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0) {
		r = -errno;
		goto err_wake;
	}
	l->ready = true;
	return 0;

err_wake:
	close(l->wakefd);
err_epoll:
	close(l->epfd);
	return r;
}

/* Set on the I/O thread itself, so the check needs no shared state. */
static __thread const struct ioloop *current_loop;

bool ioloop_on_thread(const struct ioloop *l)
{
	return !l->running || current_loop == l;
}

struct io_event *ioloop_add(struct ioloop *l, int fd, ioloop_fn *fn, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct io_event *e;

	if (!ioloop_on_thread(l)) {
		pr_err("ioloop_add called off the I/O thread");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	*e = (struct io_event){ .fd = fd, .fn = fn, .arg = arg };
	ev.data.ptr = e;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

void ioloop_del(struct ioloop *l, struct io_event *e)
{
	if (!e)
		return;
	if (!ioloop_on_thread(l)) {
		pr_err("ioloop_del called off the I/O thread");
		return;
	}
	/* After ioloop_fini the fd number may belong to someone else. */
	if (l->ready)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	if (!l->running) {
		/* No epoll batch in flight can name it. */
		free(e);
		return;
	}
	/*
	 * The current epoll batch may still name this event: mark it and free
	 * it only once the batch is done.
	 */
	e->deleted = true;
	e->next_free = l->graveyard;
	l->graveyard = e;
}

int ioloop_call(struct ioloop *l, ioloop_call_fn *fn, void *arg, bool wait)
{
	struct ioloop_call c = { .fn = fn, .arg = arg, .wait = wait };
	struct ioloop_call *heap;

	if (ioloop_on_thread(l)) {
		fn(arg);
		return 0;
	}

	if (wait) {
		pthread_cond_init(&c.cond, NULL);
		heap = &c;
	} else {
		heap = malloc(sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		*heap = c;
	}

	pthread_mutex_lock(&l->lock);
	if (l->stop) {
		/* The loop is gone: nobody would ever run this call. */
		pthread_mutex_unlock(&l->lock);
		if (!wait)
			free(heap);
		return -ESHUTDOWN;
	}
	heap->next = l->calls;
	l->calls = heap;
	wake(l);
	while (wait && !c.done)
		pthread_cond_wait(&c.cond, &l->lock);
	pthread_mutex_unlock(&l->lock);

	if (wait)
		pthread_cond_destroy(&c.cond);
	return 0;
}

/* Run queued calls in the order they were made; returns true to stop. */
static bool run_calls(struct ioloop *l)
{
	struct ioloop_call *list, *rev = NULL, *next;
	u64 v;
	bool stop;

	if (read(l->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_once("ioloop: read wakefd: %s", strerror(errno));

	pthread_mutex_lock(&l->lock);
	list = l->calls;
	l->calls = NULL;
	stop = l->stop;
	pthread_mutex_unlock(&l->lock);

	for (; list; list = next) {
		next = list->next;
		list->next = rev;
		rev = list;
	}
	for (; rev; rev = next) {
		next = rev->next;
		rev->fn(rev->arg);
		if (rev->wait) {
			pthread_mutex_lock(&l->lock);
			rev->done = true;
			pthread_cond_broadcast(&rev->cond);
			pthread_mutex_unlock(&l->lock);
		} else {
			free(rev);
		}
	}
	return stop;
}

static void bury_deleted(struct ioloop *l)
{
	while (l->graveyard) {
		struct io_event *e = l->graveyard;

		l->graveyard = e->next_free;
		free(e);
	}
}

static void *ioloop_thread(void *arg)
{
	struct ioloop *l = arg;
	struct epoll_event evs[32];
	bool held;
	int i, n;

	current_loop = l;
	pthread_mutex_lock(&l->lock);
	while (l->held && !l->stop)
		pthread_cond_wait(&l->released, &l->lock);
	held = l->held;
	pthread_mutex_unlock(&l->lock);
	/* Stopped before the release: it served nothing, and it never will. */
	if (held)
		goto out;
	for (;;) {
		n = epoll_wait(l->epfd, evs, ARRAY_SIZE(evs), -1);
		if (n < 0 && errno != EINTR) {
			pr_err("ioloop: epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct io_event *e = evs[i].data.ptr;

			if (!e) {
				if (run_calls(l))
					goto out;
				continue;
			}
			if (!e->deleted)
				e->fn(e->fd, e->arg);
		}
		bury_deleted(l);
	}
out:
	bury_deleted(l);
	return NULL;
}

int ioloop_start(struct ioloop *l)
{
	int r;

	l->running = true;
	r = -pthread_create(&l->thread, NULL, ioloop_thread, l);
	if (r)
		l->running = false;
	else	/* For top -H and perf: which thread is which. */
		pthread_setname_np(l->thread, "lkvm-io");
	return r;
}

int ioloop_start_held(struct ioloop *l)
{
	int r;

	l->held = true;
	r = ioloop_start(l);
	if (r)
		l->held = false;
	return r;
}

void ioloop_release(struct ioloop *l)
{
	pthread_mutex_lock(&l->lock);
	l->held = false;
	pthread_cond_broadcast(&l->released);
	pthread_mutex_unlock(&l->lock);
}

void ioloop_stop(struct ioloop *l)
{
	if (!l->running)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_broadcast(&l->released);
	wake(l);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	l->running = false;
}

void ioloop_fini(struct ioloop *l)
{
	if (!l->ready)
		return;
	ioloop_stop(l);
	bury_deleted(l);
	/* Calls nobody ran (the loop never started, or never was released). */
	while (l->calls) {
		struct ioloop_call *c = l->calls;

		l->calls = c->next;
		if (!c->wait)
			free(c);
	}
	l->ready = false;
	close(l->wakefd);
	close(l->epfd);
	l->epfd = l->wakefd = -1;
	pthread_cond_destroy(&l->released);
	pthread_mutex_destroy(&l->lock);
}
