/* bf16 GEMM: packing into the layouts of gemm_bf16.h, the run-time choice of kernel, and
 * the split over the workers. The kernels are in gemm_bf16_avx512.c and gemm_bf16_amx.c. */
#include "ops/gemm_bf16.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/float_bits.h"
#include "ops/parallel.h"

#if defined(SD_HAVE_AMX)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(SD_HAVE_AVX512_BF16) || defined(SD_HAVE_AMX)
#include <cpuid.h>
#endif

/* ---- packing ------------------------------------------------------------------------ */

/* 1 when the AVX-512 packers run (every CPU with a bf16 kernel has them). */
static int vector_pack(void)
{
#ifdef SD_HAVE_AVX512_BF16
    return ops_bf16_best() != OPS_BF16_NONE;
#else
    return 0;
#endif
}

static void pack_row(const float *src, int k, uint16_t *dst, size_t lda, int vec)
{
#ifdef SD_HAVE_AVX512_BF16
    if (vec) {
        ops_bf16_pack_row_avx512(src, k, dst, lda);
        return;
    }
#endif
    (void)vec;
    for (int j = 0; j < k; j++)
        dst[j] = ops_bf16_round(src[j]);
    memset(dst + k, 0, (lda - (size_t)k) * sizeof *dst);
}

typedef struct {
    const float *src;
    int k;
    size_t lds, lda;
    uint16_t *dst;
    int vec;
} rows_job;

static void pack_rows_range(void *arg, int worker, int i0, int i1)
{
    const rows_job *j = arg;
    (void)worker;
    for (int i = i0; i < i1; i++)
        pack_row(j->src + (size_t)i * j->lds, j->k, j->dst + (size_t)i * j->lda, j->lda, j->vec);
}

void ops_bf16_pack_rows(const float *src, int m, int k, size_t lds, uint16_t *dst, size_t lda)
{
    rows_job j = {src, k, lds, lda, dst, vector_pack()};
    ops_parallel_for(ops_workers_for((size_t)m * k), m, pack_rows_range, &j);
}

void ops_bf16_pack_rows_serial(const float *src, int m, int k, size_t lds, uint16_t *dst,
                               size_t lda)
{
    rows_job j = {src, k, lds, lda, dst, vector_pack()};
    pack_rows_range(&j, 0, 0, m);
}

void ops_bf16_pack_pair(const float *k0, const float *k1, int n, uint16_t *dst, size_t block)
{
#ifdef SD_HAVE_AVX512_BF16
    if (vector_pack()) {
        ops_bf16_pack_pair_avx512(k0, k1, n, dst, block);
        return;
    }
#endif
    const int nb = ops_bf16_nblocks(n);
    for (int b = 0; b < nb; b++)
        for (int jj = 0; jj < OPS_BF16_NBLOCK; jj++) {
            const int j = b * OPS_BF16_NBLOCK + jj;
            uint16_t *d = dst + (size_t)b * block + 2 * jj;
            d[0] = j < n ? ops_bf16_round(k0[j]) : 0;
            d[1] = j < n && k1 ? ops_bf16_round(k1[j]) : 0;
        }
}

/* Zero pairs from k up to the padding, in every block. */
static void zero_pad_pairs(int k, int n, uint16_t *dst)
{
    const int kpad = ops_bf16_kpad(k), nb = ops_bf16_nblocks(n), q0 = (k + 1) / 2;
    const size_t block = (size_t)kpad * OPS_BF16_NBLOCK;
    for (int b = 0; b < nb; b++)
        memset(dst + (size_t)b * block + (size_t)q0 * 2 * OPS_BF16_NBLOCK, 0,
               (size_t)(kpad / 2 - q0) * 2 * OPS_BF16_NBLOCK * sizeof *dst);
}

void ops_bf16_pack_cols(const float *src, int k, int n, size_t lds, uint16_t *dst)
{
    const size_t block = (size_t)ops_bf16_kpad(k) * OPS_BF16_NBLOCK;
    for (int q = 0; q < (k + 1) / 2; q++)
        ops_bf16_pack_pair(src + (size_t)2 * q * lds, 2 * q + 1 < k ? src + (size_t)(2 * q + 1) * lds : NULL,
                           n, dst + (size_t)q * 2 * OPS_BF16_NBLOCK, block);
    zero_pad_pairs(k, n, dst);
}

/* Bᵀ[n][k]: element (kk, j) at src[j * lds + kk]. Column by column: each row of Bᵀ is
 * read once, in order, its pairs going 32 values apart into the block. */
void ops_bf16_pack_cols_t(const float *src, int k, int n, size_t lds, uint16_t *dst)
{
#ifdef SD_HAVE_AVX512_BF16
    if (vector_pack()) {
        ops_bf16_pack_cols_t_avx512(src, k, n, lds, dst);
        return;
    }
#endif
    const int kpad = ops_bf16_kpad(k), nb = ops_bf16_nblocks(n), pairs = k / 2;
    const size_t pair_stride = 2 * OPS_BF16_NBLOCK;
    for (int b = 0; b < nb; b++) {
        uint16_t *blk = dst + (size_t)b * kpad * OPS_BF16_NBLOCK;   /* [kpad/2][16][2] */
        for (int jj = 0; jj < OPS_BF16_NBLOCK; jj++) {
            const int j = b * OPS_BF16_NBLOCK + jj;
            uint16_t *d = blk + 2 * jj;
            if (j >= n) {   /* columns past n: zero */
                for (int q = 0; q < kpad / 2; q++)
                    d[q * pair_stride] = d[q * pair_stride + 1] = 0;
                continue;
            }
            const float *row = src + (size_t)j * lds;
            int q = 0;
            for (; q < pairs; q++) {
                d[q * pair_stride] = ops_bf16_round(row[2 * q]);
                d[q * pair_stride + 1] = ops_bf16_round(row[2 * q + 1]);
            }
            if (k % 2) {   /* the last, half-filled pair */
                d[q * pair_stride] = ops_bf16_round(row[k - 1]);
                d[q * pair_stride + 1] = 0;
                q++;
            }
            for (; q < kpad / 2; q++)
                d[q * pair_stride] = d[q * pair_stride + 1] = 0;
        }
    }
}

/* ---- what the CPU runs -------------------------------------------------------------- */

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

#if defined(SD_HAVE_AVX512_BF16) || defined(SD_HAVE_AMX)
static uint64_t xcr0(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}
#endif

static int cpu_avx512_bf16(void)
{
#ifdef SD_HAVE_AVX512_BF16
    unsigned eax, ebx, ecx, edx;
    /* ops_have_avx512: the CPU has AVX-512F and the OS saves the zmm state */
    return ops_have_avx512() && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) &&
           (eax & (1u << 5));   /* CPUID.(7,1):EAX[5] AVX512_BF16 */
#else
    return 0;
#endif
}

#ifdef SD_HAVE_AMX
#define ARCH_REQ_XCOMP_PERM 0x1023   /* asm/prctl.h */
#define XFEATURE_XTILEDATA 18
#define XCR0_TILE ((uint64_t)3 << 17)   /* XTILECFG | XTILEDATA */
#endif

static int cpu_amx_bf16(void)
{
#ifdef SD_HAVE_AMX
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return 0;
    /* CPUID.(7,0):EDX[22] AMX-BF16, EDX[24] AMX-TILE; the OS enables the tile state */
    if (!(edx & (1u << 22)) || !(edx & (1u << 24)) || (xcr0() & XCR0_TILE) != XCR0_TILE)
        return 0;
    /* Linux hands out the 8 KB tile state only to processes that ask (since 5.16). */
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return 0;
#endif
}

static pthread_once_t best_once = PTHREAD_ONCE_INIT;
static ops_bf16_isa best_isa = OPS_BF16_NONE;   /* process-wide: describes the CPU */

static void find_best(void)
{
    if (env_set("SD_NO_BF16"))
        best_isa = OPS_BF16_NONE;
    else if (env_set("SD_AMX") && !env_set("SD_NO_AMX") && cpu_avx512_bf16() && cpu_amx_bf16())
        best_isa = OPS_BF16_AMX;   /* the AMX kernel converts with AVX512-BF16 too */
    else if (cpu_avx512_bf16())
        best_isa = OPS_BF16_AVX512;
}

ops_bf16_isa ops_bf16_best(void)
{
    pthread_once(&best_once, find_best);
    return best_isa;
}

const char *ops_bf16_isa_name(ops_bf16_isa isa)
{
    switch (isa) {
    case OPS_BF16_AMX: return "amx-bf16";
    case OPS_BF16_AVX512: return "avx512-bf16";
    default: return "none";
    }
}

/* ---- the product, cut into pieces spread over the workers -------------------------- */

/* Multiply-adds per piece (~0.15 ms of one core's VDPBF16PS): the operands are packed
 * already, so a piece costs only its own blocks and can be small. */
#define BF16_PIECE_MACS ((size_t)1 << 24)
/* Pieces are whole register/tile blocks: 64 columns (4 zmm, 2 AMX tiles twice) or
 * 96 rows (16 six-row AVX-512 tiles, 3 of AMX's 32-row blocks). */
#define BF16_SPLIT_COLS 64
#define BF16_SPLIT_ROWS 96

typedef struct {
    ops_bf16_isa isa;
    int m, n, k;
    const uint16_t *a, *b;
    size_t lda, ldc;
    float *c;
    int accumulate, split_n, width;
} bf16_job;

static void run_kernel(ops_bf16_isa isa, int m0, int m1, int n0, int n1, int n, int k,
                       const uint16_t *a, size_t lda, const uint16_t *b, float *c, size_t ldc,
                       int accumulate)
{
    if (m0 >= m1 || n0 >= n1)
        return;
    if (k <= 0) {   /* an empty sum */
        for (int i = m0; i < m1 && !accumulate; i++)
            memset(c + (size_t)i * ldc + n0, 0, (size_t)(n1 - n0) * sizeof *c);
        return;
    }
#ifdef SD_HAVE_AMX
    if (isa == OPS_BF16_AMX) {
        ops_gemm_bf16_amx(m0, m1, n0, n1, n, k, a, lda, b, c, ldc, accumulate);
        return;
    }
#endif
#ifdef SD_HAVE_AVX512_BF16
    ops_gemm_bf16_avx512(m0, m1, n0, n1, n, k, a, lda, b, c, ldc, accumulate);
#else
    (void)isa, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)c, (void)ldc,
        (void)accumulate;
    abort();   /* unreachable: ops_bf16_best() said OPS_BF16_NONE */
#endif
}

/* Pieces s0..s1-1, one kernel call each (parallel.h: fixed by the shape, so each value of C
 * comes from the same call whichever worker runs it). */
static void bf16_pieces(void *arg, int worker, int s0, int s1)
{
    const bf16_job *g = arg;
    (void)worker;
    const int extent = g->split_n ? g->n : g->m;
    for (int s = s0; s < s1; s++) {
        const int lo = s * g->width, hi = extent - lo < g->width ? extent : lo + g->width;
        if (g->split_n)
            run_kernel(g->isa, 0, g->m, lo, hi, g->n, g->k, g->a, g->lda, g->b, g->c, g->ldc,
                       g->accumulate);
        else
            run_kernel(g->isa, lo, hi, 0, g->n, g->n, g->k, g->a, g->lda, g->b, g->c, g->ldc,
                       g->accumulate);
    }
}

void ops_gemm_bf16_serial(ops_bf16_isa isa, int m, int n, int k, const uint16_t *a,
                          size_t lda, const uint16_t *b, float *c, size_t ldc, int accumulate)
{
    run_kernel(isa, 0, m, 0, n, n, k, a, lda, b, c, ldc, accumulate);
}

void ops_gemm_bf16(ops_bf16_isa isa, int m, int n, int k, const uint16_t *a, size_t lda,
                   const uint16_t *b, float *c, size_t ldc, int accumulate)
{
    if (m <= 0 || n <= 0)
        return;
    bf16_job g = {isa, m, n, k, a, b, lda, ldc, c, accumulate, .split_n = n >= m};
    const int extent = g.split_n ? n : m, align = g.split_n ? BF16_SPLIT_COLS : BF16_SPLIT_ROWS;
    const size_t macs = (size_t)m * n * (size_t)(k > 0 ? k : 1);
    g.width = ops_gemm_piece_width(macs, extent, align, BF16_PIECE_MACS);
    const int pieces = (extent + g.width - 1) / g.width;
    ops_parallel_for(pieces > 1 ? ops_workers() : 1, pieces, bf16_pieces, &g);
}
