/* test_dest_mail: the notification mail sent to tests/smtpd.py on loopback:
 * what arrives (envelope, login, the very bytes composed), and the outcome
 * of each way it can fail. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "clock.h"
#include "dest_mail.h"
#include "mail.h"
#include "t.h"
#include "tfiles.h"

#define MID      "0b7e2f3a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define TS       "2026-12-02T10:00:00.000Z"
#define USER     "forms-login"
#define PASSWORD "Corr3ct-h0rse-battery"

static char tmpdir[64], maildir[128], url[64];
static pid_t smtpd_pid = -1;

static struct map_field fields[] = {
	{ .name = "email", .trait = "email", .type = MAP_EMAIL },
	{ .name = "first", .trait = "firstName" },
	{ .name = "message", .trait = "message" },
};
static struct map_form form = { .id = "demo", .fields = fields, .n_fields = 3 };
static char *to_list[] = { "sales@example.com", "boss@example.org" };
static struct map_dest dest = { .kind = MAP_DEST_NOTIFY, .name = "notify", .to = to_list,
                                .n_to = 2, .subject = "Demo request from {firstName}",
                                .reply_to_visitor = true };
static struct map_smtp smtp = { .user = USER, .from = "Website <forms@example.com>",
                                .from_addr = "forms@example.com" };

/* ---- the server -------------------------------------------------------- */

static bool start_smtpd(void)
{
	char portfile[160], pwfile[160], buf[16] = "";
	FILE *f;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/fmgate-test-mail.XXXXXX");
	if (!mkdtemp(tmpdir))
		return false;
	snprintf(maildir, sizeof maildir, "%s/mails", tmpdir);
	snprintf(portfile, sizeof portfile, "%s/port", tmpdir);
	snprintf(pwfile, sizeof pwfile, "%s/password", tmpdir);
	if (!t_write(pwfile, PASSWORD "\n", 0600))
		return false;
	smtpd_pid = fork();
	if (smtpd_pid < 0)
		return false;
	if (smtpd_pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execl("/usr/bin/python3", "python3", "tests/smtpd.py", "--port", "0", "--port-file",
		      portfile, "--dir", maildir, "--user", USER, "--password-file", pwfile,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !buf[0]; i++) { /* up to 10 s */
		int st;

		if (waitpid(smtpd_pid, &st, WNOHANG) == smtpd_pid) {
			smtpd_pid = -1; /* it died: no python3, or a bad script path */
			return false;
		}
		if ((f = fopen(portfile, "r"))) {
			if (!fgets(buf, sizeof buf, f))
				buf[0] = '\0';
			fclose(f);
		}
		if (!buf[0])
			usleep(50000);
	}
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(url, sizeof url, "smtp://127.0.0.1:%s", buf);
	return buf[0] != '\0';
}

static void stop_smtpd(void)
{
	int st;

	if (smtpd_pid > 0) {
		kill(smtpd_pid, SIGTERM);
		waitpid(smtpd_pid, &st, 0);
	}
	if (tmpdir[0])
		t_remove_tree(tmpdir);
}

/* The fault file's content; NULL removes it. */
static void fault(const char *text)
{
	char path[160];

	snprintf(path, sizeof path, "%s/fault", maildir);
	if (text)
		t_write(path, text, 0600);
	else
		unlink(path);
}

/* The content of the mail folder's file `name`, malloc'd; NULL when absent. */
static char *slurp(const char *name)
{
	char path[192], *s = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof path, "%s/%s", maildir, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (s = malloc((size_t)n + 1))) {
		s[fread(s, 1, (size_t)n, f)] = '\0';
	}
	fclose(f);
	return s;
}

/* A port nothing listens on: the kernel picks one, which is then let go. */
static unsigned closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void fresh(struct submission *s)
{
	submission_init(s);
	memcpy(s->message_id, MID, sizeof MID);
	memcpy(s->timestamp, TS, sizeof TS);
	s->email = strdup("ann@example.com");
	submission_add_trait(s, "email", &fields[0], NULL, cJSON_CreateString("ann@example.com"), 3);
	submission_add_trait(s, "firstName", &fields[1], NULL, cJSON_CreateString("Zoë"), 3);
	submission_add_trait(s, "message", &fields[2], NULL,
	                     cJSON_CreateString("Hello\r\n.\r\nQUIT\r\nFrom here\r\n.."), 3);
}

static bool has_mail(const char *name)
{
	char *s = slurp(name);

	free(s);
	return s != NULL;
}

/* ---- cases ------------------------------------------------------------- */

static void test_delivered(const struct submission *s)
{
	struct fm_result r;
	struct buf want;
	char *eml, *json;
	cJSON *env;

	dest_mail_send(&smtp, &dest, s, &form, 5000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1 && r.http_status == 250 &&
	  r.retry_after_s == -1, "delivered: %s %ld %s", fm_outcome_name(r.outcome),
	  r.http_status, r.message);
	json = slurp("0001.json");
	env = json ? cJSON_Parse(json) : NULL;
	T(env != NULL, "the server wrote the envelope");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(env, "from")), "forms@example.com",
	        "MAIL FROM: the From address");
	T(cJSON_GetArraySize(cJSON_GetObjectItem(env, "rcpt")) == 2 &&
	  strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(env, "rcpt"), 0)),
	         "sales@example.com") == 0 &&
	  strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(env, "rcpt"), 1)),
	         "boss@example.org") == 0, "RCPT TO: the mapping's recipients, no other");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(env, "auth")), USER, "logged in as the user");
	eml = slurp("0001.eml");
	T(mail_compose(&smtp, &dest, s, &form, &want) == MAIL_OK && eml &&
	  strcmp(eml, buf_str(&want)) == 0, "the server got the composed mail, byte for byte");
	T(eml && strstr(eml, "\r\nfirst: Zo=C3=AB\r\nmessage: Hello\r\n  .\r\n  QUIT\r\n  From here"
	                     "\r\n  ..\r\n"), "with the fields, the dots as sent");
	T(eml && strstr(eml, "\r\nReply-To: ann@example.com\r\n") && !strstr(eml, "Bcc"),
	  "Reply-To: the visitor");
	buf_free(&want);
	cJSON_Delete(env);
	free(json);
	free(eml);
}

static void test_refused(const struct submission *s)
{
	static const struct {
		const char *fault;
		enum fm_outcome want;
		long status;
	} cases[] = {
		{ "rcpt 550\n", FM_REJECTED, 550 },
		{ "mail 451\n", FM_RETRY, 451 },
		{ "data 554\n", FM_REJECTED, 554 },
		{ "data 452\n", FM_RETRY, 452 },
		{ "# mail 550\nrcpt 450\n", FM_RETRY, 450 },
	};
	struct fm_result r;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fault(cases[i].fault);
		dest_mail_send(&smtp, &dest, s, &form, 5000, &r);
		T(r.outcome == cases[i].want && r.http_status == cases[i].status && r.calls == 1 &&
		  r.message[0], "%s: %s %ld %s", cases[i].fault, fm_outcome_name(r.outcome),
		  r.http_status, r.message);
	}
	fault(NULL);
	T(!has_mail("0002.json"), "none of them kept a mail");
}

static void test_login(const struct submission *s)
{
	struct map_smtp wrong = smtp, none = smtp;
	struct fm_result r;
	char pw[] = "Wr0ng-" PASSWORD;

	wrong.password.bytes = pw;
	wrong.password.len = strlen(pw);
	dest_mail_send(&wrong, &dest, s, &form, 5000, &r);
	T(r.outcome == FM_RETRY && r.http_status == 535 && r.calls == 1,
	  "a wrong password: retried once fixed: %s %ld %s", fm_outcome_name(r.outcome),
	  r.http_status, r.message);
	T(!strstr(r.message, pw) && !strstr(r.message, PASSWORD), "no password in the message: %s",
	  r.message);
	none.user = NULL;
	dest_mail_send(&none, &dest, s, &form, 5000, &r);
	T(r.outcome == FM_RETRY && r.http_status == 530, "no login where one is needed: %s %ld",
	  fm_outcome_name(r.outcome), r.http_status);
	T(!has_mail("0002.json"), "no mail kept");
}

static void test_unreachable(const struct submission *s)
{
	struct map_smtp other = smtp;
	struct fm_result r;
	char u[64];
	int starttls = 0;

	snprintf(u, sizeof u, "smtp://127.0.0.1:%u", closed_port());
	other.url = u;
	dest_mail_send(&other, &dest, s, &form, 5000, &r);
	T(r.outcome == FM_RETRY && r.calls == 1 && r.http_status == 0 && r.message[0],
	  "nobody listening: %s %s", fm_outcome_name(r.outcome), r.message);

	/* Off loopback, smtp:// needs STARTTLS, which smtpd.py does not offer.
	 * Two names reach it without being loopback names to dest_mail: the
	 * IPv4-mapped address (where the host has IPv6 sockets) and a name
	 * under .localhost (which libcurl resolves to loopback itself); at
	 * least one must get as far as STARTTLS. */
	for (int i = 0; i < 2; i++) {
		snprintf(u, sizeof u, "smtp://%s:%s", i ? "fmgate-test.localhost" : "[::ffff:127.0.0.1]",
		         strrchr(url, ':') + 1);
		dest_mail_send(&other, &dest, s, &form, 5000, &r);
		T(r.outcome == FM_RETRY && r.calls == 1, "%s: not sent: %s", u, r.message);
		starttls += strstr(r.message, "STARTTLS") != NULL;
	}
	T(starttls > 0, "off loopback, STARTTLS is required");
	T(!has_mail("0002.json"), "nothing kept");
	snprintf(u, sizeof u, "smtp://localhost:%s", strrchr(url, ':') + 1);
	dest_mail_send(&other, &dest, s, &form, 5000, &r);
	T(r.outcome == FM_DELIVERED, "plain to localhost: %s", r.message);
	T(has_mail("0002.json") && !has_mail("0003.json"), "only that one kept");
}

/* Last: the server keeps the mail it answers late, after the test moved on
 * (the mail comes twice once retried, as any delivery in flight can). */
static void test_slow(const struct submission *s)
{
	struct fm_result r;
	int64_t t0;

	fault("delay 3\n");
	t0 = clock_mono_ms();
	dest_mail_send(&smtp, &dest, s, &form, 1000, &r);
	t0 = clock_mono_ms() - t0;
	T(r.outcome == FM_RETRY && r.calls == 1 && t0 >= 900 && t0 < 1500,
	  "slower than the budget: %s after %lld ms: %s", fm_outcome_name(r.outcome),
	  (long long)t0, r.message);
	fault(NULL);
}

static void test_no_call(const struct submission *s)
{
	static const char *const urls[] = { "http://127.0.0.1:25", "smtp://u:p@127.0.0.1:25",
	                                    "smtp://", "imap://127.0.0.1", NULL };
	struct map_smtp other = smtp;
	struct fm_result r;

	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		other.url = (char *)urls[i];
		dest_mail_send(&other, &dest, s, &form, 5000, &r);
		T(r.outcome == FM_RETRY && r.calls == 0, "url %s: not tried: %s", urls[i] ? urls[i] : "(none)",
		  r.message);
	}
	dest_mail_send(&smtp, &dest, s, &form, 0, &r);
	T(r.outcome == FM_RETRY && r.calls == 0, "no budget: not tried");
	other = smtp;
	other.from = "Website <forms@example.com>\r\nBcc: x@evil.example";
	dest_mail_send(&other, &dest, s, &form, 5000, &r);
	T(r.outcome == FM_REJECTED && r.calls == 0, "a From that cannot be: rejected, not tried: %s",
	  r.message);
}

static void test_describe(const struct submission *s)
{
	char *text = NULL, want[512];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct buf mail;

	dest_mail_describe(&smtp, &dest, s, &form, f);
	fclose(f);
	snprintf(want, sizeof want, "%s (as " USER ")\nMAIL FROM:<forms@example.com>\n"
	         "RCPT TO:<sales@example.com>\nRCPT TO:<boss@example.org>\n\n", url);
	T(text && strncmp(text, "SMTP ", 5) == 0 && strncmp(text + 5, want, strlen(want)) == 0,
	  "try: the envelope first: %s", text);
	T(mail_compose(&smtp, &dest, s, &form, &mail) == MAIL_OK && text &&
	  strlen(text) > strlen(want) + 5 && strcmp(text + 5 + strlen(want), buf_str(&mail)) == 0,
	  "then the mail as sent");
	T(text && !strstr(text, PASSWORD), "no password");
	buf_free(&mail);
	free(text);
}

int main(void)
{
	struct submission s;
	char pw[] = PASSWORD;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!start_smtpd()) {
		T(0, "cannot start tests/smtpd.py with /usr/bin/python3");
		stop_smtpd();
		T_DONE();
	}
	smtp.url = url;
	smtp.password.bytes = pw;
	smtp.password.len = strlen(pw);
	fresh(&s);
	test_delivered(&s);
	test_refused(&s);
	test_login(&s);
	test_unreachable(&s);
	test_no_call(&s);
	test_describe(&s);
	test_slow(&s);
	submission_free(&s);
	stop_smtpd();
	curl_global_cleanup();
	T_DONE();
}
