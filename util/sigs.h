/*
 * sigs.h: what an operator asks of a running half by signal, and the one
 * wait every sleep of a half goes through.
 *
 * Contract
 *   - sigs_install(reload) makes SIGTERM and SIGINT ask the half to stop,
 *     and SIGHUP (with reload 1; ignored with 0, for --once runs) ask it
 *     to re-read its configuration.  No SA_RESTART: a blocking call
 *     returns EINTR.  The handlers only set flags.
 *   - Both requests raise the one flag the halves watch, sigs_stop_flag():
 *     "finish the record in hand and return" (between records, between
 *     pages, inside every wait).  The caller then tells them apart:
 *     sigs_reload_take() is 1 for a reload, which lowers the flag again
 *     (unless a stop came too) so the half can run on; sigs_stopping() is
 *     1 for a stop.
 *   - With reload 1 (a daemon), SIGUSR1 asks for a pass now: the half's
 *     next turn is a pass (the SCF fetch, the OMS poll) instead of one
 *     that waits for the poll interval.  It does not raise the stop flag
 *     (the record in hand and any other wait go on); only the loop's nap
 *     between turns (sigs_nap_ms) ends on it.  sigs_pass_take() is 1 once
 *     per request (several before it count as one).  With reload 0 (--once)
 *     SIGUSR1 is ignored.
 *   - sigs_wait_ms(flag, ms) is the only way a half sleeps: a back-off,
 *     a Retry-After (up to 15 minutes), a rate-limit wait, the poll
 *     interval, a record's back-off.  It sleeps in slices of at most
 *     SIGS_SLICE_MS and returns as soon as *flag is nonzero, so a request
 *     ends any wait within SIGS_SLICE_MS.  It pings the systemd watchdog
 *     (notify.h) at every slice, so a half that waits out a long back-off
 *     is not mistaken for a hung one.
 *   - The flags are process-wide; library code (http.c, the halves) gets
 *     the flag as a pointer, so a test can use its own.
 */
#ifndef SCFGATE_SIGS_H
#define SCFGATE_SIGS_H

#include <signal.h>
#include <stdint.h>

#define SIGS_SLICE_MS 100

/* SIGTERM, SIGINT: stop; SIGHUP: reload, SIGUSR1: pass now (reload 1) or
 * both ignored (0). */
void sigs_install(int reload);

/* The flag the halves watch (oms_opts.stop, scf_set_stop_flag): set by a
 * stop or a reload request. */
volatile sig_atomic_t *sigs_stop_flag(void);

/* 1 once SIGTERM or SIGINT arrived. */
int sigs_stopping(void);

/* 1 if SIGHUP arrived since the last call: clears it and, unless a stop
 * was asked for too, lowers the stop flag. */
int sigs_reload_take(void);

/* hold 1: SIGHUP is blocked (kept pending) while a reload is under way,
 * so a second one is not mistaken for a stop of the opening; hold 0:
 * unblocked, a pending one is delivered then. */
void sigs_hold_reload(int hold);

/* 1 if SIGUSR1 arrived since the last call (and clears it). */
int sigs_pass_take(void);

/* 1 if SIGUSR1 arrived and was not taken yet (does not clear it). */
int sigs_pass_pending(void);

/* Sleep ms milliseconds or until *flag is nonzero (flag NULL: the full
 * time).  Returns 1 if it ended because of the flag (also when the flag
 * was already set), 0 after the full time. */
int sigs_wait_ms(volatile sig_atomic_t *flag, uint64_t ms);

/* The nap of the loop between turns: sigs_wait_ms that also ends when a
 * pass is asked for (sigs_pass_pending).  Returns 1 if it ended early. */
int sigs_nap_ms(volatile sig_atomic_t *flag, uint64_t ms);

#endif
