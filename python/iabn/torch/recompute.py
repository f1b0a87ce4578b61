"""Store-y for non-invertible activations (relu and other element-wise
functions), the PyTorch side of the compiler's ``store-y`` strategy.

``InPlaceABNStoreY`` computes y = BN(x) with an identity InPlaceABN (y over
x when the layer is in place), which saves y for its own backward, and then
z = phi(y) out of place. Two more tensors would normally be saved:

* the activation's backward saves z (relu) or y: relu's saved z is handed
  back recomputed from y (below), and y is the tensor saved anyway;
* the next op (a convolution's weight gradient, a pooling) saves z.

``recompute_saved_outputs(model)`` installs saved-tensor hooks around the
model's forward: a tensor that such a layer returned, saved by any autograd
node while it is unchanged, is stored as a handle to y and recomputed as
phi(y) when the backward unpacks it. So the pair keeps only y alive between
forward and backward, where BatchNorm + relu keep x and z. A z that was
written in place before it is saved (its version changed) is saved as it
is. Under torch.compile the hooks stay off: AOTAutograd's partitioner
recomputes the cheap phi(y) itself.
"""

import copy

import torch

from . import _ops

# The non-invertible activations of the store-y strategy: the IR kind, and
# whether phi(phi(y)) = phi(y) (then a module shared by several call sites
# can stay where it is, wrapped in SkipIfApplied; otherwise the layer
# absorbs it).
IDEMPOTENT = {"relu": True, "relu6": True, "silu": False, "gelu": False,
              "hardswish": False}


def store_y_kind(module):
    """The IR activation kind of a module the store-y strategy handles, or
    None."""
    if type(module) is torch.nn.ReLU:
        return "relu"
    if isinstance(module, torch.nn.Hardtanh) and \
            (module.min_val, module.max_val) == (0.0, 6.0):
        return "relu6"  # nn.ReLU6 is a Hardtanh(0, 6)
    if type(module) is torch.nn.SiLU:
        return "silu"
    if type(module) is torch.nn.GELU and \
            getattr(module, "approximate", "none") == "none":
        return "gelu"
    if type(module) is torch.nn.Hardswish:
        return "hardswish"
    return None


def out_of_place(module):
    """A copy of an activation module that never writes its input."""
    if not getattr(module, "inplace", False):
        return module
    module = copy.copy(module)
    module.inplace = False
    return module


def _derivative_times(dz, y, kind):
    """dz * phi'(y), one PyTorch kernel per activation (its own backward
    op), or None for a module of no known kind."""
    if kind == "relu":
        return dz.masked_fill(y <= 0, 0)
    if kind == "relu6":
        return dz.masked_fill((y <= 0) | (y >= 6), 0)
    if kind == "silu":
        return torch.ops.aten.silu_backward(dz, y)
    if kind == "gelu":
        return torch.ops.aten.gelu_backward(dz, y)
    if kind == "hardswish":
        return torch.ops.aten.hardswish_backward(dz, y)
    return None


class _Recompute:
    """A saved z, stored as the y it is recomputed from."""

    __slots__ = ("y", "activation", "version")

    def __init__(self, y, activation):
        self.y = y
        self.activation = activation
        self.version = y._version


class _Saved:
    """Any other saved tensor: detached (no reference back to its autograd
    node, so a graph dropped without a backward is freed) with its version,
    checked on unpack as autograd itself does without hooks."""

    __slots__ = ("tensor", "version")

    def __init__(self, tensor):
        self.tensor = tensor.detach()
        self.version = tensor._version


def _modified(what, shape, found, expected):
    return RuntimeError(
        f"one of the variables needed for gradient computation has been "
        f"modified by an inplace operation: {what} of shape {list(shape)} "
        f"is at version {found}; expected version {expected} instead "
        "(iabn.torch store-y hooks)")


def _pack(tensor):
    info = getattr(tensor, "_iabn_recompute", None)
    if info is not None:
        y, activation, z_version, y_version = info
        if tensor._version == z_version and y._version == y_version:
            return _Recompute(y, activation)
    return _Saved(tensor)


def _unpack(saved):
    if isinstance(saved, _Recompute):
        if saved.y._version != saved.version:
            raise _modified("the stored y", saved.y.shape, saved.y._version,
                            saved.version)
        with torch.no_grad():
            return saved.activation(saved.y)
    if saved.tensor._version != saved.version:
        raise _modified("a saved tensor", saved.tensor.shape,
                        saved.tensor._version, saved.version)
    return saved.tensor


class _ActivationOfY(torch.autograd.Function):
    """z = activation(y) whose backward reads y (saved anyway by the batch
    norm before it), never z: phi'(y) comes from autograd on phi recomputed
    from y."""

    @staticmethod
    def forward(ctx, y, activation):
        ctx.activation = activation
        ctx.save_for_backward(y)
        with torch.no_grad():
            return activation(y)

    @staticmethod
    def backward(ctx, dz):
        (y,) = ctx.saved_tensors
        # One kernel instead of a recomputed graph, for the known kinds.
        dy = _derivative_times(dz, y, store_y_kind(ctx.activation))
        if dy is not None:
            return dy, None
        with torch.enable_grad():
            leaf = y.detach().requires_grad_()
            (dy,) = torch.autograd.grad(ctx.activation(leaf), leaf, dz)
        return dy, None


def apply_activation(y, activation):
    """z = activation(y), saving y (not z) for the backward, and marked so
    that a later saved copy of z is recomputed from y."""
    if _ops.compiling() or not (torch.is_grad_enabled() and y.requires_grad):
        return activation(y)
    return mark_recomputable(_ActivationOfY.apply(y, activation), y,
                             activation)


def mark_recomputable(z, y, activation):
    """Marks z = activation(y) as recomputable from y when saved."""
    if torch.is_grad_enabled() and z.requires_grad and not _ops.compiling():
        z._iabn_recompute = (y, activation, z._version, y._version)
    return z


class SkipIfApplied(torch.nn.Module):
    """An idempotent activation module (relu: relu(relu(y)) = relu(y);
    relu6) that store-y layers have absorbed: on a tensor such a layer
    returned (the activation already applied, unchanged since) it returns
    that tensor as it is, which keeps it recomputable; on anything else it
    runs the activation. So a module shared by several call sites
    (torchvision's Bottleneck calls one ReLU three times) needs no surgery
    at the others."""

    def __init__(self, activation):
        super().__init__()
        self.activation = activation

    def forward(self, t):
        if _ops.compiling():
            # No tags under torch.compile: apply the activation again (the
            # same values), out of place, never over the layer's output.
            return out_of_place(self.activation)(t)
        info = getattr(t, "_iabn_recompute", None)
        if info is not None and \
                store_y_kind(info[1]) == store_y_kind(self.activation) and \
                store_y_kind(info[1]) is not None and t._version == info[2]:
            return t
        return self.activation(t)


def _push(module, inputs):
    if _ops.compiling():
        return
    # Hooks left pushed by a forward that raised (torch < 2.0 has no
    # always_call): take them off first.
    stale = module.__dict__.get("_iabn_hook_stack") or []
    while stale:
        stale.pop().__exit__(None, None, None)
    hooks = torch.autograd.graph.saved_tensors_hooks(_pack, _unpack)
    hooks.__enter__()
    module.__dict__.setdefault("_iabn_hook_stack", []).append(hooks)


def _pop(module, inputs, output=None):
    stack = module.__dict__.get("_iabn_hook_stack")
    if stack:
        stack.pop().__exit__(None, None, None)


def recompute_saved_outputs(model):
    """Installs the saved-tensor hooks on `model`'s forward (see the module
    docstring). Returns the hook handles (``remove_recompute_hooks`` removes
    them); installing twice is a no-op."""
    if getattr(model, "_iabn_recompute_handles", None):
        return model._iabn_recompute_handles
    handles = [model.register_forward_pre_hook(_push)]
    try:  # torch >= 2.0: pop even when the forward raises
        handles.append(model.register_forward_hook(_pop, always_call=True))
    except TypeError:
        handles.append(model.register_forward_hook(_pop))
    model._iabn_recompute_handles = handles
    return handles


def remove_recompute_hooks(model):
    for handle in getattr(model, "_iabn_recompute_handles", None) or []:
        handle.remove()
    model._iabn_recompute_handles = None


def _storage_of(t):
    storage = t.untyped_storage() if hasattr(t, "untyped_storage") \
        else t.storage()
    nbytes = storage.nbytes() if hasattr(storage, "nbytes") \
        else storage.size() * t.element_size()
    return storage.data_ptr(), nbytes


def saved_bytes(model, *inputs):
    """The activation bytes autograd keeps for the backward of one forward
    of `model(*inputs)`: the storages of every saved tensor, each counted
    once, except the model's parameters and buffers (a saved z that the
    store-y hooks recompute counts as its y). Runs the forward with
    gradients on and drops the graph."""
    global _pack
    seen = {}
    state = {_storage_of(t)[0] for t in list(model.parameters()) +
             list(model.buffers())}

    def count(packed):
        t = packed.y if isinstance(packed, _Recompute) else \
            packed.tensor if isinstance(packed, _Saved) else packed
        address, nbytes = _storage_of(t)
        if address not in state:
            seen[address] = nbytes

    inner = _pack

    def counting_pack(tensor):
        packed = inner(tensor)
        count(packed)
        return packed

    with torch.enable_grad():
        if getattr(model, "_iabn_recompute_handles", None):
            _pack = counting_pack  # the model's own hooks call it
            try:
                out = model(*inputs)
            finally:
                _pack = inner
        else:
            def plain(tensor):
                count(tensor)
                return tensor

            with torch.autograd.graph.saved_tensors_hooks(plain, _unpack_plain):
                out = model(*inputs)
    del out
    return sum(seen.values())


def _unpack_plain(tensor):
    return tensor
