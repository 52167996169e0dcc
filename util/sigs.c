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
static volatile sig_atomic_t pass_requested;   /* SIGUSR1 */

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

static void on_pass(int sig)
{
	(void)sig;
	pass_requested = 1;
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
	/* Ignored by --once rather than left at its default, which would end
	 * the run. */
	sa.sa_handler = reload ? on_pass : SIG_IGN;
	sigaction(SIGUSR1, &sa, NULL);
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

int sigs_pass_take(void)
{
	if (!pass_requested)
		return 0;
	pass_requested = 0;
	return 1;
}

int sigs_pass_pending(void)
{
	return pass_requested != 0;
}

void sigs_hold_reload(int hold)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static int woken(volatile sig_atomic_t *flag, int pass)
{
	return (flag && *flag) || (pass && pass_requested);
}

/* The wait of both: ends on *flag, and on a pass request with pass 1. */
static int wait_ms(volatile sig_atomic_t *flag, int pass, uint64_t ms)
{
	while (!woken(flag, pass)) {
		uint64_t slice = ms < SIGS_SLICE_MS ? ms : SIGS_SLICE_MS;
		struct timespec ts = {0, (long)slice * 1000000L};

		notify_watchdog();
		if (!ms)
			return 0;
		/* A signal cuts the slice short (EINTR): look at the flag at
		 * once, and sleep the rest of the slice only if it is not set. */
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !woken(flag, pass))
			;
		ms -= slice;
	}
	return 1;
}

int sigs_wait_ms(volatile sig_atomic_t *flag, uint64_t ms)
{
	return wait_ms(flag, 0, ms);
}

int sigs_nap_ms(volatile sig_atomic_t *flag, uint64_t ms)
{
	return wait_ms(flag, 1, ms);
}
