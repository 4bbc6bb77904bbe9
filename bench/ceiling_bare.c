/*
 * ceiling_bare.c: the bare ceiling of the benchmark. A libfcgi responder that
 * reads the whole body and answers the same 303 as fmgate, doing nothing else:
 * what the web server and FastCGI cost by themselves.
 */
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX 65536

int main(void)
{
	static const char answer[] = "Status: 303 See Other\r\n"
		"Location: https://www.example.com/thanks.html\r\n"
		"Cache-Control: no-store\r\n\r\n";
	static char body[BODY_MAX];
	FCGX_Request rq;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&rq, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&rq) >= 0) {
		while (FCGX_GetStr(body, sizeof body, rq.in) > 0)
			;
		FCGX_PutStr(answer, (int)sizeof answer - 1, rq.out);
		FCGX_Finish_r(&rq);
	}
	return 0;
}
