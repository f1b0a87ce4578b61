"""Correctness of the generated GPU kernels (libiabn_cuda.so) against a
float64 reference on the GPU, for every dtype x layout x activation x gamma
mode and edge shapes; outputs are poisoned (NaN) before each run, inputs are
fresh random. Also checks error reporting. Prints one line per case and a
summary; exits non-zero on any failure."""

import ctypes
import sys

import torch

import iabn_gpu as ig

TOL = {torch.float32: 2e-5, torch.float16: 1e-2, torch.bfloat16: 6e-2}
# elu recovers y = log1p(z / alpha) from the stored z: near saturation
# (z -> -alpha) f16 storage leaves few bits of z + alpha, so x_hat (and dx)
# of those elements carries more error than the dtype's rounding alone.
ELU_F16_TOL = 5e-2
EPS = 1e-5
failures = []


def rel(a, r):
    a, r = a.double(), r.double()
    return float((a - r).abs().max()) / max(1.0, float(r.abs().max()))


def act(y, name, p):
    if name == "identity":
        return y
    if name == "relu":
        return torch.relu(y)
    if name == "leaky_relu":
        return torch.where(y >= 0, y, p * y)
    if name == "relu6":
        return torch.nn.functional.relu6(y)
    if name == "silu":
        return torch.nn.functional.silu(y)
    if name == "gelu":
        return torch.nn.functional.gelu(y)
    if name == "hardswish":
        return torch.nn.functional.hardswish(y)
    return torch.where(y >= 0, y, p * torch.expm1(torch.clamp(y, max=0)))


# Activations with forward kernels only (not invertible: no fused backward).
FORWARD_ONLY = ("relu", "relu6", "silu", "gelu", "hardswish")


def act_grad(y, name, p, positive):
    """phi'(y); `positive` picks the branch. The kernels pick it from the
    stored z as PyTorch's activation backwards do (z > 0: 1, else the
    slope; z == 0 takes the slope): at the kink, where f32 and f64 may
    round y differently, the reference must take the kernel's branch, or
    one element's 1-vs-slope dominates the error."""
    if name == "identity":
        return torch.ones_like(y)
    if name == "leaky_relu":
        return torch.where(positive, 1.0, p).to(y.dtype)
    return torch.where(positive, torch.ones_like(y), p * torch.exp(
        torch.clamp(y, max=0)))


def gamma_hat(g, mode):
    if mode == "abs_plus_eps":
        return g.abs() + EPS
    c = g.abs().clamp(min=EPS)
    return torch.where(g < 0, -c, c)


def reference(x, gamma, beta, dz, name, p, mode, rm, rv, factor, z=None):
    """float64 NCHW-logical reference (x: N,C,... or N,C). z: the kernel's
    output, whose sign picks the activation-derivative branch."""
    x, dz = x.double(), dz.double()
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    m = x.numel() // x.shape[1]
    mean = x.mean(dims)
    var = ((x - mean.view(shape)) ** 2).mean(dims)
    g = gamma_hat(gamma.double(), mode)
    rstd = (var + EPS).rsqrt()
    xhat = (x - mean.view(shape)) * rstd.view(shape)
    y = g.view(shape) * xhat + beta.double().view(shape)
    positive = (z.double() > 0) if z is not None else (y > 0)
    z = act(y, name, p)
    gy = dz * act_grad(y, name, p, positive)
    dbeta = gy.sum(dims)
    dghat = (gy * xhat).sum(dims)
    dx = (g * rstd).view(shape) * (gy - dbeta.view(shape) / m -
                                   xhat * dghat.view(shape) / m)
    dgamma = dghat * torch.where(gamma < 0, -1.0, 1.0).double() \
        if mode == "abs_plus_eps" else dghat
    new_rm = (1 - factor) * rm.double() + factor * mean
    new_rv = (1 - factor) * rv.double() + factor * var * m / (m - 1)
    return dict(z=z, mean=mean, var=var, dx=dx, dgamma=dgamma, dbeta=dbeta,
                running_mean=new_rm, running_var=new_rv)


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def random_inputs(shape, gen):
    """x (mean 0.5, std 2) and dz in float64, gamma of either sign with
    |gamma| in [0.5, 1.5), beta."""
    dev = "cuda"
    c = shape[1]
    x = (torch.randn(shape, generator=gen, device=dev, dtype=torch.float64)
         * 2 + 0.5)
    dz = torch.randn(shape, generator=gen, device=dev, dtype=torch.float64)
    gamma = (torch.rand(c, generator=gen, device=dev) + 0.5) * torch.where(
        torch.rand(c, generator=gen, device=dev) < 0.5, -1.0, 1.0)
    beta = torch.randn(c, generator=gen, device=dev) * 0.5
    return x, dz, gamma, beta


def run_case(k, shape, dtype, channels_last, name, p, mode, in_place, gen):
    dev = "cuda"
    c = shape[1]
    x, dz, gamma, beta = random_inputs(shape, gen)
    rm = torch.randn(c, generator=gen, device=dev)
    rv = torch.rand(c, generator=gen, device=dev) + 0.5
    fmt = torch.channels_last if channels_last and len(shape) == 4 \
        else torch.contiguous_format
    xs = x.to(dtype).contiguous(memory_format=fmt)
    dzs = dz.to(dtype).contiguous(memory_format=fmt)
    layout = ig.layout_of(xs, channels_last and len(shape) == 4)
    opts = ig.Options(ig.ACTIVATIONS[name], p or 0.0, ig.GAMMA_MODES[mode],
                      EPS)
    nan = float("nan")
    z = xs.clone() if in_place else torch.full_like(xs, nan)
    mean = torch.full((c,), nan, device=dev)
    var = torch.full((c,), nan, device=dev)
    rm_out, rv_out = rm.clone(), rv.clone()
    k.forward_train(layout, opts, z if in_place else xs, z, gamma, beta,
                    mean, var, rm_out, rv_out, 0.1)
    dx = dzs.clone() if in_place else torch.full_like(dzs, nan)
    dgamma = torch.full((c,), nan, device=dev)
    dbeta = torch.full((c,), nan, device=dev)
    k.backward(layout, opts, z, dx if in_place else dzs, dx, gamma, beta, var,
               dgamma, dbeta)
    torch.cuda.synchronize()
    ref = reference(xs.double(), gamma, beta, dzs.double(), name, p, mode,
                    rm, rv, 0.1, z=z)
    got = dict(z=z, mean=mean, var=var, dx=dx, dgamma=dgamma, dbeta=dbeta,
               running_mean=rm_out, running_var=rv_out)
    label = (f"{tuple(shape)} {str(dtype)[6:]} "
             f"{'nhwc' if channels_last else 'nchw'} {name} {mode}"
             f"{' in-place' if in_place else ''}")
    return compare(label, got, ref, name, dtype)


def run_forward_case(k, shape, dtype, channels_last, name, gen):
    """forward_train of an activation without backward kernels: z, the
    batch statistics and the running statistics against float64 (y
    scaled so that relu6's upper kink and hardswish's +-3 are crossed)."""
    dev = "cuda"
    c = shape[1]
    x, _, gamma, beta = random_inputs(shape, gen)
    gamma, beta = gamma * 3, beta * 3
    rm = torch.randn(c, generator=gen, device=dev)
    rv = torch.rand(c, generator=gen, device=dev) + 0.5
    fmt = torch.channels_last if channels_last and len(shape) == 4 \
        else torch.contiguous_format
    xs = x.to(dtype).contiguous(memory_format=fmt)
    layout = ig.layout_of(xs, channels_last and len(shape) == 4)
    opts = ig.Options(ig.ACTIVATIONS[name], 0.0, ig.GAMMA_MODES["sign_clamp"],
                      EPS)
    nan = float("nan")
    z = torch.full_like(xs, nan)
    mean = torch.full((c,), nan, device=dev)
    var = torch.full((c,), nan, device=dev)
    rm_out, rv_out = rm.clone(), rv.clone()
    k.forward_train(layout, opts, xs, z, gamma, beta, mean, var, rm_out,
                    rv_out, 0.1)
    torch.cuda.synchronize()
    xd = xs.double()
    dims = [0] + list(range(2, len(shape)))
    view = [1, c] + [1] * (len(shape) - 2)
    m = xd.mean(dims)
    v = xd.var(dims, unbiased=False)
    count = xd.numel() // c
    y = (xd - m.view(view)) / torch.sqrt(v.view(view) + EPS) * \
        gamma_hat(gamma.double(), "sign_clamp").view(view) + \
        beta.double().view(view)
    want = dict(z=act(y, name, None), mean=m, var=v,
                running_mean=0.9 * rm.double() + 0.1 * m,
                running_var=0.9 * rv.double() + 0.1 * v * count /
                max(count - 1, 1))
    got = dict(z=z, mean=mean, var=var, running_mean=rm_out,
               running_var=rv_out)
    label = (f"{tuple(shape)} {str(dtype)[6:]} "
             f"{'nhwc' if channels_last else 'nchw'} {name} forward")
    return compare(label, got, want, name, dtype)


def compare(label, got, want, name, dtype):
    """Checks every output against its reference; returns the worst
    relative error."""
    worst = 0.0
    tol = ELU_F16_TOL if (name == "elu" and dtype == torch.float16) \
        else TOL[dtype]
    for key, r in want.items():
        e = rel(got[key], r)
        worst = max(worst, e)
        check(e == e and e <= tol, f"{label}: {key} error {e:.3g}")
    return worst


def run_sharded_case(k, shape, dtype, channels_last, name, p, mode, gen):
    """The synchronized-BN entry points as InPlaceABNSync uses them, with
    the batch split into two uneven shards (two "devices"): statistics per
    shard, merged with their counts; inference-form apply per shard;
    backward_reduce per shard, sums added; backward_apply with the global
    count. Must equal the reference on the whole batch."""
    dev = "cuda"
    c = shape[1]
    x, dz, gamma, beta = random_inputs(shape, gen)
    cl = channels_last and len(shape) == 4
    fmt = torch.channels_last if cl else torch.contiguous_format
    xs = x.to(dtype).contiguous(memory_format=fmt)
    dzs = dz.to(dtype).contiguous(memory_format=fmt)
    opts = ig.Options(ig.ACTIVATIONS[name], p or 0.0, ig.GAMMA_MODES[mode],
                      EPS)
    cut = max(1, shape[0] // 3)
    shards = [(0, cut), (cut, shape[0])]
    nan = float("nan")
    per = x.numel() // shape[0] // c
    counts, means, variances = [], [], []
    for lo, hi in shards:
        part = xs[lo:hi]
        mean = torch.full((c,), nan, device=dev)
        var = torch.full((c,), nan, device=dev)
        k.statistics(ig.layout_of(part, cl), part, mean, var)
        counts.append((hi - lo) * per)
        means.append(mean.double())
        variances.append(var.double())
    n = torch.tensor(counts, device=dev, dtype=torch.float64)
    w = (n / n.sum()).unsqueeze(1)
    gmean = (w * torch.stack(means)).sum(0)
    gvar = (w * (torch.stack(variances) + (torch.stack(means) - gmean) ** 2)
            ).sum(0)
    gmean32, gvar32 = gmean.float(), gvar.float()
    z = torch.full_like(xs, nan).contiguous(memory_format=fmt)
    dx = torch.full_like(dzs, nan).contiguous(memory_format=fmt)
    sums = torch.zeros(2 * c, device=dev)
    for lo, hi in shards:
        k.forward_inference(ig.layout_of(xs[lo:hi], cl), opts, xs[lo:hi],
                            z[lo:hi], gamma, beta, gmean32, gvar32)
    for lo, hi in shards:
        part = torch.full((2 * c,), nan, device=dev)
        k.backward_reduce(ig.layout_of(z[lo:hi], cl), opts, z[lo:hi],
                          dzs[lo:hi], gamma, beta, gvar32, part)
        sums += part
    for lo, hi in shards:
        k.backward_apply(ig.layout_of(z[lo:hi], cl), opts, z[lo:hi],
                         dzs[lo:hi], dx[lo:hi], gamma, beta, gvar32, sums,
                         sum(counts))
    torch.cuda.synchronize()
    ref = reference(xs.double(), gamma, beta, dzs.double(), name, p, mode,
                    torch.zeros(c, device=dev), torch.ones(c, device=dev),
                    0.1, z=z)
    dghat = ref["dgamma"] * torch.where(gamma < 0, -1.0, 1.0).double() \
        if mode == "abs_plus_eps" else ref["dgamma"]
    got = dict(mean=gmean, var=gvar, z=z, dx=dx, dbeta=sums[:c],
               dgamma=sums[c:])
    want = dict(mean=ref["mean"], var=ref["var"], z=ref["z"], dx=ref["dx"],
                dbeta=ref["dbeta"], dgamma=dghat)
    label = (f"sharded {tuple(shape)} {str(dtype)[6:]} "
             f"{'nhwc' if channels_last else 'nchw'} {name} {mode}")
    return compare(label, got, want, name, dtype)


def errors(k):
    x = torch.zeros(4, 3, device="cuda")
    s = torch.zeros(3, device="cuda")
    good = ig.Options(2, 0.01, 0, EPS)
    bad_layout = ig.Layout(0, 0, 3, 1)
    for label, call in [
        ("zero outer size", lambda: k.forward_train(
            bad_layout, good, x, x, s, s, s, s, workspace=s)),
        ("null x", lambda: k.lib.iabn_forward_train(
            ctypes.byref(ig.Layout(0, 4, 3, 1)), ctypes.byref(good), None,
            ig.ptr(x), None, None, ig.ptr(s), ig.ptr(s), None, None, 0.1,
            ig.ptr(s), 12, None)),
        ("relu backward", lambda: k.backward(
            ig.Layout(0, 4, 3, 1), ig.Options(1, 0, 0, EPS), x, x, x, s, s,
            s, s, s)),
        ("zero slope", lambda: k.forward_train(
            ig.Layout(0, 4, 3, 1), ig.Options(2, 0.0, 0, EPS), x, x, s, s, s,
            s)),
        ("bad dtype", lambda: k.forward_train(
            ig.Layout(7, 4, 3, 1), good, x, x, s, s, s, s, workspace=s)),
        ("one value per channel", lambda: k.forward_train(
            ig.Layout(0, 1, 3, 1), good, x, x, s, s, s, s)),
        ("small workspace", lambda: k.forward_train(
            ig.Layout(0, 4, 3, 1), good, x, x, s, s, s, s, workspace=s[:1])),
        ("apply count below the local count", lambda: k.backward_apply(
            ig.Layout(0, 4, 3, 1), good, x, x, x, s, s, s,
            torch.zeros(6, device="cuda"), 3)),
        ("reduce without sums", lambda: k.backward_reduce(
            ig.Layout(0, 4, 3, 1), good, x, x, s, s, s, None)),
        ("statistics of a null x", lambda: k.lib.iabn_statistics(
            ctypes.byref(ig.Layout(0, 4, 3, 1)), None, ig.ptr(s), ig.ptr(s),
            ig.ptr(s), 12, None)),
    ]:
        try:
            status = call()
            raised = isinstance(status, int) and status != 0
            message = k.lib.iabn_last_error().decode()
        except ig.Error as e:
            raised, message = True, str(e)
        check(raised and message, f"error case '{label}' reported: "
              f"{message!r}")
        print(f"error case {label}: {message}")


def main():
    quick = "--quick" in sys.argv
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    k = ig.Kernels(args[0] if args else None)
    gen = torch.Generator(device="cuda")
    gen.manual_seed(0)
    worst = {}
    count = single = 0
    shapes = [(4, 8, 5, 7), (2, 1, 7, 7), (16, 3, 1, 1), (3, 5, 9, 11),
              (2, 1024, 2, 2), (64, 17), (8, 64, 56, 56)]
    if quick:  # for compute-sanitizer: small and few
        shapes = [(4, 8, 5, 7), (64, 17)]
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for shape in shapes:
            for channels_last in ((False, True) if len(shape) == 4
                                  else (False,)):
                for name, p in (("identity", None), ("leaky_relu", 0.01),
                                ("elu", 0.7)):
                    for mode in ("sign_clamp", "abs_plus_eps"):
                        # Alternate in place / out of place over the
                        # single-device cases (the sharded ones are counted
                        # apart, so they do not shift the alternation).
                        in_place = single % 2 == 0
                        single += 1
                        count += 1
                        e = run_case(k, shape, dtype, channels_last, name, p,
                                     mode, in_place, gen)
                        key = str(dtype)[6:]
                        worst[key] = max(worst.get(key, 0), e)
                        if shape[0] >= 2:
                            count += 1
                            e = run_sharded_case(k, shape, dtype,
                                                 channels_last, name, p,
                                                 mode, gen)
                            worst[key] = max(worst.get(key, 0), e)
                for name in FORWARD_ONLY:
                    count += 1
                    e = run_forward_case(k, shape, dtype, channels_last,
                                         name, gen)
                    key = str(dtype)[6:]
                    worst[key] = max(worst.get(key, 0), e)
    for key in ("float32", "float16", "bfloat16"):
        print(f"worst relative error {key}: {worst[key]:.3g} "
              f"(tolerance {TOL[getattr(torch, key)]:g})")
    errors(k)
    print(f"{count} cases, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
