"""Synchronized InPlace-ABN over torch.distributed (NCCL on GPUs, gloo on
CPU).

Forward: every rank computes the mean and biased variance of its own batch
(the `iabn_statistics` kernel on CUDA, torch elsewhere) and all-gathers
(count, mean, variance); the merge weights each rank by its count, so
uneven per-rank batches give exactly the statistics of the whole batch.
The rank then normalizes in place with the merged statistics.

Backward: every rank computes sum(g_y) and sum(g_y * x_hat) from z and dz
(`iabn_backward_reduce`), all-reduces them, and forms dx with the global
count (`iabn_backward_apply`). As in torch.nn.SyncBatchNorm, the returned
weight and bias gradients are this rank's own sums: DistributedDataParallel
averages them like every other parameter gradient.
"""

import torch
import torch.distributed as dist
from torch.autograd.function import once_differentiable

from . import _native as N
from . import _reference as R
from . import functional as F


def merge_statistics(counts, means, variances):
    """The (mean, biased variance, count) of the union of groups with the
    given counts (W,), means (W, C) and biased variances (W, C), in f64."""
    counts = counts.double()
    total = counts.sum()
    weights = (counts / total.clamp(min=1)).unsqueeze(1)
    mean = (weights * means.double()).sum(0)
    var = (weights * (variances.double() +
                      (means.double() - mean) ** 2)).sum(0)
    return mean, var, total


def _local_statistics(x, kernels, compute):
    c = x.shape[1]
    if x.numel() == 0:
        zeros = torch.zeros(c, dtype=compute, device=x.device)
        return zeros, zeros.clone()
    if kernels:
        return N.ops.statistics(x)
    return R.batch_statistics(x, compute)


class InPlaceABNSyncFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, factor, eps,
                activation, param, gamma_mode, group, inplace=True):
        c = x.shape[1]
        n = x.numel() // c if c else 0
        kernels = N.kernels_apply(x)
        compute = R.compute_dtype(x)
        mean, var = _local_statistics(x, kernels, compute)

        packed = torch.cat([
            torch.tensor([float(n)], dtype=torch.float64, device=x.device),
            mean.double(), var.double()])
        gathered = [torch.empty_like(packed)
                    for _ in range(dist.get_world_size(group))]
        dist.all_gather(gathered, packed, group=group)
        table = torch.stack(gathered)
        mean, var, total = merge_statistics(table[:, 0], table[:, 1:1 + c],
                                            table[:, 1 + c:])
        # One host read per layer: the error check and the count the
        # backward kernels take (every rank sees the same value).
        count = int(total.item())
        if count < 2:
            raise ValueError("Expected more than 1 value per channel when "
                             f"training, got {count} over all ranks (input "
                             f"size {list(x.shape)} here)")
        if running_mean is not None:
            R.update_running(running_mean, running_var, mean, var, count,
                             factor)
        mean, var = mean.to(compute), var.to(compute)

        # Normalization with the merged statistics: the inference form.
        if x.numel():
            z = (N.ops.inplace_abn_ if inplace else N.ops.inplace_abn)(
                x, weight, bias, mean, var, False, 0.0, eps, activation,
                param, gamma_mode)
        else:
            z = x if inplace else torch.empty_like(x)
        if inplace:
            ctx.mark_dirty(x)
        ctx.save_for_backward(z, weight, bias, var)
        ctx.config = (eps, activation, param, gamma_mode, kernels, group,
                      count)
        return z

    @staticmethod
    @once_differentiable
    def backward(ctx, dz):
        z, weight, bias, var = ctx.saved_tensors
        eps, activation, param, gamma_mode, kernels, group, count = ctx.config
        c = z.shape[1]
        if z.numel() == 0:
            sums = torch.zeros(2 * c, dtype=R.compute_dtype(z),
                               device=z.device)
            local = sums.clone()
            dist.all_reduce(sums, group=group)
            dx = torch.zeros_like(z)
        elif kernels:
            sums = N.ops.backward_reduce(z, dz, weight, bias, var, eps,
                                         activation, param, gamma_mode)
            local = sums.clone()
            dist.all_reduce(sums, group=group)
            dx = N.ops.backward_apply(z, dz, weight, bias, var, sums,
                                      float(count), eps, activation, param,
                                      gamma_mode)
        else:
            gy, xhat, coef = R.recover(z, dz, weight, bias, var, eps,
                                       activation, param, gamma_mode)
            sums = torch.cat(R.grad_sums(gy, xhat))
            local = sums.clone()
            dist.all_reduce(sums, group=group)
            dx = N.like(z, R.train_grad_input(gy, xhat, coef, sums[:c],
                                              sums[c:], count))
        return F.input_grads(
            ctx, dx, R.apply_gamma_sign(local[c:], weight, gamma_mode),
            local[:c], weight, bias)


def inplace_abn_sync(x, weight, bias, running_mean=None, running_var=None,
                     training=True, momentum=0.1, eps=1e-5,
                     activation="leaky_relu", activation_param=0.01,
                     gamma_mode="sign_clamp", group=None, inplace=True):
    """Functional synchronized InPlace-ABN: overwrites and returns x (a new
    tensor with inplace=False). In training, the statistics are those of
    the batch of all ranks of `group` (default: the world). Without an
    initialized process group, or in evaluation mode, this is
    `inplace_abn`."""
    if not training or not (dist.is_available() and dist.is_initialized()):
        return F.inplace_abn(x, weight, bias, running_mean, running_var,
                             training, momentum, eps, activation,
                             activation_param, gamma_mode, inplace)
    F.check_arguments(x, running_mean, running_var, training, activation,
                      activation_param, gamma_mode)
    if group is None:
        group = dist.group.WORLD
    if dist.get_world_size(group) < 1:
        raise ValueError(f"rank {dist.get_rank()} is not in the process "
                         "group of this InPlaceABNSync layer")
    return _apply(x, weight, bias, running_mean, running_var, momentum, eps,
                  activation, activation_param, gamma_mode, group, inplace)


def _apply(*args):
    return InPlaceABNSyncFunction.apply(*args)


# torch.compile runs the synchronized layer eagerly (a graph break): its
# collectives and kernel calls are not traceable.
_disable = getattr(getattr(torch, "compiler", None), "disable", None)
if _disable is not None:
    _apply = _disable(_apply)
