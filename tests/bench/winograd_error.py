"""Rounding error of 3x3 convolution in float32: direct (im2col), Winograd F(2x2,3x3) and
F(4x4,3x3) with two sets of interpolation points (Lavin's 0, ±1, ±2; the engine's
0, ±1, 1/2, -2: conv_winograd4.c), against a float64 reference, on U-Net-like shapes
(input channels 320 at 32², 640 and 1280 at 16²; random normal input, He-scaled weights).
The transforms and products run in float32 (numpy matmul for the sums over channels).
Needs numpy; not a test: prints max and rms error, and max as a multiple of im2col's.
"""
from fractions import Fraction as Fr
import numpy as np

f32 = np.float32


def cook_toom(points):
    """Aᵀ (4x6), G (6x3), Bᵀ (6x6) of F(4,3) for five finite points and infinity."""
    m, r, n = 4, 3, 6
    at = [[p ** i for p in points] + [Fr(1 if i == m - 1 else 0)] for i in range(m)]
    g = []
    for j, p in enumerate(points):
        f = Fr(1)
        for l, q in enumerate(points):
            if l != j:
                f *= p - q
        g.append([p ** k / f for k in range(r)])
    g.append([Fr(0), Fr(0), Fr(1)])
    # Bᵀ from the exactness conditions Σ_j Aᵀ[i][j] G[j][k] Bᵀ[j][t] = [t == i + k]
    a = np.zeros((m * r * n, n * n))
    b = np.zeros(m * r * n)
    row = 0
    for i in range(m):
        for k in range(r):
            for t in range(n):
                for j in range(n):
                    a[row, j * n + t] = float(at[i][j] * g[j][k])
                b[row] = 1.0 if t == i + k else 0.0
                row += 1
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    bt = [[Fr(v).limit_denominator(1000) for v in sol[j * n:(j + 1) * n]] for j in range(n)]
    return np.array(at, float), np.array(g, float), np.array(bt, float)


def run(ci, hw, co=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((ci, hw, hw)).astype(f32)
    g = (rng.standard_normal((co, ci, 3, 3)) * np.sqrt(2 / (9 * ci))).astype(f32)
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    ref = np.zeros((co, hw, hw))
    for ky in range(3):
        for kx in range(3):
            ref += np.einsum('oc,chw->ohw', g[:, :, ky, kx].astype(np.float64),
                             xp[:, ky:ky + hw, kx:kx + hw], optimize=True)
    xp32 = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp32[:, ky:ky + hw, kx:kx + hw] for ky in range(3) for kx in range(3)],
                    1).reshape(ci * 9, hw * hw)
    direct = (g.reshape(co, ci * 9) @ cols).reshape(co, hw, hw)

    def wino(bt, gm, at, m):
        a = m + 2
        bt, at = bt.astype(f32), at.astype(f32)
        u = np.einsum('ij,ocjk,lk->ilOc'.replace('O', 'o'), gm, g.astype(np.float64),
                      gm).astype(f32)   # G g Gᵀ in double, rounded once (as the engine)
        t = hw // m
        xq = np.pad(x, ((0, 0), (1, 1 + m), (1, 1 + m)))
        idx = np.arange(t) * m
        d = np.stack([np.stack([xq[:, ty:ty + a, tx:tx + a] for tx in idx], 1) for ty in idx], 1)
        v = np.einsum('ij,cyxjk,lk->ilcyx', bt, d, bt).astype(f32).reshape(a, a, ci, t * t)
        mm = np.matmul(u, v)
        y = np.einsum('ij,jkoq,lk->oqil', at, mm, at).astype(f32).reshape(co, t, t, m, m)
        return y.transpose(0, 1, 3, 2, 4).reshape(co, hw, hw)

    out = {'im2col': direct}
    out['F(2x2)'] = wino(np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float),
                         np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]),
                         np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float), 2)
    for name, pts in [('F(4x4) 0,±1,±2', [0, 1, -1, 2, -2]),
                      ('F(4x4) 0,±1,1/2,-2', [0, 1, -1, Fr(1, 2), -2])]:
        at, gm, bt = cook_toom([Fr(p) for p in pts])
        out[name] = wino(bt, gm, at, 4)
    d0 = np.abs(direct - ref).max()
    for k, o in out.items():
        e = np.abs(o - ref)
        print(f'ci {ci:4d} {hw}²  {k:20s} max {e.max():.2e} ({e.max() / d0:5.2f}x im2col)  '
              f'rms {np.sqrt((e ** 2).mean()):.2e}  (output rms {np.sqrt((ref ** 2).mean()):.2f})')


for ci, hw in [(320, 32), (640, 16), (1280, 16)]:
    run(ci, hw)
