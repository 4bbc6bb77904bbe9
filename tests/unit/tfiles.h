/*
 * tfiles.h: temporary files for the unit tests that need a mapping, a key
 * file or a spool on disk.
 */
#ifndef FMGATE_TFILES_H
#define FMGATE_TFILES_H

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Writes `text` to `path` with `mode` (a key file must be 0600). */
static inline bool t_write(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0;

	if (f && fclose(f) != 0)
		ok = false;
	return ok && chmod(path, mode) == 0;
}

static inline int t_remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Removes the tree at `dir`; true when all of it went. */
static inline bool t_remove_tree(const char *dir)
{
	return nftw(dir, t_remove_one, 8, FTW_DEPTH | FTW_PHYS) == 0;
}

/* The environment that overrides a mapping's settings, cleared so that the
 * test's own mapping decides. */
static inline void t_unset_config_env(void)
{
	static const char *const names[] = { "FM_API_BASE", "FM_DOMAIN", "FM_API_KEY",
	                                     "FM_API_KEY_FILE", "FMGATE_SPOOL" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unsetenv(names[i]);
}

#endif
