/* gm_proxy.c - a TCP proxy for tests: loopback only, bounded, stops by
 * itself.
 *
 *   gm_proxy LISTEN_PORT TARGET_PORT [--drop-after-commit N] [--seconds S] [--rtt-ms MS]
 *
 * Forwards connections from 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT.
 * With --drop-after-commit N it reads the server's side of the PostgreSQL
 * protocol and, at the Nth CommandComplete "COMMIT", closes both sides
 * without forwarding it: the server has committed, the client never hears
 * so, which is how a connection that drops mid-commit looks.  Clients must
 * connect with sslmode=disable and gssencmode=disable (every server
 * message is then typed).  With --rtt-ms MS every byte is held MS/2
 * milliseconds in each direction before it is forwarded, as a link with
 * that round trip would (bandwidth is not limited): the benchmarks' hosted
 * database.  It exits after S seconds (default 60). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct parser {
	unsigned char head[5];
	size_t nhead;
	uint32_t left;		/* bytes of the current message body still to come */
	char tag[8];
	size_t ntag;
	int is_complete;
};

static int listen_on(int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 16) != 0) {
		perror("gm_proxy: listen");
		exit(2);
	}
	return s;
}

static int connect_to(int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(s);
		return -1;
	}
	return s;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Feeds server bytes through the parser; returns how many bytes may be
 * forwarded before the Nth COMMIT completion (all of them when it does
 * not occur in buf), and sets *cut when it does. */
static size_t scan(struct parser *ps, const unsigned char *buf, size_t n, int *commits, int drop_at, int *cut)
{
	size_t i = 0, msg_start = 0;

	while (i < n) {
		if (ps->nhead < 5) {
			if (ps->nhead == 0)
				msg_start = i;
			ps->head[ps->nhead++] = buf[i++];
			if (ps->nhead < 5)
				continue;
			ps->left = ((uint32_t)ps->head[1] << 24 | (uint32_t)ps->head[2] << 16 |
				    (uint32_t)ps->head[3] << 8 | ps->head[4]) - 4;
			ps->is_complete = ps->head[0] == 'C';
			ps->ntag = 0;
		} else {
			size_t take = ps->left < n - i ? ps->left : n - i;
			for (size_t k = 0; k < take && ps->is_complete && ps->ntag < sizeof(ps->tag); k++)
				ps->tag[ps->ntag++] = (char)buf[i + k];
			i += take;
			ps->left -= (uint32_t)take;
		}
		if (ps->nhead == 5 && ps->left == 0) {
			if (ps->is_complete && ps->ntag >= 7 && !memcmp(ps->tag, "COMMIT", 7) && ++*commits == drop_at) {
				*cut = 1;
				return msg_start;
			}
			ps->nhead = 0;
		}
	}
	return n;
}

/* Bytes waiting for their time to be forwarded (--rtt-ms). */
struct chunk {
	double due;		/* monotonic ms */
	size_t len, off;
	struct chunk *next;
	unsigned char data[];
};

struct queue {
	struct chunk *head, *tail;
	int close_after;	/* the drop point is queued: close once it is out */
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void enqueue(struct queue *q, const unsigned char *p, size_t n, double due)
{
	struct chunk *c = malloc(sizeof(*c) + n);

	if (!c)
		_exit(1);
	c->due = due;
	c->len = n;
	c->off = 0;
	c->next = NULL;
	memcpy(c->data, p, n);
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
}

/* Writes what is due; -1 when the peer is gone. */
static int release(struct queue *q, int fd, double now)
{
	while (q->head && q->head->due <= now) {
		struct chunk *c = q->head;
		if (write_all(fd, c->data, c->len))
			return -1;
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
		free(c);
	}
	return 0;
}

/* Milliseconds until the next chunk is due, or -1 when none waits. */
static int next_due(const struct queue *a, const struct queue *b, double now)
{
	double t = -1;

	if (a->head)
		t = a->head->due;
	if (b->head && (t < 0 || b->head->due < t))
		t = b->head->due;
	if (t < 0)
		return -1;
	return t <= now ? 0 : (int)(t - now) + 1;
}

static void serve(int client, int target_port, int drop_at, double half_rtt)
{
	int server = connect_to(target_port), commits = 0, cut = 0, one = 1;
	struct parser ps;
	struct queue up = { NULL, NULL, 0 }, down = { NULL, NULL, 0 };
	unsigned char buf[65536];

	memset(&ps, 0, sizeof(ps));
	if (server < 0)
		_exit(1);
	if (half_rtt > 0) {
		/* Held bytes go out as soon as they are due. */
		setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	for (;;) {
		struct pollfd fds[2] = { { client, POLLIN, 0 }, { server, POLLIN, 0 } };
		int timeout = half_rtt > 0 ? next_due(&up, &down, now_ms()) : -1;
		ssize_t n;

		if (down.close_after && !down.head)
			break;
		/* Once the drop point is queued, nothing more is read. */
		if (poll(fds, down.close_after ? 0 : 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents && !down.close_after) {
			n = read(client, buf, sizeof(buf));
			if (n <= 0)
				break;
			if (half_rtt > 0)
				enqueue(&up, buf, (size_t)n, now_ms() + half_rtt);
			else if (write_all(server, buf, (size_t)n))
				break;
		}
		if (fds[1].revents && !down.close_after) {
			size_t fwd;
			n = read(server, buf, sizeof(buf));
			if (n <= 0)
				break;
			fwd = drop_at > 0 ? scan(&ps, buf, (size_t)n, &commits, drop_at, &cut) : (size_t)n;
			if (half_rtt > 0) {
				if (fwd)
					enqueue(&down, buf, fwd, now_ms() + half_rtt);
				down.close_after = cut;
			} else if (write_all(client, buf, fwd) || cut) {
				break;
			}
		}
		if (half_rtt > 0) {
			double now = now_ms();
			if (release(&up, server, now) || release(&down, client, now))
				break;
		}
	}
	close(client);
	close(server);
	_exit(0);
}

int main(int argc, char **argv)
{
	int drop_at = 0, seconds = 60, lfd;
	double half_rtt = 0;
	time_t end;

	if (argc < 3) {
		fprintf(stderr, "usage: gm_proxy LISTEN_PORT TARGET_PORT [--drop-after-commit N] [--seconds S] [--rtt-ms MS]\n");
		return 2;
	}
	for (int k = 3; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--drop-after-commit"))
			drop_at = atoi(argv[k + 1]);
		else if (!strcmp(argv[k], "--seconds"))
			seconds = atoi(argv[k + 1]);
		else if (!strcmp(argv[k], "--rtt-ms"))
			half_rtt = atof(argv[k + 1]) / 2;
	}
	signal(SIGCHLD, SIG_IGN);
	lfd = listen_on(atoi(argv[1]));
	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		struct pollfd pfd = { lfd, POLLIN, 0 };
		int c;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((c = accept(lfd, NULL, NULL)) < 0)
			continue;
		if (fork() == 0) {
			close(lfd);
			alarm((unsigned)seconds);
			serve(c, atoi(argv[2]), drop_at, half_rtt);
		}
		close(c);
	}
	return 0;
}
