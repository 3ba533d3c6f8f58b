/* gm_proxy.c - a TCP proxy for tests: loopback only, bounded, stops by
 * itself.
 *
 *   gm_proxy LISTEN_PORT TARGET_PORT [--drop-after-commit N] [--seconds S]
 *
 * Forwards connections from 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT.
 * With --drop-after-commit N it reads the server's side of the PostgreSQL
 * protocol and, at the Nth CommandComplete "COMMIT", closes both sides
 * without forwarding it: the server has committed, the client never hears
 * so, which is how a connection that drops mid-commit looks.  Clients must
 * connect with sslmode=disable and gssencmode=disable (every server
 * message is then typed).  It exits after S seconds (default 60). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

static void serve(int client, int target_port, int drop_at)
{
	int server = connect_to(target_port), commits = 0, cut = 0;
	struct parser ps;
	unsigned char buf[65536];

	memset(&ps, 0, sizeof(ps));
	if (server < 0)
		_exit(1);
	for (;;) {
		struct pollfd fds[2] = { { client, POLLIN, 0 }, { server, POLLIN, 0 } };
		ssize_t n;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents) {
			n = read(client, buf, sizeof(buf));
			if (n <= 0 || write_all(server, buf, (size_t)n))
				break;
		}
		if (fds[1].revents) {
			size_t fwd;
			n = read(server, buf, sizeof(buf));
			if (n <= 0)
				break;
			fwd = drop_at > 0 ? scan(&ps, buf, (size_t)n, &commits, drop_at, &cut) : (size_t)n;
			if (write_all(client, buf, fwd) || cut)
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
	time_t end;

	if (argc < 3) {
		fprintf(stderr, "usage: gm_proxy LISTEN_PORT TARGET_PORT [--drop-after-commit N] [--seconds S]\n");
		return 2;
	}
	for (int k = 3; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--drop-after-commit"))
			drop_at = atoi(argv[k + 1]);
		else if (!strcmp(argv[k], "--seconds"))
			seconds = atoi(argv[k + 1]);
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
			serve(c, atoi(argv[2]), drop_at);
		}
		close(c);
	}
	return 0;
}
