// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O loop's life cycle: events added before the start, calls handed
 * over from other threads, and events deleted after the loop stopped (as
 * virtio_pci_destroy() does at VM teardown) or on a loop that never ran,
 * and a loop started held (a migration's destination).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/ioloop.h"
#include "tests/unit/unit.h"

static int fired;

static void count_fd(int fd, void *arg)
{
	u64 v;

	if (read(fd, &v, sizeof(v)) == sizeof(v))
		__atomic_add_fetch(&fired, 1, __ATOMIC_SEQ_CST);
}

static void poke(int fd)
{
	u64 one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

struct call {
	struct ioloop *l;
	bool on_thread;
};

static void note_thread(void *arg)
{
	struct call *c = arg;

	c->on_thread = ioloop_on_thread(c->l);
}

static void test_run_and_call(void)
{
	struct ioloop l;
	struct call c = { &l, false };
	struct io_event *e;
	int fd = eventfd(0, EFD_NONBLOCK);
	int i;

	CHECK_EQ(ioloop_init(&l), 0);
	e = ioloop_add(&l, fd, count_fd, NULL);
	CHECK(e != NULL);
	CHECK_EQ(ioloop_start(&l), 0);
	fired = 0;
	poke(fd);
	for (i = 0; i < 2000 && !__atomic_load_n(&fired, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	CHECK_EQ(__atomic_load_n(&fired, __ATOMIC_SEQ_CST), 1);
	CHECK(!ioloop_on_thread(&l));
	CHECK_EQ(ioloop_call(&l, note_thread, &c, true), 0);
	CHECK(c.on_thread);
	ioloop_stop(&l);
	ioloop_del(&l, e);
	CHECK(l.graveyard == NULL);
	ioloop_fini(&l);
	close(fd);
}

/*
 * Teardown order in lkvm: the loop stops, then devices delete their
 * events.  The delete must act on the loop's own epoll fd, never on a
 * closed one whose number someone else now holds, and free the event at
 * once (no batch can name it any more).
 */
static void test_del_after_stop(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct ioloop l;
	struct io_event *e1, *e2;
	int fd1 = eventfd(0, EFD_NONBLOCK), fd2 = eventfd(0, EFD_NONBLOCK);
	int other;

	CHECK_EQ(ioloop_init(&l), 0);
	e1 = ioloop_add(&l, fd1, count_fd, NULL);
	e2 = ioloop_add(&l, fd2, count_fd, NULL);
	CHECK_EQ(ioloop_start(&l), 0);
	ioloop_stop(&l);
	ioloop_del(&l, e1);
	CHECK(l.graveyard == NULL);

	ioloop_fini(&l);
	/* Likely the same fd number the loop's epoll fd had. */
	other = epoll_create1(0);
	CHECK(other >= 0);
	CHECK_EQ(epoll_ctl(other, EPOLL_CTL_ADD, fd2, &ev), 0);
	ioloop_del(&l, e2);
	CHECK(l.graveyard == NULL);
	/* Someone else's epoll set is untouched. */
	poke(fd2);
	CHECK_EQ(epoll_wait(other, &out, 1, 0), 1);
	close(other);
	close(fd1);
	close(fd2);
}

/* lkvm can fail before the loop starts: fini still closes its fds. */
static void test_fini_without_start(void)
{
	struct ioloop l, zero;
	struct io_event *e;
	int fd = eventfd(0, EFD_NONBLOCK), epfd, wakefd;
	bool stdin_open = fd_open(0);

	CHECK_EQ(ioloop_init(&l), 0);
	epfd = l.epfd;
	wakefd = l.wakefd;
	e = ioloop_add(&l, fd, count_fd, NULL);
	CHECK(e != NULL);
	ioloop_del(&l, e);
	CHECK(l.graveyard == NULL);
	ioloop_fini(&l);
	CHECK(!fd_open(epfd));
	CHECK(!fd_open(wakefd));
	ioloop_fini(&l);	/* twice is harmless */

	/* vm_destroy() on a VM whose loop was never initialised. */
	memset(&zero, 0, sizeof(zero));
	ioloop_fini(&zero);
	CHECK_EQ(fd_open(0), stdin_open);
	close(fd);
}

static void count_call(void *arg)
{
	__atomic_add_fetch(&fired, 1, __ATOMIC_SEQ_CST);
}

static void wait_fired(int n)
{
	int i;

	for (i = 0; i < 2000 && __atomic_load_n(&fired, __ATOMIC_SEQ_CST) < n;
	     i++)
		usleep(1000);
}

/*
 * A migration's destination: the thread exists, but neither an fd that
 * is ready nor a call runs until the release; then both do.
 */
static void test_held_until_released(void)
{
	struct ioloop l;
	struct io_event *e;
	int fd = eventfd(0, EFD_NONBLOCK);

	CHECK_EQ(ioloop_init(&l), 0);
	e = ioloop_add(&l, fd, count_fd, NULL);
	CHECK(e != NULL);
	fired = 0;
	poke(fd);
	CHECK_EQ(ioloop_start_held(&l), 0);
	CHECK_EQ(ioloop_call(&l, count_call, NULL, false), 0);
	usleep(50 * 1000);
	CHECK_EQ(__atomic_load_n(&fired, __ATOMIC_SEQ_CST), 0);
	ioloop_release(&l);
	wait_fired(2);
	CHECK_EQ(__atomic_load_n(&fired, __ATOMIC_SEQ_CST), 2);
	ioloop_stop(&l);
	ioloop_del(&l, e);
	ioloop_fini(&l);
	close(fd);
}

/* A destination whose stream failed stops a loop it never released. */
static void test_stop_while_held(void)
{
	struct ioloop l;
	struct io_event *e;
	int fd = eventfd(0, EFD_NONBLOCK);

	CHECK_EQ(ioloop_init(&l), 0);
	e = ioloop_add(&l, fd, count_fd, NULL);
	fired = 0;
	poke(fd);
	CHECK_EQ(ioloop_start_held(&l), 0);
	ioloop_stop(&l);
	CHECK(!l.running);
	ioloop_del(&l, e);
	ioloop_fini(&l);
	close(fd);
}

UNIT_MAIN("ioloop",
	  UNIT_TEST(test_run_and_call),
	  UNIT_TEST(test_del_after_stop),
	  UNIT_TEST(test_fini_without_start),
	  UNIT_TEST(test_held_until_released),
	  UNIT_TEST(test_stop_while_held))
