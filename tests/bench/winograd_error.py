"""Rounding error of 3x3 convolution in float32: direct (im2col), Winograd F(2x2,3x3)
and F(4x4,3x3), against a float64 reference, at 320 input channels (a U-Net level-0 conv).
Why the engine keeps F(2x2, 3x3): see README, Performance. Needs numpy; not a test.
"""
import numpy as np
rng=np.random.default_rng(0)
ci=320; H=W=16; co=8
x=rng.standard_normal((ci,H,W)).astype(np.float32)
g=(rng.standard_normal((co,ci,3,3))*np.sqrt(2/(9*ci))).astype(np.float32)
# reference in float64
xp=np.pad(x.astype(np.float64),((0,0),(1,1),(1,1)))
ref=np.zeros((co,H,W))
for ky in range(3):
    for kx in range(3):
        ref+=np.einsum('oc,chw->ohw',g[:,:,ky,kx].astype(np.float64),xp[:,ky:ky+H,kx:kx+W])
def direct32():
    xp32=np.pad(x,((0,0),(1,1),(1,1)))
    out=np.zeros((co,H,W),np.float32)
    cols=np.stack([xp32[:,ky:ky+H,kx:kx+W] for ky in range(3) for kx in range(3)],1).reshape(ci*9,H*W)
    return (g.reshape(co,ci*9)@cols).reshape(co,H,W)
def wino(BT,G,AT,m):
    r=3; a=m+r-1
    f=np.float32
    BT=BT.astype(f);G=G.astype(f);AT=AT.astype(f)
    U=np.einsum('ij,ocjk,lk->ocil',G,g,G)  # [co,ci,a,a]
    U=U.astype(f)
    xp32=np.pad(x,((0,0),(1,1+m),(1,1+m)))
    out=np.zeros((co,H,W),np.float32)
    for ty in range(0,H,m):
        for tx in range(0,W,m):
            d=xp32[:,ty:ty+a,tx:tx+a]
            V=np.einsum('ij,cjk,lk->cil',BT,d,BT).astype(f)
            M=np.einsum('ocil,cil->oil',U,V).astype(f)
            Y=np.einsum('ij,ojk,lk->oil',AT,M,AT).astype(f)
            hh=min(m,H-ty); ww=min(m,W-tx)
            out[:,ty:ty+hh,tx:tx+ww]=Y[:,:hh,:ww]
    return out
BT2=np.array([[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]],float)
G2=np.array([[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]])
AT2=np.array([[1,1,1,0],[0,1,-1,-1]],float)
BT4=np.array([[4,0,-5,0,1,0],[0,-4,-4,1,1,0],[0,4,-4,-1,1,0],[0,-2,-1,2,1,0],[0,2,-1,-2,1,0],[0,4,0,-5,0,1]],float)
G4=np.array([[1/4,0,0],[-1/6,-1/6,-1/6],[-1/6,1/6,-1/6],[1/24,1/12,1/6],[1/24,-1/12,1/6],[0,0,1]])
AT4=np.array([[1,1,1,1,1,0],[0,1,-1,2,-2,0],[0,1,1,4,4,0],[0,1,-1,8,-8,1]],float)
for name,o in [('direct',direct32()),('F2',wino(BT2,G2,AT2,2)),('F4',wino(BT4,G4,AT4,4))]:
    e=np.abs(o-ref); print(name,'max abs',e.max(),'rms',np.sqrt((e**2).mean()),'ref rms',np.sqrt((ref**2).mean()))
