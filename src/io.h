/*
 * io.h: writing all of a buffer to a file descriptor, through short writes
 * and EINTR, and making a directory's entries durable. Shared by the CGI
 * answer, the spool's durable files and the consent ledger.
 */
#ifndef FMGATE_IO_H
#define FMGATE_IO_H

#include <stddef.h>

/* 0 when every byte was written, -1 (errno set) otherwise. */
int io_write_all(int fd, const char *p, size_t len);

/* fsync of the directory at path, so that a file created or renamed in it
 * survives a crash. 0, or -1 with errno set. */
int io_fsync_dir(const char *path);

#endif
