"""The reference InPlace-ABN math in plain torch: the only Python copy of it.

Forward: z = phi(gamma_hat * x_hat + beta). Backward from z alone:
y = phi^-1(z), g_y = dz * phi'(z), x_hat = (y - beta) / gamma_hat;
dbeta = sum g_y, dgamma_hat = sum g_y x_hat,
dx = gamma_hat * rstd * (g_y - dbeta / m - x_hat * dgamma_hat / m), and
dgamma from dgamma_hat by the gamma mode's sign rule.

This module runs on every tensor the compiled GPU kernels do not take (CPU
tensors, f64, other memory formats; see _native), and it is the reference
that the tests tie to the compiled paths: test/python/
reference-vs-compiled.test runs the fused forward and backward through the
CPU library the compiler generates from iabn.inplace_abn /
iabn.inplace_abn_grad and through the functions here, and requires them to
agree (z, mean, var, dx, dgamma, dbeta). A change of the math here or in the
compiler's lowering that is not made in both fails that test.

Nothing here knows about kernels, autograd or argument checking beyond the
math's own precondition (more than one value per channel in training).
"""

import torch


def compute_dtype(t):
    """The accumulation dtype for data of t's dtype: f64 for f64, else f32
    (f16/bf16 are storage only)."""
    return torch.float64 if t.dtype == torch.float64 else torch.float32


def check_batch(x, training):
    """Training needs more than one value per channel (a single device): the
    batch variance and its unbiased running form need m >= 2."""
    if training and x.numel() // x.shape[1] < 2:
        raise ValueError("Expected more than 1 value per channel when "
                         f"training, got input size {list(x.shape)}")


def gamma_hat(weight, mode, eps):
    """The scale actually applied: |gamma| + eps (abs_plus_eps), or gamma
    with its magnitude clamped to >= eps, sign kept (sign_clamp); never 0,
    so that x_hat can be recovered from z."""
    if mode == "abs_plus_eps":
        return weight.abs() + eps
    clamped = weight.abs().clamp(min=eps)
    return torch.where(weight < 0, -clamped, clamped)


def apply_gamma_sign(dgamma_hat, weight, gamma_mode):
    """d gamma from d gamma_hat: straight-through for sign_clamp, times
    sign(gamma) for abs_plus_eps."""
    if weight is None or gamma_mode != "abs_plus_eps":
        return dgamma_hat
    return dgamma_hat * torch.where(weight.detach() < 0, -1.0,
                                    1.0).to(dgamma_hat.dtype)


def activation(y, activation, p):
    """phi(y) for identity, leaky_relu (slope p) and elu (alpha p)."""
    if activation == "identity":
        return y
    if activation == "leaky_relu":
        return torch.where(y >= 0, y, y * p)
    if activation == "elu":
        return torch.where(y >= 0, y, torch.expm1(y.clamp(max=0)) * p)
    raise ValueError(f"no reference for activation {activation!r}")


def inverse(z, activation, p):
    """y = phi^-1(z); for elu, z / p is clamped just above -1 so that
    saturated outputs give a finite y."""
    if activation == "identity":
        return z
    if activation == "leaky_relu":
        return torch.where(z >= 0, z, z / p)
    if activation == "elu":
        tiny = 2.0 ** -52 if z.dtype == torch.float64 else 2.0 ** -23
        return torch.where(z >= 0, z,
                           torch.log1p((z / p).clamp(min=-1 + tiny)))
    raise ValueError(f"activation {activation!r} has no inverse")


def derivative(z, activation, p):
    """phi'(y) written in terms of the output z = phi(y)."""
    if activation == "identity":
        return torch.ones_like(z)
    if activation == "leaky_relu":
        return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, p))
    if activation == "elu":
        return torch.where(z > 0, torch.ones_like(z), z + p)
    raise ValueError(f"no derivative from the output for {activation!r}")


def broadcast_shape(x):
    """The view shape of a per-channel (C,) tensor against x (N, C, ...)."""
    return [1, -1] + [1] * (x.dim() - 2)


def reduce_dims(x):
    """The dimensions a per-channel reduction over x (N, C, ...) sums."""
    return [0] + list(range(2, x.dim()))


def affine(weight, bias, gamma_mode, eps, c, compute, device):
    """gamma_hat and beta in the compute dtype (1 and 0 without affine)."""
    g = gamma_hat(weight.detach().to(compute), gamma_mode, eps) \
        if weight is not None else torch.ones(c, dtype=compute, device=device)
    b = bias.detach().to(compute) if bias is not None else \
        torch.zeros(c, dtype=compute, device=device)
    return g, b


def batch_statistics(x, compute):
    """Per-channel mean and biased variance of x, two-pass, in `compute`."""
    dims = reduce_dims(x)
    xc = x.detach().to(compute)
    mean = xc.mean(dims)
    return mean, ((xc - mean.view(broadcast_shape(x))) ** 2).mean(dims)


def update_running(running_mean, running_var, mean, var, count, factor):
    """running <- (1 - factor) running + factor * batch, with the unbiased
    variance of `count` values per channel."""
    with torch.no_grad():
        running_mean.mul_(1 - factor).add_(
            mean.to(running_mean.dtype), alpha=factor)
        running_var.mul_(1 - factor).add_(
            (var * count / (count - 1)).to(running_var.dtype), alpha=factor)


def forward(x, z, weight, bias, running_mean, running_var, training, factor,
            eps, activation_name, param, gamma_mode):
    """z = phi(gamma_hat * x_hat + beta) into z (which may be x), computed
    in the compute dtype; in training with the batch statistics (and the
    running statistics updated when given), else with the running ones.
    Returns the statistics used (mean, biased var) in the compute dtype."""
    c = x.shape[1]
    compute = compute_dtype(x)
    shape = broadcast_shape(x)
    xc = x.detach().to(compute)
    if training:
        mean, var = batch_statistics(x, compute)
        if running_mean is not None:
            update_running(running_mean, running_var, mean, var,
                           x.numel() // c, factor)
    else:
        mean, var = running_mean.to(compute), running_var.to(compute)
    g, b = affine(weight, bias, gamma_mode, eps, c, compute, x.device)
    scale = g * torch.rsqrt(var + eps)
    y = (xc - mean.view(shape)) * scale.view(shape) + b.view(shape)
    with torch.no_grad():
        z.copy_(activation(y, activation_name, param))
    return mean, var


def recover(z, dz, weight, bias, var, eps, activation_name, param,
            gamma_mode):
    """The backward's per-element terms from z and dz alone, in the compute
    dtype: g_y = dz * phi'(z), x_hat = (phi^-1(z) - beta) / gamma_hat, and
    the per-channel gamma_hat * rstd (shaped to broadcast)."""
    compute = compute_dtype(z)
    zc, g = z.detach().to(compute), dz.to(compute)
    shape = broadcast_shape(z)
    gh, b = affine(weight, bias, gamma_mode, eps, z.shape[1], compute,
                   z.device)
    gy = g * derivative(zc, activation_name, param)
    xhat = (inverse(zc, activation_name, param) - b.view(shape)) / \
        gh.view(shape)
    coef = (gh * torch.rsqrt(var.to(compute) + eps)).view(shape)
    return gy, xhat, coef


def grad_sums(gy, xhat):
    """(dbeta, dgamma_hat) = (sum g_y, sum g_y * x_hat) per channel."""
    dims = reduce_dims(gy)
    return gy.sum(dims), (gy * xhat).sum(dims)


def train_grad_input(gy, xhat, coef, dbeta, dgamma_hat, count):
    """dx of the training form from the per-element terms and the
    per-channel sums over `count` values."""
    shape = broadcast_shape(gy)
    return coef * (gy - dbeta.view(shape) / count -
                   xhat * dgamma_hat.view(shape) / count)


def backward(z, dz, weight, bias, var, training, eps, activation_name, param,
             gamma_mode):
    """(dx, dgamma, dbeta) from z and dz alone, all in the compute dtype
    (f32, or f64 for f64 data); dgamma is for the weight itself (the sign
    rule of the gamma mode applied)."""
    gy, xhat, coef = recover(z, dz, weight, bias, var, eps, activation_name,
                             param, gamma_mode)
    dbeta, dgamma = grad_sums(gy, xhat)
    if training:
        dx = train_grad_input(gy, xhat, coef, dbeta, dgamma,
                              z.numel() // z.shape[1])
    else:
        dx = coef * gy
    return dx, apply_gamma_sign(dgamma, weight, gamma_mode), dbeta
