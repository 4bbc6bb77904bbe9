/*
 * io.h: writing all of a buffer to a file descriptor, through short writes
 * and EINTR. Shared by the CGI answer and the spool's durable files.
 */
#ifndef FMGATE_IO_H
#define FMGATE_IO_H

#include <stddef.h>

/* 0 when every byte was written, -1 (errno set) otherwise. */
int io_write_all(int fd, const char *p, size_t len);

#endif
