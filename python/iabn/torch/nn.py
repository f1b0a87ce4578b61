"""Modules with the official inplace_abn package's constructor arguments and
defaults, so that code switches by changing an import.

=====================  =================  ==================================
entry point            gamma_mode         state dicts
=====================  =================  ==================================
InPlaceABN,            ``abs_plus_eps``   the official package's load
InPlaceABNSync         (official rule,    strictly, with or without
(constructed by you)   |gamma| + eps)     ``num_batches_tracked``
iabn.torch.convert     ``sign_clamp``     nn.BatchNorm's (same names and
(from nn.BatchNorm*)   (equal to BN       tensors: the batch norm's own)
                       when |gamma|>=eps)
=====================  =================  ==================================

Parameters and buffers are those of nn.BatchNorm2d (weight, bias,
running_mean, running_var, num_batches_tracked) in both cases.
"""

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from . import _ops
from .functional import _INPLACE, _OUT_OF_PLACE
from .functional import check_activation, check_gamma_mode, inplace_abn
from .sync import inplace_abn_sync


# ABN's activations, by IR name: PyTorch's own functions.
_ACTIVATIONS = {
    "identity": lambda y, p: y,
    "relu": lambda y, p: F.relu(y),
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "relu6": lambda y, p: F.relu6(y),
    "silu": lambda y, p: F.silu(y),
    "gelu": lambda y, p: F.gelu(y),
    "hardswish": lambda y, p: F.hardswish(y),
}


class ABN(nn.Module):
    """Standard BatchNorm followed by an activation (not in place): the
    reference InPlaceABN replaces, also for activations it cannot invert."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, activation="leaky_relu",
                 activation_param=0.01):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected "
                             f"one of {', '.join(_ACTIVATIONS)}")
        self.num_features = num_features
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.activation, self.activation_param = activation, activation_param
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked",
                                 torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _factor(self, as_tensor=False):
        """Running-statistics factor (counts this batch), as BatchNorm.
        as_tensor: under torch.compile, the cumulative average's factor stays
        a (float64) tensor in the graph instead of a host read."""
        if not (self.training and self.track_running_stats):
            return 0.0
        self.num_batches_tracked.add_(1)
        if self.momentum is None:  # cumulative moving average
            if as_tensor and _ops.compiling():
                return 1.0 / self.num_batches_tracked.double()
            return 1.0 / float(self.num_batches_tracked)
        return self.momentum

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        # The official package's state dicts (and nn.BatchNorm's before
        # version 2) have no num_batches_tracked: start counting at 0, as
        # nn.BatchNorm does.
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict and \
                prefix + "running_mean" in state_dict:
            state_dict[key] = torch.tensor(0, dtype=torch.long)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def _check_input(self, x):
        if x.dim() < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"expected an input with {self.num_features} "
                             f"channels in dimension 1, got shape "
                             f"{list(x.shape)}")

    def forward(self, x):
        self._check_input(x)
        factor = self._factor()
        use_batch = self.training or not self.track_running_stats
        y = F.batch_norm(x, self.running_mean if not use_batch or
                         self.track_running_stats else None,
                         self.running_var if not use_batch or
                         self.track_running_stats else None,
                         self.weight, self.bias, use_batch, factor, self.eps)
        return _ACTIVATIONS[self.activation](y, self.activation_param)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum="
                f"{self.momentum}, affine={self.affine}, activation="
                f"{self.activation}[{self.activation_param}]")


def share_state(layer, module):
    """Gives `layer` the parameters and buffers of `module` (a batch norm or
    InPlaceABN with the same settings) as they are: the same tensors, so an
    optimizer built before the swap, frozen parameters (requires_grad) and
    the device and dtype carry over. Returns layer, in module's mode."""
    for name in ("weight", "bias", "running_mean", "running_var",
                 "num_batches_tracked"):
        value = getattr(module, name, None)
        if value is not None:
            setattr(layer, name, value)
    return layer.train(module.training)


class InPlaceABN(ABN):
    """In-Place Activated BatchNorm: writes z over its input and saves only z
    for the backward. Needs an invertible activation (identity, leaky_relu
    with slope > 0, elu with alpha > 0). gamma_mode: "abs_plus_eps"
    (default: the official package's |gamma| + eps, so that its checkpoints
    give its outputs) or "sign_clamp" (equal to BatchNorm whenever |gamma| >=
    eps; what iabn.torch.convert uses). inplace=False writes z to a new
    tensor, for inputs that are still read afterwards (e.g. a residual
    shortcut): the backward still keeps only z. As for any in-place op,
    do not put an in-place layer first in a non-reentrant
    torch.utils.checkpoint segment: the recomputation re-reads the
    segment's input, which the layer overwrote (PyTorch 1.13 does not
    detect it); use inplace=False there."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, activation="leaky_relu",
                 activation_param=0.01, gamma_mode="abs_plus_eps",
                 inplace=True):
        check_activation(activation, activation_param)
        check_gamma_mode(gamma_mode)
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats, activation, activation_param)
        self.gamma_mode = gamma_mode
        self.inplace = inplace

    def _arguments(self, x):
        """Checks x, advances the running-statistics counter and returns
        the functional form's keyword arguments."""
        self._check_input(x)
        factor = self._factor(as_tensor=True)
        tracked = self.track_running_stats
        return dict(running_mean=self.running_mean if tracked else None,
                    running_var=self.running_var if tracked else None,
                    training=self.training or not tracked, momentum=factor,
                    eps=self.eps, activation=self.activation,
                    activation_param=self.activation_param,
                    gamma_mode=self.gamma_mode)

    def _check_usable(self, x):
        """Clear errors where PyTorch would give an obscure one."""
        if torch.jit.is_tracing() or torch.jit.is_scripting():
            raise RuntimeError(
                f"{type(self).__name__} cannot be traced, scripted or "
                "exported (ONNX): it is an autograd Function that writes its "
                "input; call iabn.torch.revert(model) first")
        # Under torch.compile the layer is functional (never in place).
        if self.inplace and x.is_leaf and x.requires_grad and \
                torch.is_grad_enabled() and not _ops.compiling():
            raise RuntimeError(
                f"{type(self).__name__} writes its input in place, but the "
                "input is a leaf tensor that requires grad; construct the "
                "layer with inplace=False")

    def __prepare_scriptable__(self):
        raise RuntimeError(
            f"{type(self).__name__} cannot be scripted: call "
            "iabn.torch.revert(model) first (BatchNorm + activation)")

    def forward(self, x):
        self._check_usable(x)
        if _ops.compiling() or x.numel() == 0:
            return inplace_abn(x, self.weight, self.bias,
                               inplace=self.inplace, **self._arguments(x))
        # The eager path: straight to the native operator, which checks the
        # options and the batch itself (the module checked them when it was
        # built); every Python step here is per-call host time.
        self._check_input(x)
        factor = self._factor()
        tracked = self.track_running_stats
        return (_INPLACE if self.inplace else _OUT_OF_PLACE)(
            x, self.weight, self.bias,
            self.running_mean if tracked else None,
            self.running_var if tracked else None,
            self.training or not tracked, float(factor), self.eps,
            self.activation, self.activation_param, self.gamma_mode)

    def extra_repr(self):
        return super().extra_repr() + ("" if self.inplace else
                                       ", inplace=False")


class InPlaceABNStoreY(InPlaceABN):
    """BatchNorm followed by a non-invertible element-wise activation (e.g.
    relu), keeping only y = BN(x) for the backward: an identity InPlaceABN
    (y over x when ``inplace``), then z = post_activation(y) out of place.
    The backward recovers x_hat from y. With
    ``iabn.torch.recompute.recompute_saved_outputs(model)`` (which
    ``convert(..., store_y=True)`` installs) every saved copy of z (the
    activation's own, the next convolution's) is recomputed from y, so y is
    the one tensor kept. The state dict is BatchNorm's; the activation
    module holds no state."""

    def __init__(self, num_features, post_activation, eps=1e-5, momentum=0.1,
                 affine=True, track_running_stats=True,
                 gamma_mode="sign_clamp", inplace=True):
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats, "identity", 0.0, gamma_mode,
                         inplace)
        if getattr(post_activation, "inplace", False):
            raise ValueError("the activation after the stored y must not "
                             "work in place (it would overwrite y)")
        if list(post_activation.parameters()) or \
                list(post_activation.buffers()):
            raise ValueError("the activation must have no parameters or "
                             "buffers (its recomputation reuses the module)")
        self.post_activation = post_activation

    def forward(self, x):
        from .recompute import apply_activation
        return apply_activation(super().forward(x), self.post_activation)

    def extra_repr(self):
        return super().extra_repr() + ", store_y"


class InPlaceABNSync(InPlaceABN):
    """InPlaceABN whose training statistics are those of the whole batch
    over the ranks of a torch.distributed process group (`group`, default:
    the world): per-rank counts weight the merge, so uneven per-rank
    batches are exact. Without an initialized process group, and in
    evaluation mode, it is InPlaceABN. Arguments are the official
    library's; gamma_mode as InPlaceABN."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, activation="leaky_relu",
                 activation_param=0.01, group=None,
                 gamma_mode="abs_plus_eps", inplace=True):
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats, activation, activation_param,
                         gamma_mode, inplace)
        self.group = group
        self._warned = False

    def set_group(self, group):
        """Synchronizes over `group` from now on (None: the world)."""
        self.group = group
        return self

    def forward(self, x):
        self._check_usable(x)
        arguments = self._arguments(x)
        if self.training and not getattr(self, "_warned", False) and not (
                torch.distributed.is_available() and
                torch.distributed.is_initialized()):
            warnings.warn(
                f"{type(self).__name__} is training without an initialized "
                "torch.distributed process group: the statistics are this "
                "process's only (as InPlaceABN)", RuntimeWarning,
                stacklevel=2)
            self._warned = True
        if not self.training:  # never a collective outside training
            return inplace_abn(x, self.weight, self.bias,
                               inplace=self.inplace, **arguments)
        return inplace_abn_sync(x, self.weight, self.bias, group=self.group,
                                inplace=self.inplace, **arguments)

    @classmethod
    def convert_sync(cls, module, group=None):
        """Returns `module` with every InPlaceABN (and the module itself, if
        it is one) replaced by an InPlaceABNSync over `group` with the same
        settings, parameters and buffers, like
        nn.SyncBatchNorm.convert_sync_batchnorm. Use it after
        iabn.torch.convert, before wrapping the model in
        DistributedDataParallel."""
        if isinstance(module, InPlaceABN) and not isinstance(module, cls):
            sync = cls(module.num_features, module.eps, module.momentum,
                       module.affine, module.track_running_stats,
                       module.activation, module.activation_param, group,
                       module.gamma_mode, module.inplace)
            return share_state(sync, module)
        for name, child in module.named_children():
            module.add_module(name, cls.convert_sync(child, group))
        return module
