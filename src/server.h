/*
 * server.h: the ways fmgate receives requests.
 *
 * server_run_default(): a FastCGI responder on fd 0 when a FastCGI manager
 * started it (mod_fcgid, lighttpd bin-path, spawn-fcgi), else plain CGI: one
 * request from the environment and stdin, answered on stdout.
 * server_serve(): its own FastCGI socket with pre-forked workers (nginx,
 * systemd). The parent only supervises: it restarts a worker that died, and on
 * SIGTERM or SIGINT stops them all and returns.
 *
 * A worker that receives SIGTERM between requests exits at once; during a
 * request it finishes that answer first.
 *
 * Over FastCGI, a request must arrive within the mapping's read-timeout-ms
 * from the accept of its connection (or from the end of the last request on
 * a kept one): its head (fcgi_head.h: at most LIMIT_MAX_FCGI_HEAD bytes,
 * else the connection is closed, logged once) and its body (else 408). After
 * the answer, the web server has SERVE_DRAIN_MS to close the connection.
 */
#ifndef FMGATE_SERVER_H
#define FMGATE_SERVER_H

struct serve_opts {
	const char *listen;   /* "unix:/path" or "HOST:PORT" */
	int workers;          /* > 0 */
	const char *user;     /* drop to this user when root, or NULL */
};

/* Both return the process exit status. */
int server_run_default(const char *mapping_path);
int server_serve(const struct serve_opts *o, const char *mapping_path);

#endif
