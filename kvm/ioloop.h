/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The I/O thread: one epoll loop that serves queue notifications
 * (ioeventfds), host input and timers for every device.
 *
 * Only the I/O thread changes the epoll set (a design taken from
 * Firecracker): ioloop_add() and ioloop_del() are called on the I/O thread,
 * or before ioloop_start().  Other threads (vCPUs activating a device, the
 * control thread) hand work over with ioloop_call(), which runs a function on
 * the I/O thread and can wait for it to finish.
 */
#ifndef LKVM_IOLOOP_H
#define LKVM_IOLOOP_H

#include <pthread.h>

#include "kvm/types.h"

typedef void ioloop_fn(int fd, void *arg);
typedef void ioloop_call_fn(void *arg);

struct io_event {
	int fd;
	ioloop_fn *fn;
	void *arg;
	bool deleted;
	struct io_event *next_free;
};

struct ioloop_call;

struct ioloop {
	int epfd;
	int wakefd; /* eventfd: calls queued or stop requested */
	pthread_t thread;
	bool ready; /* ioloop_init succeeded and ioloop_fini has not run */
	bool running;
	bool stop;
	bool held; /* ioloop_start_held(): nothing served until released */
	pthread_mutex_t lock; /* protects calls, stop and held */
	pthread_cond_t released;
	struct ioloop_call *calls;
	struct io_event *graveyard; /* freed after the current epoll batch */
};

int ioloop_init(struct ioloop *l);
struct io_event *ioloop_add(struct ioloop *l, int fd, ioloop_fn *fn, void *arg);
void ioloop_del(struct ioloop *l, struct io_event *ev);
/* Run fn(arg) on the I/O thread; with wait, return after it ran. */
int ioloop_call(struct ioloop *l, ioloop_call_fn *fn, void *arg, bool wait);
int ioloop_start(struct ioloop *l);
/*
 * Start the thread, but let it serve nothing, no fd and no call, until
 * ioloop_release().  A migration's destination starts it before the
 * guest's state comes, so that creating a thread is not part of the
 * downtime, while no device may run before its state is loaded.  A
 * call that waits would wait for the release; one that does not runs
 * after it, or never if the loop is stopped first.
 */
int ioloop_start_held(struct ioloop *l);
void ioloop_release(struct ioloop *l);
/*
 * Stop the thread (if it was started).  ioloop_del() still works after
 * this: devices are torn down after the loop stops.
 */
void ioloop_stop(struct ioloop *l);
/* Stop, then close the loop's fds.  Safe on a zeroed, never-inited loop. */
void ioloop_fini(struct ioloop *l);
bool ioloop_on_thread(const struct ioloop *l);

#endif
