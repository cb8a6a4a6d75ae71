/* How much working memory a job needs, and how much the system can give it. */
#ifndef SD_MEMORY_H
#define SD_MEMORY_H

#include <stddef.h>

/* Bytes the system can give now (MemAvailable), or 0 when unknown. */
size_t sd_memory_available(void);

#endif
