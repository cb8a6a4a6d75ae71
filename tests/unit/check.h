/* Minimal assertion helpers for the unit tests: every CHECK counts, failures print
 * where and why, check_summary() prints "N passed, M failed" and gives the exit code. Parts
 * that need the shared fixtures are skipped, with the reason printed, where they are absent. */
#ifndef CHECK_H
#define CHECK_H

#include <stddef.h>
#include <stdio.h>

extern int check_passed, check_failed, check_skipped;

void check_record(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* check_summary: "N passed, M failed"; the exit code: 1 on a failure, 77 (meson's SKIP)
 * when every part was skipped, else 0. */
int check_summary(void);

/* meson's exit code for a skipped test */
#define CHECK_EXIT_SKIP 77

/* The shared fixtures (../shared, -Dshared_dir; tests/README.md) are not in the repository.
 * check_fixture: `rel` under `shared` into buf when it exists; otherwise it prints that the
 * part needing it is skipped and why, counts the skip, and returns NULL. */
const char *check_fixture(const char *shared, const char *rel, char *buf, size_t size);

/* For a test that needs the fixtures throughout: each NULL-terminated `rel` must exist under
 * `shared`, else the test exits 77 (SKIP) saying which is missing. */
void check_require_fixtures(const char *shared, ...);

#define CHECK(cond, ...) check_record(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#endif
