/* cli.c: strict parsing of one verb's options. */
#include "cli.h"

#include <string.h>

static const struct cli_opt *find(const struct cli_opt *opts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

enum cli_err cli_parse(int argc, char **argv, const struct cli_opt *opts, size_t n_opts,
                       char **operands, size_t max_operands, size_t *n_operands,
                       const char **bad)
{
	const struct cli_opt *o;
	enum cli_err e = CLI_OK;
	int i;

	*n_operands = 0;
	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			if (*n_operands == max_operands) {
				e = CLI_EOPERANDS;
				goto out;
			}
			operands[(*n_operands)++] = argv[i];
			continue;
		}
		if (!(o = find(opts, n_opts, argv[i]))) {
			e = CLI_EUNKNOWN;
			goto out;
		}
		if (o->flag ? *o->flag : *o->arg != NULL) {
			e = CLI_ETWICE;
			goto out;
		}
		if (o->flag) {
			*o->flag = true;
			continue;
		}
		if (i + 1 == argc) {
			e = CLI_ENOARG;
			goto out;
		}
		*o->arg = argv[++i];
	}
out:
	if (e != CLI_OK && bad)
		*bad = argv[i];
	return e;
}

const char *cli_strerror(enum cli_err e)
{
	switch (e) {
	case CLI_OK: return "ok";
	case CLI_EUNKNOWN: return "unknown option";
	case CLI_ENOARG: return "option needs an argument";
	case CLI_ETWICE: return "option given twice";
	case CLI_EOPERANDS: return "too many arguments";
	}
	return "unknown error";
}
