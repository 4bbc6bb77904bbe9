/* test_cli.c: strict option parsing of the verbs (cli.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "t.h"

#define MAX_ARGS 8

/* One parse of "VERB ARGS..." with the options --config ARG, --online and
 * --json, and at most two operands. */
struct result {
	enum cli_err e;
	const char *config;
	bool online, json;
	char *ops[2];
	size_t n_ops;
	const char *bad;
};

static struct result parse(const char *const *args)
{
	static char store[MAX_ARGS][64];
	char *argv[MAX_ARGS + 1];
	struct result r = { 0 };
	const struct cli_opt opts[] = {
		{ "--config", &r.config, NULL },
		{ "--online", NULL, &r.online },
		{ "--json", NULL, &r.json },
	};
	int argc = 0;

	argv[argc++] = "verb";
	for (; args[argc - 1] && argc < MAX_ARGS; argc++) {
		snprintf(store[argc], sizeof store[argc], "%s", args[argc - 1]);
		argv[argc] = store[argc];
	}
	argv[argc] = NULL;
	r.e = cli_parse(argc, argv, opts, sizeof opts / sizeof opts[0], r.ops, 2, &r.n_ops,
	                &r.bad);
	return r;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

int main(void)
{
	struct result r;
	const char *const none[] = { NULL };

	r = parse(none);
	T(r.e == CLI_OK && r.n_ops == 0 && !r.config && !r.online, "no arguments");

	r = parse(ARGS("--config", "/x.xml", "--online", "a"));
	T(r.e == CLI_OK, "options first: %s", cli_strerror(r.e));
	T_STREQ(r.config, "/x.xml", "--config takes the next argument");
	T(r.online && !r.json, "the flag given is set, the other not");
	T(r.n_ops == 1, "one operand");
	T_STREQ(r.ops[0], "a", "the operand");

	r = parse(ARGS("a", "--online", "b", "--config", "/y.xml"));
	T(r.e == CLI_OK && r.n_ops == 2 && r.online, "options among and after operands");
	T_STREQ(r.ops[0], "a", "operands keep their order (1)");
	T_STREQ(r.ops[1], "b", "operands keep their order (2)");
	T_STREQ(r.config, "/y.xml", "--config last");

	r = parse(ARGS("-", "--config", "-odd"));
	T(r.e == CLI_OK && r.n_ops == 1, "\"-\" is an operand");
	T_STREQ(r.ops[0], "-", "standard input");
	T_STREQ(r.config, "-odd", "an option's argument is taken as it is");

	r = parse(ARGS("--bogus"));
	T(r.e == CLI_EUNKNOWN, "unknown option");
	T_STREQ(r.bad, "--bogus", "the unknown option is named");

	r = parse(ARGS("-x"));
	T(r.e == CLI_EUNKNOWN, "a short option that is none of ours");

	r = parse(ARGS("--config=/x.xml"));
	T(r.e == CLI_EUNKNOWN, "--config=PATH is not a spelling we take");

	r = parse(ARGS("a", "--config"));
	T(r.e == CLI_ENOARG, "--config without its argument");
	T_STREQ(r.bad, "--config", "the option without argument is named");

	r = parse(ARGS("--online", "--online"));
	T(r.e == CLI_ETWICE, "a flag twice");
	r = parse(ARGS("--config", "/a", "--config", "/b"));
	T(r.e == CLI_ETWICE, "an option with argument twice");
	T_STREQ(r.bad, "--config", "the repeated option is named");

	r = parse(ARGS("a", "b", "c"));
	T(r.e == CLI_EOPERANDS, "more operands than the verb takes");
	T_STREQ(r.bad, "c", "the operand too many is named");

	T(strcmp(cli_strerror(CLI_ENOARG), "option needs an argument") == 0, "strerror");
	T_DONE();
}
