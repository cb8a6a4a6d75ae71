#include "check.h"
int main(void) { CHECK(0, "not written yet"); return check_summary(); }
