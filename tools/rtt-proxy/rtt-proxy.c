/*
 * rtt-proxy: a loopback TCP relay that adds a network round trip, and
 * drops connections at chosen points of an HTTP exchange, for the
 * benchmarks and the connection-reuse tests (docs/simulators.md).
 *
 *   rtt-proxy --target PORT [--port N] [--rtt-ms N] [--drop before|after|mid]
 *             [--drop-every N] [--stats FILE] [--quiet]
 *
 * It relays bytes, so TLS goes through it end to end (the simulators
 * serve it with --tls-cert): the TLS handshake's own round trips are
 * delayed like every other, as over a real network, and the relay needs
 * no TLS code or certificate of its own.
 *
 * The round trip: every byte from the client reaches the server RTT/2
 * after it arrived, every byte from the server reaches the client RTT/2
 * after it arrived, and a new connection's first bytes wait one more
 * RTT (the TCP handshake a real network would cost before the client
 * could send).  The connection to the server itself is local.
 *
 * Drops count exchanges: an exchange starts when the client sends after
 * the server did (or first on a connection), which on plain HTTP/1.1
 * without pipelining is one request.  Every N-th exchange (--drop-every,
 * default 3) is cut:
 *   before  the request is swallowed: both connections closed, the
 *           server never sees it;
 *   after   the request reaches the server; when its reply starts, both
 *           connections are closed and the client gets no byte of it;
 *   mid     the first half of the reply's first read reaches the client,
 *           then both connections are closed.
 * Over TLS the exchanges are the TLS records' turns, not HTTP requests.
 *
 * Prints "listening on 127.0.0.1:PORT" on stdout like the simulators; on
 * SIGTERM or SIGINT writes "connections N\nexchanges N\ndrops N\n" to
 * --stats FILE (if given) and exits 0.
 */

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>

#define MAX_CONNS 512
#define READ_MAX  65536
/* Stop reading a side whose bytes wait undelivered beyond this. */
#define QUEUE_CAP (8u << 20)

enum drop_mode { DROP_NONE, DROP_BEFORE, DROP_AFTER, DROP_MID };

struct chunk {
	uint64_t due_us;
	size_t len, off;
	int eof;  /* shut the destination's write side */
	int kill; /* close the pair when delivered (a mid-reply drop) */
	struct chunk *next;
	char data[];
};

struct dir {
	struct chunk *head, *tail;
	size_t queued;
	int eof_read; /* the source sent FIN */
	int eof_sent; /* the FIN was passed on */
};

struct pair {
	int cfd, sfd;
	uint64_t open_us;
	struct dir c2s, s2c;
	int last;           /* 0 none, 1 the client sent last, 2 the server */
	enum drop_mode cut; /* the current exchange's fault */
	int dead;
};

static struct {
	int port, target;
	uint64_t rtt_us;
	enum drop_mode drop;
	unsigned long drop_every;
	const char *stats;
	int quiet;
	unsigned long connections, exchanges, drops;
	struct pair *pairs[MAX_CONNS];
	size_t npairs;
} g = {.drop_every = 3};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void dir_free(struct dir *d)
{
	struct chunk *c;

	while ((c = d->head) != NULL) {
		d->head = c->next;
		free(c);
	}
	d->tail = NULL;
	d->queued = 0;
}

static int push(struct dir *d, const char *data, size_t len, uint64_t due, int eof, int kill)
{
	struct chunk *c = malloc(sizeof(*c) + len);

	if (!c)
		return -1;
	memcpy(c->data, data, len);
	c->len = len;
	c->off = 0;
	c->due_us = due;
	c->eof = eof;
	c->kill = kill;
	c->next = NULL;
	if (d->tail)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += len;
	return 0;
}

static void pair_kill(struct pair *p)
{
	p->dead = 1;
}

static void pair_free(struct pair *p)
{
	if (p->cfd >= 0)
		close(p->cfd);
	if (p->sfd >= 0)
		close(p->sfd);
	dir_free(&p->c2s);
	dir_free(&p->s2c);
	free(p);
}

static void accept_one(int lfd)
{
	struct sockaddr_in a;
	struct pair *p;
	int cfd = accept(lfd, NULL, NULL), sfd;

	if (cfd < 0)
		return;
	if (g.npairs == MAX_CONNS) {
		close(cfd);
		return;
	}
	sfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)g.target);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A blocking connect on loopback takes microseconds. */
	if (sfd < 0 || connect(sfd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (!g.quiet)
			fprintf(stderr, "rtt-proxy: cannot reach 127.0.0.1:%d: %s\n", g.target,
			        strerror(errno));
		if (sfd >= 0)
			close(sfd);
		close(cfd);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(cfd);
		close(sfd);
		return;
	}
	nonblock(cfd);
	nonblock(sfd);
	nodelay(cfd);
	nodelay(sfd);
	p->cfd = cfd;
	p->sfd = sfd;
	p->open_us = now_us();
	g.pairs[g.npairs++] = p;
	g.connections++;
}

/* Bytes from the client: a new exchange when the server spoke last. */
static void from_client(struct pair *p, const char *buf, size_t n, uint64_t now)
{
	uint64_t at = now;

	if (p->last != 1) {
		g.exchanges++;
		p->cut = DROP_NONE;
		if (g.drop != DROP_NONE && g.exchanges % g.drop_every == 0) {
			p->cut = g.drop;
			g.drops++;
			if (!g.quiet)
				fprintf(stderr, "rtt-proxy: exchange %lu: drop=%s\n", g.exchanges,
				        g.drop == DROP_BEFORE  ? "before"
				        : g.drop == DROP_AFTER ? "after"
				                               : "mid");
		}
		p->last = 1;
	}
	if (p->cut == DROP_BEFORE) {
		pair_kill(p);
		return;
	}
	/* The TCP handshake a real network would have cost first. */
	if (at < p->open_us + g.rtt_us)
		at = p->open_us + g.rtt_us;
	if (push(&p->c2s, buf, n, at + g.rtt_us / 2, 0, 0))
		pair_kill(p);
}

static void from_server(struct pair *p, const char *buf, size_t n, uint64_t now)
{
	int first = p->last != 2;

	p->last = 2;
	if (p->cut == DROP_AFTER) {
		pair_kill(p);
		return;
	}
	if (p->cut == DROP_MID && first) {
		size_t half = n > 1 ? n / 2 : n;

		if (push(&p->s2c, buf, half, now + g.rtt_us / 2, 0, 1))
			pair_kill(p);
		return;
	}
	if (p->cut == DROP_MID)
		return; /* the rest of a cut reply is never sent */
	if (push(&p->s2c, buf, n, now + g.rtt_us / 2, 0, 0))
		pair_kill(p);
}

static void read_side(struct pair *p, int client, uint64_t now)
{
	static char buf[READ_MAX];
	int fd = client ? p->cfd : p->sfd;
	struct dir *d = client ? &p->c2s : &p->s2c;
	ssize_t n;

	if (d->eof_read)
		return;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		pair_kill(p);
		return;
	}
	if (n == 0) {
		d->eof_read = 1;
		if (push(d, "", 0, now + g.rtt_us / 2, 1, 0))
			pair_kill(p);
		return;
	}
	if (client)
		from_client(p, buf, (size_t)n, now);
	else
		from_server(p, buf, (size_t)n, now);
}

/* Deliver what is due in d to fd.  Returns the next due time (0: none). */
static uint64_t deliver(struct pair *p, struct dir *d, int fd, uint64_t now)
{
	struct chunk *c;

	while ((c = d->head) != NULL && !p->dead) {
		if (c->due_us > now)
			return c->due_us;
		if (c->eof) {
			shutdown(fd, SHUT_WR);
			d->eof_sent = 1;
		} else {
			while (c->off < c->len) {
				ssize_t w =
				    send(fd, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0 && errno == EAGAIN)
					return 0; /* POLLOUT will say when */
				if (w < 0) {
					pair_kill(p);
					return 0;
				}
				c->off += (size_t)w;
				d->queued -= (size_t)w;
			}
			if (c->kill)
				pair_kill(p);
		}
		d->head = c->next;
		if (!d->head)
			d->tail = NULL;
		free(c);
	}
	return 0;
}

static void write_stats(void)
{
	FILE *f;

	if (!g.stats)
		return;
	f = fopen(g.stats, "w");
	if (!f)
		return;
	fprintf(f, "connections %lu\nexchanges %lu\ndrops %lu\n", g.connections, g.exchanges,
	        g.drops);
	fclose(f);
}

static int listen_on(int port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	g.port = ntohs(a.sin_port);
	nonblock(fd);
	return fd;
}

static void serve(int lfd)
{
	static struct pollfd pfd[1 + 2 * MAX_CONNS];

	while (!stop) {
		uint64_t now = now_us(), next = 0;
		size_t n = 0;
		struct timespec timeout;

		/* Deliver what is due, reap the pairs that are finished. */
		for (size_t i = 0; i < g.npairs;) {
			struct pair *p = g.pairs[i];
			uint64_t a = deliver(p, &p->c2s, p->sfd, now);
			uint64_t b = deliver(p, &p->s2c, p->cfd, now);

			if (p->dead || (p->c2s.eof_sent && p->s2c.eof_sent)) {
				pair_free(p);
				g.pairs[i] = g.pairs[--g.npairs];
				continue;
			}
			if (a && (!next || a < next))
				next = a;
			if (b && (!next || b < next))
				next = b;
			i++;
		}
		pfd[n].fd = lfd;
		pfd[n++].events = POLLIN;
		for (size_t i = 0; i < g.npairs; i++) {
			struct pair *p = g.pairs[i];

			pfd[n].fd = p->cfd;
			pfd[n].events =
			    (short)((!p->c2s.eof_read && p->c2s.queued < QUEUE_CAP ? POLLIN : 0) |
			            (p->s2c.head && p->s2c.head->due_us <= now ? POLLOUT : 0));
			if (!pfd[n].events) /* a closed side would report POLLHUP forever */
				pfd[n].fd = -1;
			n++;
			pfd[n].fd = p->sfd;
			pfd[n].events =
			    (short)((!p->s2c.eof_read && p->s2c.queued < QUEUE_CAP ? POLLIN : 0) |
			            (p->c2s.head && p->c2s.head->due_us <= now ? POLLOUT : 0));
			if (!pfd[n].events)
				pfd[n].fd = -1;
			n++;
		}
		/* Microseconds, not poll's milliseconds: a rounded-up timeout
		 * would add up to a millisecond to every delayed chunk. */
		if (next) {
			uint64_t us = next > now ? next - now : 0;

			timeout.tv_sec = (time_t)(us / 1000000u);
			timeout.tv_nsec = (long)(us % 1000000u) * 1000;
		}
		if (ppoll(pfd, n, next ? &timeout : NULL, NULL) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		now = now_us();
		/* pfd[1 + 2i] and pfd[2 + 2i] belong to g.pairs[i] as polled. */
		for (size_t i = 0; i < (n - 1) / 2; i++) {
			struct pair *p = g.pairs[i];

			if (!p->dead && (pfd[1 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)))
				read_side(p, 1, now);
			if (!p->dead && (pfd[2 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)))
				read_side(p, 0, now);
		}
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rtt-proxy --target PORT [--port N] [--rtt-ms N]\n"
	           "                 [--drop before|after|mid] [--drop-every N] [--stats FILE]\n"
	           "                 [--quiet]\n"
	           "Relays 127.0.0.1:PORT (0: any free port) to 127.0.0.1:TARGET, adding a\n"
	           "round trip of N ms (a new connection's first bytes wait one more for the\n"
	           "TCP handshake), and cuts every N-th exchange (default 3) at the point\n"
	           "given: before the server reads the request, after it read it but before\n"
	           "the reply, or in the middle of the reply.\n");
}

static long num_arg(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < min || v > max) {
		fprintf(stderr, "rtt-proxy: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"target", required_argument, 0, 't'},
	                                     {"port", required_argument, 0, 'p'},
	                                     {"rtt-ms", required_argument, 0, 'r'},
	                                     {"drop", required_argument, 0, 'd'},
	                                     {"drop-every", required_argument, 0, 'e'},
	                                     {"stats", required_argument, 0, 's'},
	                                     {"quiet", no_argument, 0, 'q'},
	                                     {"help", no_argument, 0, 'h'},
	                                     {0, 0, 0, 0}};
	struct sigaction sa;
	int o, lfd;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			g.target = (int)num_arg(optarg, 1, 65535);
			break;
		case 'p':
			g.port = (int)num_arg(optarg, 0, 65535);
			break;
		case 'r':
			g.rtt_us = (uint64_t)num_arg(optarg, 0, 600000) * 1000u;
			break;
		case 'd':
			if (strcmp(optarg, "before") == 0)
				g.drop = DROP_BEFORE;
			else if (strcmp(optarg, "after") == 0)
				g.drop = DROP_AFTER;
			else if (strcmp(optarg, "mid") == 0)
				g.drop = DROP_MID;
			else {
				fprintf(stderr, "rtt-proxy: --drop is before, after or mid\n");
				return 2;
			}
			break;
		case 'e':
			g.drop_every = (unsigned long)num_arg(optarg, 1, 1000000000L);
			break;
		case 's':
			g.stats = optarg;
			break;
		case 'q':
			g.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!g.target || optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(g.port);
	if (lfd < 0) {
		fprintf(stderr, "rtt-proxy: cannot listen on 127.0.0.1:%d: %s\n", g.port,
		        strerror(errno));
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", g.port);
	fflush(stdout);
	serve(lfd);
	write_stats();
	for (size_t i = 0; i < g.npairs; i++)
		pair_free(g.pairs[i]);
	close(lfd);
	return 0;
}
