/* Minimal assertion helpers for the unit tests: every CHECK counts, failures print
 * where and why, check_summary() prints "N passed, M failed" and gives the exit code. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

extern int check_passed, check_failed;

void check_record(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int check_summary(void);

#define CHECK(cond, ...) check_record(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#endif
