/* Bounded buffers, escaping per context, answers and their serialisation
 * (buf.c, escape.c, response.c, log.c). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "log.h"
#include "response.h"
#include "t.h"

int main(void)
{
	struct buf b;
	struct response r;
	char line[256];

	buf_init(&b, 8);
	T(buf_adds(&b, "12345678") == BUF_OK && b.len == 8, "fills to the max");
	T(buf_adds(&b, "9") == BUF_EFULL && b.len == 8, "refuses past the max");
	T(buf_printf(&b, "%d", 1) == BUF_EFULL, "printf past the max");
	buf_free(&b);
	buf_init(&b, 4096);
	T(buf_printf(&b, "%s-%zu", "x", (size_t)3000) == BUF_OK && strcmp(buf_str(&b), "x-3000") == 0, "printf with %%zu");
	buf_free(&b);
	{
		char big[3000];
		memset(big, 'q', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		buf_init(&b, 4096);
		T(buf_printf(&b, "<%s>", big) == BUF_OK && b.len == sizeof big + 1, "printf longer than 1 KiB");
		buf_free(&b);
	}

	buf_init(&b, 1024);
	T(esc_html(&b, "<a href=\"x\">'&'</a>") == BUF_OK, "html");
	T_STREQ(buf_str(&b), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;", "html escaped");
	buf_free(&b);
	T(esc_url_component(&b, "a b&c=d/é~._-") == BUF_OK, "url");
	T_STREQ(buf_str(&b), "a%20b%26c%3Dd%2F%C3%A9~._-", "url escaped");
	buf_free(&b);
	T(esc_header_safe("https://x/y?a=1&b=2"), "plain header value");
	T(!esc_header_safe("a\r\nX: y"), "CRLF refused");
	T(!esc_header_safe("a\nb"), "LF refused");
	T(!esc_header_safe("a\tb"), "tab refused");
	T(!esc_header_safe("caf\xc3\xa9"), "non-ASCII refused");

	response_init(&r);
	r.status = 303;
	T(response_header(&r, "Location", "https://x/\r\nSet-Cookie: a=1") == RESP_EUNSAFE, "unsafe header refused");
	T(response_header(&r, "Location", "https://x/thanks") == RESP_OK, "header added");
	buf_init(&b, 4096);
	T(response_serialise(&r, &b) == RESP_OK, "serialise");
	T(strncmp(buf_str(&b), "Status: 303 See Other\r\nLocation: https://x/thanks\r\n", 50) == 0, "status and header first");
	T(strstr(buf_str(&b), "Set-Cookie") == NULL, "refused header absent");
	T(strcmp(buf_str(&b) + b.len - 4, "\r\n\r\n") == 0, "no body after the blank line");
	buf_free(&b);
	response_reset(&r, 422);
	r.content_type = "text/html; charset=utf-8";
	T(buf_adds(&r.body, "<p>é</p>") == BUF_OK, "body");
	buf_init(&b, 4096);
	T(response_serialise(&r, &b) == RESP_OK, "serialise with body");
	T(strstr(buf_str(&b), "Content-Length: 9\r\n") != NULL, "byte length of the body");
	T(strstr(buf_str(&b), "Status: 422 Unprocessable Content\r\n") == buf_str(&b), "status line");
	buf_free(&b);
	for (int i = 0; i < RESP_MAX_HEADERS; i++)
		T(response_header(&r, "X-A", "1") == RESP_OK, "header %d", i);
	T(response_header(&r, "X-A", "1") == RESP_EFULL, "header table full");
	response_free(&r);

	log_format(line, sizeof line, LOG_INFO, "a\nb\r\x1b[31m\\ \xc3\xa9 ok");
	T(strstr(line, ": info: a\\x0ab\\x0d\\x1b[31m\\x5c \\xc3\\xa9 ok\n") != NULL, "log escapes controls: %s", line);
	T(strchr(line, '\n') == line + strlen(line) - 1, "one line");
	{
		char longmsg[600];
		memset(longmsg, '\n', sizeof longmsg - 1);
		longmsg[sizeof longmsg - 1] = '\0';
		log_format(line, sizeof line, LOG_ERR, longmsg);
		T(strlen(line) < sizeof line && line[strlen(line) - 1] == '\n', "long escaped message cut, still one line");
	}
	T_DONE();
}
