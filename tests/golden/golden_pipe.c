#include "golden.h"
/* placeholder until the runner exists */
int golden_run_pipeline(const golden_case *c, golden_tally *t) { golden_check(c, t, 0, "no runner yet"); return -1; }
