#include <stdio.h>
int main(void) { fprintf(stderr, "diffuse: not written yet\n"); return 1; }
