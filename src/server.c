/* server.c: CGI, FastCGI on fd 0, and `serve` with pre-forked workers. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "buf.h"
#include "clock.h"
#include "fcgi_head.h"
#include "handler.h"
#include "fmgate_limits.h"
#include "io.h"
#include "log.h"
#include "netaddr.h"
#include "request.h"
#include "response.h"
#include "text.h"

#define SERVE_BACKLOG      128
#define SERVE_MAX_WORKERS  256
#define SERVE_STOP_GRACE_S 10
/* After the answer, libfcgi reads until the web server closes, pausing up to
 * 2 s between reads however long it goes on: this bounds the whole wait. */
#define SERVE_DRAIN_MS     2000
/* Refused peers (FCGI_WEB_SERVER_ADDRS) logged: the first, then one in this. */
#define SERVE_REFUSED_LOG_EVERY 100

/* Set by SIGTERM; a worker idle in accept() exits at once instead. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t in_request;

static void on_worker_term(int sig)
{
	(void)sig;
	if (!in_request)
		_exit(0);
	stop_requested = 1;
}

static const char *cgi_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static ssize_t cgi_read(void *ctx, char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t n;
	int r;

	(void)ctx;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return REQ_READ_TIMEOUT;
	do
		n = read(STDIN_FILENO, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* One FastCGI request: libfcgi's, when its read timeout runs out, and the
 * last header value fcgi_param() joined. */
struct fcgi_conn {
	FCGX_Request rq;
	int64_t deadline;     /* clock_mono_ms() */
	char joined[LIMIT_MAX_FCGI_JOINED + 1];
};

/* The right-most whole entries of p[0, n) within `keep` bytes (text.h), the
 * spaces after their separator skipped; NULL when there are none. */
static const char *tail_of(const char *p, size_t n, size_t keep, char sep)
{
	const char *t = text_list_tail(p, n, keep, sep);

	while (t && *t == ' ')
		t++;
	return t;
}

/* Appends one copy of a header to the joined value j, keeping the right-most
 * LIMIT_MAX_FCGI_JOINED bytes cut after a separator (as request.c keeps an
 * X-Forwarded-For's right end), or nothing when no separator is left. */
static void join_copy(char *j, size_t *len, const char *sep, const char *v)
{
	size_t vl = strlen(v), sl = *len ? strlen(sep) : 0, total = *len + sl + vl;
	const char *t = NULL;

	if (total > LIMIT_MAX_FCGI_JOINED && total - LIMIT_MAX_FCGI_JOINED < *len)
		t = tail_of(j, *len, *len - (total - LIMIT_MAX_FCGI_JOINED), sep[0]);
	if (t) {
		*len = (size_t)(j + *len - t);
		memmove(j, t, *len);
		sl = *len ? sl : 0;
	} else if (total > LIMIT_MAX_FCGI_JOINED) {
		*len = sl = 0;
		if (vl > LIMIT_MAX_FCGI_JOINED &&
		    !(v = tail_of(v, vl, LIMIT_MAX_FCGI_JOINED, sep[0])))
			v = "";
		vl = strlen(v);
	}
	memcpy(j + *len, sep, sl);
	memcpy(j + *len + sl, v, vl);
	*len += sl + vl;
	j[*len] = '\0';
}

/*
 * A parameter, as libfcgi's FCGX_GetParam but for the copies of a header:
 * nginx before 1.23 passes each line of a repeated header as a parameter of
 * its own, where FCGX_GetParam returns the first, a line the client wrote
 * (a forged X-Forwarded-For before the proxy's). Every copy counts, joined in
 * order with ", " (RFC 3875; "; " for Cookie, as nginx 1.23 does). A joined
 * value is in c->joined: valid until the next call.
 */
static const char *fcgi_param(void *ctx, const char *name)
{
	struct fcgi_conn *c = ctx;
	const char *sep = strcmp(name, "HTTP_COOKIE") == 0 ? "; " : ", ";
	const char *first = NULL;
	size_t nl = strlen(name), len = 0;
	bool many = false;

	if (strncmp(name, "HTTP_", 5) != 0)
		return FCGX_GetParam(name, c->rq.envp);
	for (char **p = c->rq.envp; p && *p; p++) {
		if (strncmp(*p, name, nl) != 0 || (*p)[nl] != '=')
			continue;
		if (first && !many) {
			many = true;
			join_copy(c->joined, &len, sep, first);
		}
		if (many)
			join_copy(c->joined, &len, sep, *p + nl + 1);
		else
			first = *p + nl + 1;
	}
	return many ? c->joined : first;
}

/* libfcgi's reads (the body, the drain after the answer) are bounded by a
 * one-shot timer: when it fires, the handler shuts the connection's reading
 * side, so that the read() libfcgi is blocked in (however it loops) ends at
 * once. */
static volatile sig_atomic_t timed_fd = -1;
static volatile sig_atomic_t read_timed_out;

static void on_read_alarm(int sig)
{
	(void)sig;
	if (timed_fd >= 0) {
		read_timed_out = 1;
		shutdown(timed_fd, SHUT_RD);
	}
}

static void read_timer(int timeout_ms)
{
	struct itimerval it = { { 0, 0 }, { timeout_ms / 1000, (timeout_ms % 1000) * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static ssize_t fcgi_read(void *ctx, char *buf, size_t len, int timeout_ms)
{
	struct fcgi_conn *c = ctx;
	FCGX_Request *rq = &c->rq;
	int chunk = len > 65536 ? 65536 : (int)len;
	int64_t left = c->deadline - clock_mono_ms();
	int n;

	if (left <= 0)
		return REQ_READ_TIMEOUT;
	if (left < timeout_ms)
		timeout_ms = (int)left;
	read_timed_out = 0;
	timed_fd = rq->ipcFd;
	read_timer(timeout_ms);
	n = FCGX_GetStr(buf, chunk, rq->in);
	/* In this order: an alarm due now must not shut a connection that
	 * is kept. */
	timed_fd = -1;
	read_timer(0);
	if (read_timed_out)
		return REQ_READ_TIMEOUT;
	return n < 0 || FCGX_GetError(rq->in) ? -1 : n;
}

/* Runs the handler for one request and gives back the serialised answer
 * (or a bare 500 when even that failed). */
static void handle_one(struct app *app, req_param_fn param, req_read_fn rd, void *ctx,
                       struct buf *out)
{
	struct request req;
	struct response res;

	response_init(&res);
	if (request_init(&req, param, ctx) == REQ_OK)
		handler_handle(app, &req, rd, ctx, &res);
	else
		response_reset(&res, 500);
	if (response_serialise(&res, out) != RESP_OK) {
		buf_free(out);
		if (buf_adds(out, "Status: 500 Internal Server Error\r\n\r\n") != BUF_OK)
			log_msg(LOG_ERR, "out of memory writing an answer");
	}
	request_free(&req);
	response_free(&res);
}


/* fd's peer, false for a unix socket's (or when that failed). */
static bool peer_addr(int fd, struct netaddr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char ip[INET6_ADDRSTRLEN];
	const void *a;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	else
		return false;
	return inet_ntop(ss.ss_family, a, ip, sizeof ip) && netaddr_parse(ip, strlen(ip), out);
}

/* FCGI_WEB_SERVER_ADDRS, as libfcgi means it: when it names addresses
 * (comma-separated, spaces around them ignored; IPv4 or IPv6, an IPv4 one
 * also matching its ::ffff: form), a TCP peer must be one of them. Unset or
 * empty, every peer is. */
static bool peer_allowed(int fd, const char *addrs, struct netaddr *peer)
{
	struct netaddr a;
	bool listed = false;

	if (!addrs || !peer_addr(fd, peer))
		return true;
	for (const char *p = addrs; *p; p += strcspn(p, ","), p += *p == ',') {
		const char *s = p + strspn(p, " \t");
		size_t n = strcspn(s, ",");

		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		listed = listed || n;
		if (n && netaddr_parse(s, n, &a) && memcmp(&a, peer, sizeof a) == 0)
			return true;
	}
	return !listed;
}

static bool accept_retry(int err)
{
	switch (err) {
	case EINTR: case ECONNABORTED: case EPROTO: case ECONNRESET: case ETIMEDOUT:
	case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN: case EHOSTDOWN: case ENONET:
	case ENOPROTOOPT: case EOPNOTSUPP:
		return true;
	}
	return false;
}

/* The next connection on listening socket lfd; -1 when that failed. */
static int accept_conn(int lfd, const char *addrs)
{
	static unsigned long refused;
	struct netaddr peer;
	char ip[NETADDR_TEXT];
	int one = 1;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			/* A peer that went away before the accept, or a network error
			 * pending on it (accept(2) says to retry): the next one. */
			if (accept_retry(errno))
				continue;
			log_msg(LOG_ERR, "accept: %s", strerror(errno));
			return -1;
		}
		if (peer_allowed(fd, addrs, &peer)) {
			/* The answer goes out in several records: no Nagle delay (fails
			 * harmlessly on a unix socket). */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			return fd;
		}
		close(fd);
		/* The first refusal, then one line in SERVE_REFUSED_LOG_EVERY. */
		if (refused++ % SERVE_REFUSED_LOG_EVERY == 0)
			log_msg(LOG_WARN, "FastCGI peer %s refused: not in FCGI_WEB_SERVER_ADDRS "
			        "(%lu refused by this worker)", netaddr_format(&peer, ip), refused);
	}
}

/* fd has a byte (or its end) to read within timeout_ms. */
static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t deadline = clock_mono_ms() + timeout_ms, left;
	int r = 0;

	while (r <= 0 && (left = deadline - clock_mono_ms()) > 0) {
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return true;
	}
	return r > 0;
}

/*
 * Waits for the next request on c's connection (kept from the last request,
 * or a new one from lfd) and has libfcgi read its head. libfcgi would read
 * the head itself with blocking reads and allocate each parameter at its
 * declared length, so fmgate accepts, waits for the whole head under the read
 * timeout (counted from the accept, or on a kept connection from its next
 * byte, and also bounding the body) and the size cap
 * (fcgi_head.h), and only then hands the connection over. 1: a request;
 * 0: none on that connection, closed; -1: the listening socket failed.
 */
static int next_request(struct app *app, int lfd, const char *addrs, struct fcgi_conn *c)
{
	const struct mapping *m = app_current(app);
	unsigned timeout_ms = m ? m->settings.read_timeout_ms : LIMIT_DEFAULT_READ_TIMEOUT_MS;
	bool kept = c->rq.ipcFd >= 0;
	enum fcgi_head_err e = FCGI_HEAD_IDLE;
	int64_t left;
	int r;

	if (!kept && (c->rq.ipcFd = accept_conn(lfd, addrs)) < 0)
		return -1;
	/* A kept connection may idle up to the read timeout; its next request
	 * has the whole timeout from its first byte. */
	if (!kept || readable(c->rq.ipcFd, (int)timeout_ms)) {
		c->deadline = clock_mono_ms() + timeout_ms;
		e = fcgi_head_wait(c->rq.ipcFd, c->deadline);
	}
	if (e != FCGI_HEAD_OK) {
		/* A web server's idle kept connection, or one it closed: no news. */
		if (e != FCGI_HEAD_CLOSED && !(kept && e == FCGI_HEAD_IDLE))
			log_msg(LOG_WARN, "FastCGI connection closed: %s (read-timeout-ms %u, "
			        "at most %u bytes)", fcgi_head_strerror(e), timeout_ms,
			        LIMIT_MAX_FCGI_HEAD);
		close(c->rq.ipcFd);
		c->rq.ipcFd = -1;
		return 0;
	}
	/* FCGX_Accept_r first ends the last request and closes its connection
	 * unless kept: it must keep the one it is handed. Its own accept is never
	 * reached: the request's listening socket is -1, so a head it refuses
	 * closes the connection and returns < 0. */
	c->rq.keepConnection = 1;
	/* A head it refuses it closes by reading until the peer stops sending,
	 * with no overall limit: the timer ends that at the deadline. */
	left = c->deadline - clock_mono_ms();
	timed_fd = c->rq.ipcFd;
	read_timer(left > 0 ? (int)left : 1);
	r = FCGX_Accept_r(&c->rq);
	timed_fd = -1;
	read_timer(0);
	if (r < 0) {
		log_msg(LOG_WARN, "FastCGI connection closed: libfcgi refused its request head");
		c->rq.ipcFd = -1;
		return 0;
	}
	return 1;
}

/* The rest of the body, which a refusal (404, 413...) left unread, would be
 * read as the next request on a kept connection: it is read and dropped up
 * to its end, within the request's deadline and LIMIT_MAX_FCGI_DISCARD
 * bytes, or the connection is not kept. */
static void discard_body(struct fcgi_conn *c)
{
	static char scrap[16384];
	size_t total = 0;
	ssize_t n;

	/* The handler read it all: nothing left, however late it is. */
	if (FCGX_HasSeenEOF(c->rq.in) && !FCGX_GetError(c->rq.in))
		return;
	do {
		n = fcgi_read(c, scrap, sizeof scrap, INT_MAX);
		total += n > 0 ? (size_t)n : 0;
	} while (n > 0 && total <= LIMIT_MAX_FCGI_DISCARD);
	if (n != 0)
		c->rq.keepConnection = 0;
}

/* Ends the request: libfcgi flushes the answer, then, unless the connection
 * is kept, reads what the web server still sends until it closes; the timer
 * cuts that after SERVE_DRAIN_MS. */
static void fcgi_finish(struct fcgi_conn *c)
{
	FCGX_Request *rq = &c->rq;

	if (rq->keepConnection)
		discard_body(c);
	timed_fd = rq->ipcFd;
	read_timer(SERVE_DRAIN_MS);
	FCGX_Finish_r(rq);
	timed_fd = -1;
	read_timer(0);
}

/* The FastCGI loop of one worker, on listening socket fd. */
static int fcgi_loop(struct app *app, int fd)
{
	const char *addrs = getenv("FCGI_WEB_SERVER_ADDRS");
	struct fcgi_conn c;
	struct sigaction sa;
	int r;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_worker_term;
	sigaction(SIGTERM, &sa, NULL);
	/* No SA_RESTART: the timer must end a blocked read. */
	sa.sa_handler = on_read_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if (FCGX_InitRequest(&c.rq, -1, 0) != 0) {
		log_msg(LOG_ERR, "cannot initialise the FastCGI request");
		return 1;
	}
	while (!stop_requested && (r = next_request(app, fd, addrs, &c)) >= 0) {
		struct buf out;

		if (r == 0)
			continue;
		in_request = 1;
		buf_init(&out, RESP_MAX_BODY + 16384);
		handle_one(app, fcgi_param, fcgi_read, &c, &out);
		if (FCGX_PutStr(buf_str(&out), (int)out.len, c.rq.out) < 0)
			log_msg(LOG_WARN, "the client went away before the answer");
		buf_free(&out);
		fcgi_finish(&c);
		in_request = 0;
	}
	if (c.rq.ipcFd >= 0)
		close(c.rq.ipcFd);
	c.rq.ipcFd = -1;
	FCGX_Free(&c.rq, 0);
	return 0;
}

int server_run_default(const char *mapping_path)
{
	struct app app;
	int rc = 0;

	if (FCGX_Init() != 0) {
		log_msg(LOG_ERR, "cannot initialise libfcgi");
		return 1;
	}
	if (getuid() == 0 || geteuid() == 0)
		log_msg(LOG_WARN, "running as root: run fmgate as an unprivileged user");
	if (app_init(&app, mapping_path) != 0)
		return 1;
	if (FCGX_IsCGI()) {
		struct buf out;

		buf_init(&out, RESP_MAX_BODY + 16384);
		handle_one(&app, cgi_param, cgi_read, NULL, &out);
		rc = io_write_all(STDOUT_FILENO, buf_str(&out), out.len) == 0 ? 0 : 1;
		buf_free(&out);
	} else {
		rc = fcgi_loop(&app, 0);
	}
	app_free(&app);
	return rc;
}

/* Opens the listening socket: "unix:/path" or "HOST:PORT". */
static int open_listener(const char *listen, const char **unix_path)
{
	struct stat st;

	*unix_path = NULL;
	if (strncmp(listen, "unix:", 5) == 0) {
		*unix_path = listen + 5;
		if (!**unix_path)
			return -1;
		/* A socket left by an earlier run would make bind() fail. */
		if (lstat(*unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(*unix_path);
		return FCGX_OpenSocket(*unix_path, SERVE_BACKLOG);
	}
	if (!strchr(listen, ':'))
		return -1;
	return FCGX_OpenSocket(listen, SERVE_BACKLOG);
}

static int drop_privileges(const char *user, const char *unix_path)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		if (user)
			log_msg(LOG_WARN, "--user %s ignored: not started as root", user);
		return 0;
	}
	if (!user) {
		log_msg(LOG_WARN, "running as root: give --user to drop privileges");
		return 0;
	}
	pw = getpwnam(user);
	if (!pw || pw->pw_uid == 0) {
		log_msg(LOG_ERR, "--user %s: no such unprivileged user", user);
		return -1;
	}
	/* The web server connects as that user's group, typically. */
	if (unix_path && chown(unix_path, pw->pw_uid, pw->pw_gid) != 0) {
		log_msg(LOG_ERR, "cannot hand the socket to %s: %s", user, strerror(errno));
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0 || setuid(0) == 0) {
		log_msg(LOG_ERR, "cannot drop privileges to %s", user);
		return -1;
	}
	return 0;
}

static volatile sig_atomic_t parent_stop;

static void on_parent_term(int sig)
{
	(void)sig;
	parent_stop = 1;
}

static void on_child(int sig)
{
	(void)sig;
}

static pid_t spawn_worker(struct app *app, int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;

		/* The parent's handlers and blocked signals are not the worker's. */
		signal(SIGTERM, on_worker_term);
		signal(SIGINT, SIG_IGN);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(fcgi_loop(app, fd));
	}
	if (pid < 0)
		log_msg(LOG_ERR, "fork: %s", strerror(errno));
	return pid;
}

/* Stops every worker: SIGTERM, then SIGKILL after the grace period. */
static void stop_workers(pid_t *pids, int n)
{
	time_t deadline = time(NULL) + SERVE_STOP_GRACE_S;
	int left = 0;

	for (int i = 0; i < n; i++)
		if (pids[i] > 0 && kill(pids[i], SIGTERM) == 0)
			left++;
	while (left > 0) {
		pid_t p = waitpid(-1, NULL, WNOHANG);

		if (p > 0) {
			for (int i = 0; i < n; i++)
				if (pids[i] == p)
					pids[i] = 0;
			left--;
		} else if (p < 0) {
			break;
		} else if (time(NULL) >= deadline) {
			for (int i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			deadline = time(NULL) + SERVE_STOP_GRACE_S;
		} else {
			usleep(20000);
		}
	}
}

int server_serve(const struct serve_opts *o, const char *mapping_path)
{
	pid_t pids[SERVE_MAX_WORKERS] = { 0 };
	const char *unix_path;
	struct sigaction sa;
	sigset_t block, old;
	struct app app;
	int fd, rc = 1;

	if (o->workers < 1 || o->workers > SERVE_MAX_WORKERS) {
		fprintf(stderr, "fmgate serve: --workers must be 1 to %d\n", SERVE_MAX_WORKERS);
		return 2;
	}
	if (FCGX_Init() != 0)
		return 1;
	fd = open_listener(o->listen, &unix_path);
	if (fd < 0) {
		fprintf(stderr, "fmgate serve: cannot listen on %s\n", o->listen);
		return 1;
	}
	if (drop_privileges(o->user, unix_path) != 0)
		goto out_close;
	if (app_init(&app, mapping_path) != 0)
		goto out_close;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_parent_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);

	for (int i = 0; i < o->workers; i++)
		pids[i] = spawn_worker(&app, fd);
	log_msg(LOG_INFO, "serving FastCGI on %s with %d workers", o->listen, o->workers);
	while (!parent_stop) {
		pid_t p;
		int status;

		sigsuspend(&old);
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int i = 0; i < o->workers; i++) {
				if (pids[i] != p)
					continue;
				pids[i] = 0;
				if (parent_stop)
					break;
				log_msg(LOG_WARN, "worker %ld ended (status %d); starting another",
				        (long)p, status);
				/* A worker that dies at once would otherwise spin. */
				sleep(1);
				pids[i] = spawn_worker(&app, fd);
			}
		}
	}
	stop_workers(pids, o->workers);
	sigprocmask(SIG_SETMASK, &old, NULL);
	log_msg(LOG_INFO, "stopped");
	rc = 0;
	app_free(&app);
out_close:
	close(fd);
	if (unix_path && rc == 0)
		unlink(unix_path);
	return rc;
}
