/* Writing the CLI's output atomically: a hidden temporary file in the target's folder (a
 * rename is atomic only within one file system), flushed to disk, renamed over the target,
 * and the folder flushed so that the rename itself survives a power cut. */
#include "image_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_codecs.h"

/* The signals whose default action ends the process and that a user sends on purpose
 * (Ctrl-C, kill, a closed terminal): the temporary file is removed before it ends. */
static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_CLEANUP_SIGNALS (sizeof cleanup_signals / sizeof cleanup_signals[0])

/* Process-wide, for the handler only: the temporary file's name while it exists. */
static char pending_path[PATH_MAX];
static volatile sig_atomic_t pending_armed;

static void on_signal(int sig)
{
    if (pending_armed)
        unlink(pending_path);          /* async-signal-safe, as are the two calls below */
    signal(sig, SIG_DFL);
    raise(sig);                        /* delivered when the handler returns */
}

typedef struct {
    struct sigaction old[N_CLEANUP_SIGNALS];
    int installed[N_CLEANUP_SIGNALS];
} saved_handlers;

/* A signal the user ignores (nohup's SIGHUP) stays ignored. */
static void install_handlers(saved_handlers *s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_CLEANUP_SIGNALS; i++) {
        s->installed[i] = 0;
        if (sigaction(cleanup_signals[i], NULL, &s->old[i]) == 0 &&
            s->old[i].sa_handler != SIG_IGN)
            s->installed[i] = sigaction(cleanup_signals[i], &sa, NULL) == 0;
    }
}

static void restore_handlers(const saved_handlers *s)
{
    for (size_t i = 0; i < N_CLEANUP_SIGNALS; i++)
        if (s->installed[i])
            sigaction(cleanup_signals[i], &s->old[i], NULL);
}

/* "DIR/.NAME.XXXXXX" beside `path`, and DIR alone; -1 when `path` names no file. */
static int temp_name(const char *path, char *tmp, size_t tmp_size, char *dir, size_t dir_size)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return -1;
    int prefix = slash ? (int)(slash - path) + 1 : 0;   /* the folder with its '/' */
    int n = !slash ? snprintf(dir, dir_size, ".")
            : prefix == 1 ? snprintf(dir, dir_size, "/")
            : snprintf(dir, dir_size, "%.*s", prefix - 1, path);
    if (n < 0 || (size_t)n >= dir_size)
        return -1;
    n = snprintf(tmp, tmp_size, "%.*s.%s.XXXXXX", prefix, path, base);
    return n < 0 || (size_t)n >= tmp_size ? -1 : 0;
}

/* What a new file gets from open(..., 0666): mkstemp makes it 0600. */
static mode_t usual_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

static int check_not_folder(const char *path, char *msg, size_t msg_size)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(msg, msg_size, "cannot write %s: it is a folder", path);
        return -1;
    }
    return 0;
}

int image_io_check_output(const char *path, char *msg, size_t msg_size)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if (check_not_folder(path, msg, msg_size) != 0)
        return -1;
    if (temp_name(path, tmp, sizeof tmp, dir, sizeof dir) != 0) {
        snprintf(msg, msg_size, "cannot write %s: not a file name", path);
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(msg, msg_size, "cannot write %s: cannot create a file in %s: %s", path, dir,
                 strerror(errno));
        return -1;
    }
    close(fd);
    unlink(tmp);
    return 0;
}

/* The PNG into the open temporary file, then to disk; closes fd. */
static int write_and_sync(int fd, const float *rgb, int width, int height, char *why,
                          size_t why_size)
{
    if (fchmod(fd, usual_mode()) != 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        snprintf(why, why_size, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    int rc = image_png_encode(f, rgb, width, height, why, why_size);
    if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
        snprintf(why, why_size, "%s", strerror(errno));
        rc = -1;
    }
    if (fclose(f) != 0 && rc == 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        rc = -1;
    }
    return rc;
}

/* Best effort: some file systems cannot sync a folder, and the file is in place already. */
static void sync_folder(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int image_io_write_png_atomic(const char *path, const float *rgb, int width, int height,
                              char *msg, size_t msg_size)
{
    char dir[PATH_MAX], why[512] = "";
    if (check_not_folder(path, msg, msg_size) != 0)
        return -1;
    if (temp_name(path, pending_path, sizeof pending_path, dir, sizeof dir) != 0) {
        snprintf(msg, msg_size, "cannot write %s: not a file name", path);
        return -1;
    }
    saved_handlers saved;
    install_handlers(&saved);
    int fd = mkstemp(pending_path);
    if (fd < 0) {
        restore_handlers(&saved);
        snprintf(msg, msg_size, "cannot write %s: cannot create a file in %s: %s", path, dir,
                 strerror(errno));
        return -1;
    }
    pending_armed = 1;
    int rc = write_and_sync(fd, rgb, width, height, why, sizeof why);
    if (rc == 0 && rename(pending_path, path) != 0) {
        snprintf(why, sizeof why, "%s", strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(pending_path);
    pending_armed = 0;
    restore_handlers(&saved);
    if (rc != 0) {
        snprintf(msg, msg_size, "cannot write %s: %s", path, why);
        return -1;
    }
    sync_folder(dir);
    return 0;
}
