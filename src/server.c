/* server.c: CGI, FastCGI on fd 0, and `serve` with pre-forked workers. */
#include "server.h"

#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
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

#include "buf.h"
#include "handler.h"
#include "io.h"
#include "log.h"
#include "request.h"
#include "response.h"

#define SERVE_BACKLOG      128
#define SERVE_MAX_WORKERS  256
#define SERVE_STOP_GRACE_S 10

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

static const char *fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)ctx)->envp);
}

/* The body read of a FastCGI request is bounded by a one-shot timer: when
 * it fires, the handler shuts the connection's reading side, so that the
 * read() libfcgi is blocked in (however it loops) ends at once. */
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
	FCGX_Request *rq = ctx;
	int chunk = len > 65536 ? 65536 : (int)len;
	int n;

	read_timed_out = 0;
	timed_fd = rq->ipcFd;
	read_timer(timeout_ms);
	n = FCGX_GetStr(buf, chunk, rq->in);
	read_timer(0);
	timed_fd = -1;
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


/* The FastCGI accept loop of one worker, on listening socket fd. */
static int fcgi_loop(struct app *app, int fd)
{
	FCGX_Request rq;
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_worker_term;
	sigaction(SIGTERM, &sa, NULL);
	/* No SA_RESTART: the timer must end a blocked read. */
	sa.sa_handler = on_read_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if (FCGX_InitRequest(&rq, fd, 0) != 0) {
		log_msg(LOG_ERR, "cannot initialise the FastCGI request");
		return 1;
	}
	while (!stop_requested) {
		struct buf out;

		if (FCGX_Accept_r(&rq) < 0)
			break;
		in_request = 1;
		buf_init(&out, RESP_MAX_BODY + 16384);
		handle_one(app, fcgi_param, fcgi_read, &rq, &out);
		if (FCGX_PutStr(buf_str(&out), (int)out.len, rq.out) < 0)
			log_msg(LOG_WARN, "the client went away before the answer");
		buf_free(&out);
		FCGX_Finish_r(&rq);
		in_request = 0;
	}
	FCGX_Free(&rq, 1);
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
