/*
 * tserve.h: a one-shot HTTP server for the unit tests of fmgate's own HTTP
 * callers (webhooks, CAPTCHA verification): it answers one request with a
 * canned answer and hands the request back as received.
 */
#ifndef FMGATE_TSERVE_H
#define FMGATE_TSERVE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct t_server {
	pid_t pid;
	char url[48];          /* http://127.0.0.1:PORT followed by the path asked for */
	int pipe;              /* the request as received, once the child has it */
};

/* Answers one request with the answer_len bytes of `answer` (a whole HTTP
 * answer) after reading the request (headers and Content-Length bytes),
 * which it writes to a pipe first. */
static inline struct t_server t_serve_once(const char *path, const char *answer, size_t answer_len)
{
	struct t_server s = {.pid = -1};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), c, p[2];
	static char buf[65536];

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0 || pipe(p) != 0) {
		printf("cannot listen\n");
		exit(2);
	}
	snprintf(s.url, sizeof s.url, "http://127.0.0.1:%u%s", ntohs(a.sin_port), path);
	if ((s.pid = fork()) == 0) {
		size_t got = 0;
		ssize_t r;
		char *end, *cl;

		close(p[0]);
		if ((c = accept(fd, NULL, NULL)) >= 0) {
			while (got < sizeof buf - 1 && (r = read(c, buf + got, sizeof buf - 1 - got)) > 0) {
				got += (size_t)r;
				buf[got] = '\0';
				if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
					cl = strcasestr(buf, "\r\nContent-Length:");
					if (got >= (size_t)(end + 4 - buf) +
					           (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0))
						break;
				}
			}
			if (write(p[1], buf, got) < 0)
				_exit(1);
			for (size_t off = 0; off < answer_len; ) {
				r = write(c, answer + off, answer_len - off);
				if (r <= 0)
					break;
				off += (size_t)r;
			}
			close(c);
		}
		_exit(0);
	}
	close(fd);
	close(p[1]);
	s.pipe = p[0];
	return s;
}

/* The request the server received, into req ("" when none came: the child
 * writes it to the pipe before it answers, so it is there once the call is
 * over, and stopping the child first never waits for a call not made). */
static inline void t_server_done(struct t_server *s, char *req, size_t size)
{
	size_t got = 0;
	ssize_t r;
	int st;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	while (got < size - 1 && (r = read(s->pipe, req + got, size - 1 - got)) > 0)
		got += (size_t)r;
	req[got] = '\0';
	close(s->pipe);
}

#endif
