/*
 * spool_pipe.c: pipelined group commit (spool_commit_group_start/_wait).
 *
 * A synchronous group commit stages (CPU: encode, check, sign, write
 * tmp/ files) and then flushes (disk: syncfs, renames, fsync of new/),
 * one after the other.  Here the calling thread stages group k+1 while a
 * flusher thread, one per producer, makes group k durable.  At most
 * PIPE_DEPTH groups are outstanding (started, not yet reported by
 * _wait); the flusher takes them in order.
 *
 * Ordering after a failure: once a group fails, the groups behind it
 * are discarded unpublished (their numbers follow numbers that were
 * never used), and no group is started until the caller has waited for
 * all of them.  So what is committed is always a prefix of what was
 * started since the caller last heard of a failure.
 */
#include "spool_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_DEPTH 2

struct pipe_slot {
	struct spool_group g;
	enum err_status st;
	struct err e;
	size_t n_done;
};

struct spool_pipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Ring of outstanding groups, oldest at head.  The flusher works
	 * on slot head+finished; the caller adds at head+count. */
	struct pipe_slot slot[PIPE_DEPTH];
	size_t head, count, finished;
	uint64_t next; /* first sequence of the next group started */
	int broken;    /* a group failed and the caller has not heard all */
	int stop;
};

/* The flusher's part of one group; runs without the lock. */
static void flush_slot(struct spool_producer *p, struct pipe_slot *s, int broken)
{
	err_clear(&s->e);
	s->n_done = 0;
	if (!broken) {
		s->st = spool_group_flush(p, &s->g, &s->n_done, &s->e);
		return;
	}
	spool_group_discard(p, &s->g);
	s->st = err_set(&s->e, ERR_TEMP,
	                "producer %s: %zu records from seq %llu not committed: an earlier group "
	                "failed",
	                p->id, s->g.n, (unsigned long long)s->g.first);
}

static void *pipe_flusher(void *arg)
{
	struct spool_producer *p = arg;
	struct spool_pipe *pp = p->pipe;

	pthread_mutex_lock(&pp->mu);
	for (;;) {
		struct pipe_slot *s;
		int broken;

		while (pp->finished == pp->count && !pp->stop)
			pthread_cond_wait(&pp->cv, &pp->mu);
		if (pp->finished == pp->count)
			break;
		s = &pp->slot[(pp->head + pp->finished) % PIPE_DEPTH];
		broken = pp->broken;
		pthread_mutex_unlock(&pp->mu);
		flush_slot(p, s, broken);
		pthread_mutex_lock(&pp->mu);
		if (s->st != ERR_OK) {
			pp->broken = 1;
			pp->next = p->next;
		}
		pp->finished++;
		pthread_cond_broadcast(&pp->cv);
	}
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

/* Start the flusher.  It blocks every signal: the process's handlers
 * (and their EINTR wake-ups) stay with the threads that expect them. */
static enum err_status pipe_open(struct spool_producer *p, struct err *e)
{
	struct spool_pipe *pp;
	sigset_t all, old;
	int rc;

	if (p->pipe)
		return ERR_OK;
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return err_set(e, ERR_TEMP, "out of memory");
	if (pthread_mutex_init(&pp->mu, NULL) != 0) {
		free(pp);
		return err_set(e, ERR_TEMP, "cannot set up the commit pipeline");
	}
	if (pthread_cond_init(&pp->cv, NULL) != 0) {
		pthread_mutex_destroy(&pp->mu);
		free(pp);
		return err_set(e, ERR_TEMP, "cannot set up the commit pipeline");
	}
	p->pipe = pp;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&pp->thread, NULL, pipe_flusher, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		p->pipe = NULL;
		pthread_cond_destroy(&pp->cv);
		pthread_mutex_destroy(&pp->mu);
		free(pp);
		return err_set(e, ERR_TEMP, "cannot start the commit pipeline's flusher");
	}
	return ERR_OK;
}

/* Under the lock: why a group cannot be started now (ERR_OK: it can). */
static enum err_status start_allowed(struct spool_producer *p, struct err *e)
{
	struct spool_pipe *pp = p->pipe;

	if (pp->count == PIPE_DEPTH)
		return err_set(e, ERR_PERM,
		               "producer %s: %d groups outstanding; wait for one first", p->id,
		               PIPE_DEPTH);
	if (pp->broken)
		return err_set(e, ERR_TEMP,
		               "producer %s: an earlier group failed; wait for it first", p->id);
	return ERR_OK;
}

enum err_status spool_commit_group_start(struct spool_producer *p, struct record **recs, size_t n,
                                         struct err *e)
{
	struct spool_pipe *pp;
	struct spool_group g;
	enum err_status st;
	uint64_t first;

	st = pipe_open(p, e);
	if (st != ERR_OK)
		return st;
	pp = p->pipe;
	pthread_mutex_lock(&pp->mu);
	if (pp->count == 0)
		pp->next = p->next; /* direct commits may have run meanwhile */
	st = start_allowed(p, e);
	first = pp->next;
	pthread_mutex_unlock(&pp->mu);
	if (st != ERR_OK)
		return st;
	st = spool_group_stage(p, &g, recs, n, first, e);
	if (st != ERR_OK)
		return st;
	pthread_mutex_lock(&pp->mu);
	if (pp->broken) {
		pthread_mutex_unlock(&pp->mu);
		spool_group_discard(p, &g);
		return err_set(e, ERR_TEMP,
		               "producer %s: not committed: an earlier group failed while this one "
		               "was staged",
		               p->id);
	}
	pp->slot[(pp->head + pp->count) % PIPE_DEPTH].g = g;
	pp->count++;
	pp->next = first + n;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
	return ERR_OK;
}

enum err_status spool_commit_group_wait(struct spool_producer *p, size_t *n_done, struct err *e)
{
	struct spool_pipe *pp = p->pipe;
	struct pipe_slot *s;
	enum err_status st;

	*n_done = 0;
	if (!pp || pp->count == 0)
		return err_set(e, ERR_PERM, "producer %s: no group outstanding", p->id);
	pthread_mutex_lock(&pp->mu);
	while (pp->finished == 0)
		pthread_cond_wait(&pp->cv, &pp->mu);
	s = &pp->slot[pp->head];
	st = s->st;
	*n_done = s->n_done;
	if (st != ERR_OK && e)
		*e = s->e;
	pp->head = (pp->head + 1) % PIPE_DEPTH;
	pp->count--;
	pp->finished--;
	if (pp->count == 0)
		pp->broken = 0;
	pthread_mutex_unlock(&pp->mu);
	return st;
}

size_t spool_commit_group_outstanding(const struct spool_producer *p)
{
	return p->pipe ? p->pipe->count : 0;
}

int spool_pipe_busy(const struct spool_producer *p)
{
	return spool_commit_group_outstanding(p) > 0;
}

uint64_t spool_pipe_next(const struct spool_producer *p)
{
	struct spool_pipe *pp = p->pipe;
	uint64_t next;

	pthread_mutex_lock(&pp->mu);
	next = pp->next;
	pthread_mutex_unlock(&pp->mu);
	return next;
}

void spool_pipe_close(struct spool_producer *p)
{
	struct spool_pipe *pp = p->pipe;

	if (!pp)
		return;
	pthread_mutex_lock(&pp->mu);
	pp->stop = 1;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
	pthread_join(pp->thread, NULL);
	pthread_cond_destroy(&pp->cv);
	pthread_mutex_destroy(&pp->mu);
	free(pp);
	p->pipe = NULL;
}
