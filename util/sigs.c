/*
 * sigs.c: stop and reload requests by signal, and the interruptible
 * wait.  See sigs.h for the contract.
 */
#include "sigs.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "notify.h"

static volatile sig_atomic_t stop_requested;   /* SIGTERM, SIGINT */
static volatile sig_atomic_t reload_requested; /* SIGHUP */
static volatile sig_atomic_t halt_requested;   /* either: what the halves watch */

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
	halt_requested = 1;
}

static void on_reload(int sig)
{
	(void)sig;
	reload_requested = 1;
	halt_requested = 1;
}

void sigs_install(int reload)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = reload ? on_reload : SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
}

volatile sig_atomic_t *sigs_stop_flag(void)
{
	return &halt_requested;
}

int sigs_stopping(void)
{
	return stop_requested != 0;
}

int sigs_reload_take(void)
{
	if (!reload_requested || stop_requested)
		return 0;
	reload_requested = 0;
	halt_requested = 0;
	/* a stop that came in between must not be lowered */
	if (stop_requested)
		halt_requested = 1;
	return !stop_requested;
}

void sigs_hold_reload(int hold)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int sigs_wait_ms(volatile sig_atomic_t *flag, uint64_t ms)
{
	while (!(flag && *flag)) {
		uint64_t slice = ms < SIGS_SLICE_MS ? ms : SIGS_SLICE_MS;
		struct timespec ts = {0, (long)slice * 1000000L};

		notify_watchdog();
		if (!ms)
			return 0;
		/* A signal cuts the slice short (EINTR): look at the flag at
		 * once, and sleep the rest of the slice only if it is not set. */
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !(flag && *flag))
			;
		ms -= slice;
	}
	return 1;
}
