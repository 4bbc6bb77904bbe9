/*
 * cli.h: strict parsing of one verb's command-line options.
 *
 * A verb lists its options; cli_parse() takes them in any position among its
 * arguments. An argument that starts with '-' (except "-" alone, which names
 * standard input) must be one of the options: an unknown option, an option
 * given twice, an option without its argument or more operands than the verb
 * takes are errors, never ignored. An option's argument is the next argument,
 * taken as it is ("--config -x" names the file "-x").
 *
 * Ownership: nothing is allocated. Option arguments and operands point into
 * argv.
 */
#ifndef FMGATE_CLI_H
#define FMGATE_CLI_H

#include <stdbool.h>
#include <stddef.h>

struct cli_opt {
	const char *name;   /* "--config" */
	const char **arg;   /* an option with an argument: it lands here (the
	                       caller sets *arg to NULL first); NULL for a flag */
	bool *flag;         /* a flag: set to true when given (the caller sets it
	                       to false first); NULL for an option with an argument */
};

enum cli_err {
	CLI_OK = 0,
	CLI_EUNKNOWN,   /* an argument starting with '-' that is no option of the verb */
	CLI_ENOARG,     /* an option without its argument */
	CLI_ETWICE,     /* an option given twice */
	CLI_EOPERANDS,  /* more operands than the verb takes */
};

/*
 * Parses argv[1..argc) (argv[0] is the verb) against opts[0..n_opts). The
 * operands go, in order, to operands[0..max_operands) and their count to
 * *n_operands. On an error *bad (when not NULL) points to the argument at
 * fault.
 */
enum cli_err cli_parse(int argc, char **argv, const struct cli_opt *opts, size_t n_opts,
                       char **operands, size_t max_operands, size_t *n_operands,
                       const char **bad);

const char *cli_strerror(enum cli_err e);

#endif
