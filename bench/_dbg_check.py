import sys, torch
sys.path.insert(0, "test/GPU")
import check_gpu as cg
import iabn_gpu as ig
k = ig.Kernels("build/lib/libiabn_cuda.so")
orig = cg.run_case
def detail(k, shape, dtype, cl, name, p, mode, in_place, gen):
    state = gen.get_state()
    c = shape[1]; dev = "cuda"
    x = torch.randn(shape, generator=gen, device=dev, dtype=torch.float64) * 2 + 0.5
    dz = torch.randn(shape, generator=gen, device=dev, dtype=torch.float64)
    gamma = (torch.rand(c, generator=gen, device=dev) + 0.5) * torch.where(torch.rand(c, generator=gen, device=dev) < 0.5, -1.0, 1.0)
    beta = torch.randn(c, generator=gen, device=dev) * 0.5
    rm = torch.randn(c, generator=gen, device=dev); rv = torch.rand(c, generator=gen, device=dev) + 0.5
    xs, dzs = x.float(), dz.float()
    opts = ig.Options(ig.ACTIVATIONS[name], p, ig.GAMMA_MODES[mode], cg.EPS)
    layout = ig.layout_of(xs, False)
    res = {}
    for ip in (True, False):
        z = xs.clone() if ip else torch.full_like(xs, float("nan"))
        mean = torch.empty(c, device=dev); var = torch.empty(c, device=dev)
        k.forward_train(layout, opts, z if ip else xs, z, gamma, beta, mean, var, rm.clone(), rv.clone(), 0.1)
        dx = dzs.clone() if ip else torch.full_like(dzs, float("nan"))
        dg = torch.empty(c, device=dev); db = torch.empty(c, device=dev)
        k.backward(layout, opts, z, dx if ip else dzs, dx, gamma, beta, var, dg, db)
        torch.cuda.synchronize()
        ref = cg.reference(xs.double(), gamma, beta, dzs.double(), name, p, mode, rm, rv, 0.1, z=z)
        res[ip] = (z, dx, dg, db, ref, var)
        err = (dx.double() - ref["dx"]).abs()
        i = int(err.argmax()); idx = torch.unravel_index(torch.tensor(i), shape)
        idx = tuple(int(t) for t in idx)
        chan_err = (db.double() - ref["dbeta"]).abs()
        ch = int(chan_err.argmax())
        print(f"in_place={ip} max dx err {float(err.max()):.3g} at {idx}: z={float(z[idx]):.9g} dz={float(dzs[idx]):.6g} x={float(xs[idx]):.9g} ref_z={float(ref['z'][idx]):.9g} dx={float(dx[idx]):.6g} ref_dx={float(ref['dx'][idx]):.6g}; n(err>1e-3)={int((err>1e-3).sum())}; dbeta worst channel {ch} err {float(chan_err[ch]):.3g} gamma={float(gamma[ch]):.4g} var={float(var[ch]):.4g}")
        bad = (err > 1e-3).nonzero()[:5]
        print("  bad elements", bad.tolist())
    print("in-place vs out-of-place: z equal", torch.equal(res[True][0], res[False][0]), "dx equal", torch.equal(res[True][1], res[False][1]), "dbeta equal", torch.equal(res[True][3], res[False][3]))
    gen.set_state(state)
def wrapped(k, shape, dtype, cl, name, p, mode, in_place, gen):
    if shape == (8, 64, 56, 56) and dtype == torch.float32 and not cl and name == "leaky_relu" and mode == "abs_plus_eps":
        detail(k, shape, dtype, cl, name, p, mode, in_place, gen)
        r = orig(k, shape, dtype, cl, name, p, mode, in_place, gen)
        print("ORIG:", cg.failures[-3:], flush=True)
        sys.exit(0)
    return orig(k, shape, dtype, cl, name, p, mode, in_place, gen)
cg.run_case = wrapped
sys.argv = ["check_gpu", "build/lib/libiabn_cuda.so"]
cg.main()
