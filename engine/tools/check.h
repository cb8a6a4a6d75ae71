/* `diffuse check MODEL...`: what each checkpoint is, or why it is refused. */
#ifndef DIFFUSE_CHECK_H
#define DIFFUSE_CHECK_H

/* argv[1] is "check". Prints a report per file on stdout, the reason of each refused one
 * on stderr ("diffuse: FILE: unsupported model: ..."). Returns 0 when every file would
 * load, 1 when one is refused, 2 on a usage error. */
int diffuse_check(int argc, char **argv);

#endif
