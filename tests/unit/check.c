#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

int check_passed, check_failed, check_skipped;

void check_record(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        check_passed++;
        return;
    }
    check_failed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int check_summary(void)
{
    printf("%d passed, %d failed", check_passed, check_failed);
    if (check_skipped)
        printf(", %d part(s) skipped", check_skipped);
    printf("\n");
    if (check_failed)
        return 1;
    if (!check_passed)
        return check_skipped ? CHECK_EXIT_SKIP : 1;
    return 0;
}

static void say_missing(const char *shared, const char *rel)
{
    printf("SKIP: %s/%s is missing: the shared fixtures are not here (clone them as ../shared "
           "or configure with -Dshared_dir=DIR; see tests/README.md)\n",
           shared, rel);
}

const char *check_fixture(const char *shared, const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", shared, rel);
    if (access(buf, R_OK) == 0)
        return buf;
    say_missing(shared, rel);
    check_skipped++;
    return NULL;
}

void check_require_fixtures(const char *shared, ...)
{
    va_list ap;
    va_start(ap, shared);
    for (const char *rel; (rel = va_arg(ap, const char *)) != NULL;) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", shared, rel);
        if (access(path, R_OK) != 0) {
            say_missing(shared, rel);
            va_end(ap);
            exit(CHECK_EXIT_SKIP);
        }
    }
    va_end(ap);
}
