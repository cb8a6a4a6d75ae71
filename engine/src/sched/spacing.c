/* Timestep spacing (diffusers' timestep_spacing) and the sigma interpolation, in float64
 * as numpy computes them; each scheduler casts the result as its set_timesteps does. */
#include <math.h>

#include "sched/internal.h"

/* leading: step_ratio = 1000 // N; (np.arange(0, N) * step_ratio).round()[::-1]
 * + steps_offset (scheduling_ddim.py, scheduling_euler_discrete.py, ... set_timesteps). */
static void leading(int n, int steps_offset, double *t)
{
    int ratio = SCHED_TRAIN_STEPS / n;
    for (int j = 0; j < n; j++)
        t[j] = (double)((n - 1 - j) * ratio + steps_offset);
}

/* trailing: np.round(np.arange(1000, 0, -1000 / N)) - 1. numpy's arange stores start and
 * start + step, then fills start + i * (second - start); round is half to even (the
 * default rounding mode of nearbyint). For 62 step counts up to 1000 (61, 103, 121, ...)
 * the float length ceil(1000 / (1000 / N)) makes numpy's arange one entry longer, ending
 * at t = -1; that stray entry is a float artefact and is not reproduced: N entries. */
static void trailing(int n, double *t)
{
    const double start = SCHED_TRAIN_STEPS;
    const double second = start + -((double)SCHED_TRAIN_STEPS / n);
    const double delta = second - start;
    for (int j = 0; j < n; j++) {
        double v = j == 0 ? start : j == 1 ? second : start + (double)j * delta;
        t[j] = nearbyint(v) - 1.0;
    }
}

/* linspace: np.linspace(0, 999, N)[::-1]: step = 999 / (N - 1), y_k = k * step, the last
 * exactly 999; N = 1 gives [0]. */
static void linspace(int n, int round_values, double *t)
{
    const double stop = SCHED_TRAIN_STEPS - 1;
    double step = n > 1 ? stop / (double)(n - 1) : 0.0;
    for (int k = 0; k < n; k++) {
        double y = (n > 1 && k == n - 1) ? stop : (double)k * step;
        t[n - 1 - k] = round_values ? nearbyint(y) : y;
    }
}

void sched_spaced_timesteps(sd_spacing spacing, int n, int steps_offset, int round_linspace,
                            double *t)
{
    switch (spacing) {
    case SD_SPACING_TRAILING: trailing(n, t); break;
    case SD_SPACING_LINSPACE: linspace(n, round_linspace, t); break;
    default: leading(n, steps_offset, t); break;
    }
}

/* numpy's interp: the table value at an integer t (and beyond the ends), else
 * slope * (t - j) + fp[j] with slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]). */
double sched_interp_sigma(const float *sigma_table, double t)
{
    if (!(t > 0.0))
        return sigma_table[0];
    if (t >= SCHED_TRAIN_STEPS - 1)
        return sigma_table[SCHED_TRAIN_STEPS - 1];
    int j = (int)floor(t);
    if ((double)j == t)
        return sigma_table[j];
    double slope = ((double)sigma_table[j + 1] - (double)sigma_table[j]) / 1.0;
    return slope * (t - (double)j) + (double)sigma_table[j];
}
