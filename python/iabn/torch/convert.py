"""Automatic conversion of a model to InPlace-ABN, driven by the compiler.

``convert(model, example_input)`` exports the model's training step, runs
the InPlace-ABN rewrite on it and, for every batch norm the rewrite fuses
(the backward recomputes from z), replaces the BatchNorm module with an
InPlaceABN carrying the activation that follows it (LeakyReLU, ELU, or
identity when none), and the activation module with nn.Identity. Where the
rewrite found that z may overwrite x the layer works in place; where x is
read later (e.g. a residual shortcut) it gets ``inplace=False``: z goes to
a new tensor, and the backward still keeps only z. Chains with a
non-invertible activation (relu, relu6, silu, gelu, hardswish) get the
store-y strategy with ``store_y=True`` and are left untouched otherwise, as
are chains the compiler does not fuse. The remarks say why for each.

The exported graph is functional: it cannot show the model's own in-place
writes (``out += identity``, ``ReLU(inplace=True)``), which would overwrite
the z that the fused layer saves for its backward. ``convert`` therefore
also runs the model once under a dispatch mode that sees every aten op that
writes a tensor, and for each batch norm whose output (or its absorbed
activation's output) is written later:

* an activation module with ``inplace=True`` is switched to out of place
  (the same values where the model uses its result, ``x = act(x)``, which
  the verification checks);
* any other writer leaves the batch norm unconverted, with a reason.

A module called at several places (a batch norm applied twice, an
activation module shared by several layers or also used elsewhere) is
converted only when every call site agrees. With ``verify=True`` (default)
the converted model is checked against the original before returning: both
(deep copies, float64, CPU) run forward and backward on the example input,
and outputs, input and parameter gradients and running statistics must
agree; the first differing layer is named otherwise.
"""

import copy
import re

import torch
from torch import nn

from .export import BN_LOCATION_PREFIX, memory_report
from .export import _BATCH_NORMS as EXPORTED_BATCH_NORMS
from .nn import InPlaceABN, InPlaceABNStoreY, share_state
from .recompute import (IDEMPOTENT, SkipIfApplied, out_of_place,
                        recompute_saved_outputs, remove_recompute_hooks,
                        store_y_kind)

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


# Activation modules whose `inplace=True` may be switched off: `x = act(x)`
# computes the same either way (verify checks the model uses it that way).
_SWITCHABLE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.CELU, nn.SELU,
               nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Mish,
               nn.RReLU, nn.Threshold)


class ConversionError(RuntimeError):
    """The converted model does not compute what the original computes."""


def _activation_of(module):
    """(activation, parameter) for a module InPlaceABN can absorb."""
    if isinstance(module, nn.LeakyReLU) and module.negative_slope > 0:
        return "leaky_relu", module.negative_slope
    if isinstance(module, nn.ELU) and module.alpha > 0:
        return "elu", module.alpha
    return None


def _byte_range(t):
    """[start, end) of the memory a tensor's storage spans (its whole
    storage: views of it count)."""
    try:
        storage = t.untyped_storage()
        size = storage.nbytes()
    except AttributeError:  # torch < 2.0
        storage = t.storage()
        size = storage.size() * t.element_size()
    start = storage.data_ptr()
    return start, start + size


def _written_tensors(func, args, kwargs):
    """The tensors an aten op writes (arguments its schema marks as written,
    e.g. self of add_, out= arguments)."""
    written = []
    schema = getattr(func, "_schema", None)
    if schema is None:
        return written
    values = list(args) + [kwargs.get(a.name) for a in
                           schema.arguments[len(args):]]
    for argument, value in zip(schema.arguments, values):
        info = argument.alias_info
        if info is not None and info.is_write and isinstance(value,
                                                             torch.Tensor):
            written.append(value)
    return written


class _Trace:
    """One run of the model, in training mode and without gradients:

    * ``calls``: each batch-norm call with the leaf module that consumed its
      output right after (or None);
    * ``leaf_calls``: how often each leaf module was called;
    * ``writes``: per batch-norm call, the in-place writes into its output
      (or into the output of the module right after it, which the fused
      layer replaces), as (op name, innermost module, module's name).
    """

    def __init__(self, model, example_input):
        from torch.utils._python_dispatch import TorchDispatchMode

        self.calls, self.leaf_calls, self.writes = [], {}, {}
        names = {m: n for n, m in model.named_modules()}
        stack, last, watched, keep = [], {}, [], []
        trace = self

        def push(module, inputs):
            stack.append(module)

        def pop(module, inputs, output):
            stack.pop()

        pending = {}

        def after_bn(module, inputs, output):
            # The index of this module's aten batch norm (the exported
            # graph's numbering, which counts every aten batch norm).
            index = pending.pop(module, None)
            if index is None:
                return
            last["bn"] = (index, output)
            watched.append((index, _byte_range(output), None))
            keep.append(output)

        def before_leaf(module, inputs):
            trace.leaf_calls[module] = trace.leaf_calls.get(module, 0) + 1
            if "bn" in last and inputs and inputs[0] is last["bn"][1]:
                index = last["bn"][0]
                trace.calls[index][1] = module
                last["next"] = (index, module)
            last.pop("bn", None)

        def after_leaf(module, inputs, output):
            nxt = last.pop("next", None)
            if nxt and nxt[1] is module and isinstance(output, torch.Tensor):
                # The fused layer's output replaces this module's output.
                watched.append((nxt[0], _byte_range(output), module))
                keep.append(output)

        class Writes(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                if str(func) in EXPORTED_BATCH_NORMS:
                    inner = stack[-1] if stack else None
                    module = inner if isinstance(inner, _BATCH_NORMS) \
                        else None  # InstanceNorm, F.batch_norm: not ours
                    trace.calls.append([module, None])
                    if module is not None:
                        pending[module] = len(trace.calls) - 1
                for t in _written_tensors(func, args, kwargs):
                    start, end = _byte_range(t)
                    inner = stack[-1] if stack else None
                    for index, (lo, hi), owner in watched:
                        if start < hi and lo < end:
                            # The absorbed activation writing its own input
                            # (inplace=True) is the chain itself.
                            if owner is None and inner is \
                                    trace.calls[index][1] and \
                                    _activation_of(inner) is not None:
                                continue
                            if owner is not None and inner is owner:
                                continue
                            trace.writes.setdefault(index, []).append(
                                (str(func.overloadpacket.__name__)
                                 if hasattr(func, "overloadpacket")
                                 else str(func), inner,
                                 names.get(inner, "?")))
                return func(*args, **kwargs)

        hooks = []
        for module in model.modules():
            hooks.append(module.register_forward_pre_hook(push))
            hooks.append(module.register_forward_hook(pop))
            if isinstance(module, _BATCH_NORMS):
                hooks.append(module.register_forward_hook(after_bn))
            elif not list(module.children()):
                hooks.append(module.register_forward_pre_hook(before_leaf))
                hooks.append(module.register_forward_hook(after_leaf))
        was_training = model.training
        try:
            model.train()
            with torch.no_grad(), Writes():
                model(example_input.clone())
        finally:
            model.train(was_training)
            for hook in hooks:
                hook.remove()


def _replace(model, target, replacement, undo=None):
    """Replaces every slot of `model` that holds `target` (a module may be
    registered under several names); records (parent, name, old) in
    `undo`. Returns the slots replaced."""
    # parent._modules, not named_children(): that skips a module's second
    # name.
    slots = [(parent, name) for parent in model.modules()
             for name, child in list(parent._modules.items())
             if child is target]
    for parent, name in slots:
        setattr(parent, name, replacement)
        if undo is not None:
            undo.append((parent, name, target))
    return slots


def convert(model, example_input, verbose=True, verify=True,
            store_y=False):
    """Replaces the BatchNorm(+activation) pairs that the compiler fuses by
    InPlaceABN (BN-exact gamma rule, ``gamma_mode="sign_clamp"``); returns
    (model, compiler result). The model is modified in place; its running
    statistics are unchanged by the analysis (it runs on copies).
    ``result.replaced`` lists (batch norm, activation); ``result.plan`` the
    same decisions by module name (batch norm, activation, parameter,
    absorbed activation module, inplace); ``result.left_alone`` the batch
    norms the compiler fused but the conversion left alone, with the reason;
    ``result.out_of_place_writers`` the activation modules switched to
    ``inplace=False``. With ``store_y=True`` the batch norms followed by
    relu, relu6 (nn.ReLU6, nn.Hardtanh(0, 6)), silu, gelu (exact) or
    hardswish that the compiler gives the store-y strategy become
    InPlaceABNStoreY (only y kept for the backward; saved copies of z are
    recomputed from y by saved-tensor hooks installed on `model`). relu and
    relu6 modules stay in their slots (wrapped in SkipIfApplied, so shared
    modules work); the others are absorbed like invertible ones.
    ``verify`` checks the converted model against the
    original (see the module docstring) and raises ConversionError."""
    original = copy.deepcopy(model) if verify else None
    own = dict(model.named_modules())
    # The analysis runs on CPU copies: the exporter and the call-site
    # numbering both see the CPU's aten batch norms (CUDA dispatches cuDNN's).
    example_cpu = example_input.detach().cpu()
    shadow = copy.deepcopy(model).cpu()
    trace = _Trace(shadow, example_cpu)
    calls = trace.calls
    shadow_names = {id(m): n for n, m in shadow.named_modules()}
    result = memory_report(copy.deepcopy(model).cpu(), example_cpu)

    # The compiler's decision per batch-norm call site (by its location),
    # from its structured output.
    sites = {}
    for decision in result.decisions:
        match = re.search(re.escape(BN_LOCATION_PREFIX) + r"(\d+)\b",
                          decision["loc"])
        # Without store_y, a store-y chain whose activation reads its input
        # in the backward (all but relu) still becomes an identity
        # InPlaceABN: y over x, and the activation's saved input is that y.
        if match and (decision["strategy"] == "inplace" or
                      (decision["strategy"] == "store-y" and (
                          store_y or
                          decision["activation"]["kind"] != "relu"))):
            sites[int(match.group(1))] = decision
    left_alone, switched = [], []

    def leave(bn, reason):
        left_alone.append((shadow_names[id(bn)], reason))

    # Group call sites by batch-norm module: every site must agree.
    by_module = {}
    for index, (bn, nxt) in enumerate(calls):
        if bn is not None:
            by_module.setdefault(bn, []).append((index, nxt))
    exported = sum(1 for d in result.decisions
                   if re.search(re.escape(BN_LOCATION_PREFIX) + r"\d+\b",
                                d["loc"]))
    if exported != len(calls):
        # The trace and the exported graph disagree on the batch norms:
        # nothing can be matched safely.
        for bn in by_module:
            leave(bn, f"the model ran {len(calls)} batch norms but the "
                      f"exported graph has {exported}: call sites cannot "
                      "be matched")
        by_module = {}
    decisions = []
    for bn, uses in by_module.items():
        messages = [sites.get(i) for i, _ in uses]
        if any(m is None for m in messages):
            if any(m is not None for m in messages):
                leave(bn, "called at several places, not fused at all of "
                          "them")
            continue
        nexts = {id(n) for _, n in uses}
        if len(nexts) > 1:
            leave(bn, "called at several places, followed by different "
                      "modules")
            continue
        nxt = uses[0][1]
        strategies = {m["strategy"] for m in messages}
        stored_y = store_y and strategies == {"store-y"}
        # The compiler's store-y chains: BN -> a non-invertible activation
        # (relu, relu6, silu, gelu, hardswish).
        kind = store_y_kind(nxt) if nxt is not None else None
        if stored_y:
            activation = (kind, 0.0) if kind else None
        elif strategies == {"store-y"}:
            activation = None  # identity InPlaceABN; the activation stays
        else:
            activation = _activation_of(nxt) if nxt is not None else None
        # In-place writes into the output the fused layer saves.
        fatal = None
        fixes = []
        for index, _ in uses:
            for op, inner, name in trace.writes.get(index, []):
                if isinstance(inner, _SWITCHABLE) and \
                        getattr(inner, "inplace", False) is True:
                    fixes.append(inner)
                else:
                    fatal = (f"its output is written in place later by "
                             f"aten.{op} in '{name}' "
                             f"({type(inner).__name__}); the fused layer "
                             "saves that output for its backward")
        if fatal:
            leave(bn, fatal)
            continue

        kinds = {m["activation"]["kind"] for m in messages}
        expected = activation[0] if activation else "identity"
        if strategies == {"store-y"} and not stored_y:
            expected = kind
        if kinds != {expected}:
            leave(bn, f"the compiler fused {sorted(map(str, kinds))} but the "
                      f"module after it is {type(nxt).__name__}")
            continue
        # Idempotent store-y activations stay in their slot (SkipIfApplied);
        # any other is absorbed, which its other call sites would lose.
        absorbs = activation is not None and not (
            stored_y and IDEMPOTENT[activation[0]])
        if absorbs and trace.leaf_calls.get(nxt, 0) != len(uses):
            leave(bn, f"its activation module "
                      f"'{shadow_names[id(nxt)]}' is also called elsewhere "
                      "(shared): absorbing it would change the other calls")
            continue
        # In place only where z overwrites x itself at every call site.
        inplace = all(m["x"] == "overwritten" for m in messages)
        decisions.append((bn, nxt, activation, inplace, fixes, stored_y))

    # An activation module absorbed by one batch norm must not be needed by
    # another that stays.
    replaced, plan = [], []
    wrapped = set()  # relu/relu6 modules wrapped in SkipIfApplied
    undo = []  # (parent, name, old module) and (module, None, inplace flag)
    for bn_shadow, next_shadow, activation, inplace, fixes, stored_y in \
            decisions:
        bn = own[shadow_names[id(bn_shadow)]]
        for writer in fixes:
            target = own[shadow_names[id(writer)]]
            if getattr(target, "inplace", False):
                target.inplace = False
                undo.append((target, None, True))
                switched.append(shadow_names[id(writer)])
        act, param = activation or ("identity", 0.0)
        if stored_y:
            absorbed = own[shadow_names[id(next_shadow)]]
            post = copy.deepcopy(out_of_place(absorbed))
            layer = share_state(InPlaceABNStoreY(
                bn.num_features, post, bn.eps, bn.momentum, bn.affine,
                bn.track_running_stats, gamma_mode="sign_clamp",
                inplace=inplace), bn)
        else:
            layer = share_state(InPlaceABN(bn.num_features, bn.eps,
                                           bn.momentum, bn.affine,
                                           bn.track_running_stats, act, param,
                                           gamma_mode="sign_clamp",
                                           inplace=inplace), bn)
        layer._iabn_bn_class = type(bn)
        if not _replace(model, bn, layer, undo):
            continue
        if stored_y and IDEMPOTENT[act]:
            # relu and relu6 stay where they are, shared or not: on the
            # layer's output they are skipped (they are idempotent).
            layer._iabn_activation_kept = True
            if id(absorbed) not in wrapped:
                wrapped.add(id(absorbed))
                _replace(model, absorbed, SkipIfApplied(absorbed), undo)
        elif activation is not None:
            absorbed = own[shadow_names[id(next_shadow)]]
            slots = _replace(model, absorbed, nn.Identity(), undo)
            if slots:
                layer._iabn_absorbed_slot = slots[0]
        replaced.append((shadow_names[id(bn_shadow)], act))
        entry = {"bn": shadow_names[id(bn_shadow)], "activation": act,
                 "param": param, "inplace": inplace,
                 "absorbed": shadow_names[id(next_shadow)]
                 if activation is not None else None}
        if stored_y:
            entry["strategy"] = "store-y"
        if fixes:
            # Activation modules switched to inplace=False for this layer.
            entry["out_of_place"] = sorted({shadow_names[id(w)]
                                            for w in fixes})
        plan.append(entry)
    if verbose:
        for remark in result.remarks:
            print(f"{remark.location}: {remark.message}")
        for name, reason in left_alone:
            print(f"iabn.torch.convert: '{name}' left as it is: {reason}")
        for name in switched:
            print(f"iabn.torch.convert: '{name}' switched to inplace=False "
                  "(it wrote a fused layer's output)")
        print(f"iabn.torch.convert: {len(replaced)} of {len(calls)} batch "
              f"norms replaced by InPlaceABN "
              f"({sum(p['inplace'] for p in plan)} in place)")
    if any(p.get("strategy") == "store-y" for p in plan):
        recompute_saved_outputs(model)
        undo.append((model, "__recompute_hooks__", None))
    result.replaced = replaced
    result.plan = plan
    result.left_alone = left_alone
    result.out_of_place_writers = switched
    if verify:
        try:
            verify_conversion(original, model, example_input)
        except ConversionError:
            # Give the model back as it was.
            for owner, name, old in reversed(undo):
                if name is None:
                    owner.inplace = old
                elif name == "__recompute_hooks__":
                    remove_recompute_hooks(owner)
                else:
                    setattr(owner, name, old)
            raise
    return model, result


def _compare(a, b):
    """max |a - b| / max(1, max |a|) (inf for a shape or finiteness
    mismatch)."""
    if a is None or b is None:
        return 0.0 if a is None and b is None else float("inf")
    if a.shape != b.shape:
        return float("inf")
    a, b = a.double(), b.double()
    if not torch.equal(torch.isfinite(a), torch.isfinite(b)):
        return float("inf")
    finite = torch.isfinite(a)
    if not finite.any():
        return 0.0
    scale = max(1.0, a[finite].abs().max().item())
    return (a[finite] - b[finite]).abs().max().item() / scale


def verify_conversion(original, converted, example_input, tolerance=1e-6):
    """Runs deep copies of `original` and `converted` in float64 on the CPU,
    forward and backward (a fixed random output gradient) on
    `example_input` in training mode; raises ConversionError naming the
    first layer whose output differs, or the first differing gradient or
    running statistic."""
    if not example_input.is_floating_point():
        return  # nothing to differentiate: the forward is checked below
    a = copy.deepcopy(original).double().cpu().train()
    b = copy.deepcopy(converted).double().cpu().train()
    outputs = ({}, {})
    order = []
    hooks = []
    for k, model in enumerate((a, b)):
        for name, module in model.named_modules():
            if list(module.children()) and not isinstance(module,
                                                          InPlaceABN):
                continue

            def record(m, inputs, output, name=name, k=k):
                if isinstance(output, torch.Tensor) and \
                        name not in outputs[k]:
                    outputs[k][name] = output.detach().clone()
                    if k == 0:
                        order.append(name)
            hooks.append(module.register_forward_hook(record))
    x = example_input.detach().double().cpu()
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    try:
        # The same random stream for both (dropout masks).
        with torch.random.fork_rng():
            torch.manual_seed(0)
            ya = a(xa)
            torch.manual_seed(0)
            yb = b(xb)
    finally:
        for hook in hooks:
            hook.remove()
    generator = torch.Generator().manual_seed(0)
    g = torch.randn(ya.shape, dtype=ya.dtype, generator=generator)
    # The first layer whose output differs (absorbed activations: the fused
    # layer's output is compared with the activation's).
    fused = {name for name, m in b.named_modules()
             if isinstance(m, InPlaceABN) and (
                 m.activation != "identity" or
                 isinstance(m, InPlaceABNStoreY))}
    # Batch norms of the original that see few values per channel on this
    # example: they amplify rounding-level differences from upstream.
    few = {}
    for name, module in a.named_modules():
        out = outputs[0].get(name)
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and \
                out is not None and out.dim() >= 2 and out.shape[1]:
            per_channel = out.numel() // out.shape[1]
            if per_channel < 16:
                few[name] = per_channel
    for name in order:
        # A fused layer's output is its absorbed activation's output: that
        # one is compared at the activation's name.
        if name in fused:
            continue
        if name in outputs[1] and \
                _compare(outputs[0][name], outputs[1][name]) > tolerance:
            hint = ""
            if few:
                layer, m = min(few.items(), key=lambda item: item[1])
                hint = (f". The example input gives batch norm '{layer}' "
                        f"only {m} values per channel, which amplifies "
                        "rounding differences: try a larger example (more "
                        "images or pixels)")
            raise ConversionError(
                f"iabn.torch.convert: the converted model differs from the "
                f"original from layer '{name}' on (relative difference "
                f"{_compare(outputs[0][name], outputs[1][name]):.3g}); the "
                "model is left unconverted (verify=False converts anyway)"
                + hint)
    if _compare(ya, yb) > tolerance:
        raise ConversionError("iabn.torch.convert: the converted model's "
                              "output differs from the original's; the model "
                              "is left unconverted")
    (ya * g).sum().backward()
    try:
        (yb * g).sum().backward()
    except RuntimeError as error:
        raise ConversionError(f"iabn.torch.convert: the converted model's "
                              f"backward fails: {error}") from error
    checks = [("input gradient", xa.grad, xb.grad)]
    params_b = dict(b.named_parameters())
    for name, p in a.named_parameters():
        checks.append((f"gradient of '{name}'", p.grad,
                       params_b[name].grad if name in params_b else None))
    buffers_b = dict(b.named_buffers())
    for name, t in a.named_buffers():
        checks.append((f"buffer '{name}'", t, buffers_b.get(name)))
    for what, ta, tb in checks:
        err = _compare(ta, tb)
        if err > tolerance:
            raise ConversionError(
                f"iabn.torch.convert: the converted model differs from the "
                f"original in the {what} (relative difference {err:.3g}); the "
                "model is left unconverted (verify=False converts anyway)")


def revert(model):
    """Turns every InPlaceABN layer of `model` (and `model` itself, if it is
    one) back into nn.BatchNorm + activation, for export (TorchScript, ONNX)
    and deployment; returns the model. The forward is the same in both modes:
    the batch norm's weight is the layer's gamma_hat (gamma itself for
    |gamma| >= eps under sign_clamp). Layers made by ``convert`` put their
    activation back where it was absorbed (its nn.Identity slot keeps the
    module names); other layers become nn.Sequential(batch norm,
    activation). Batch norms are BatchNorm2d unless ``convert`` recorded the
    original class."""
    if isinstance(model, InPlaceABN):
        bn, act = _plain_modules(model)
        return nn.Sequential(bn, act) if act is not None else bn
    remove_recompute_hooks(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, SkipIfApplied):
                setattr(parent, name, child.activation)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, InPlaceABN):
                continue
            bn, act = _plain_modules(child)
            slot = getattr(child, "_iabn_absorbed_slot", None)
            if act is not None and slot is not None:
                owner, attr = slot
                if isinstance(getattr(owner, attr, None), nn.Identity):
                    setattr(owner, attr, act)
                    act = None
            setattr(parent, name, nn.Sequential(bn, act) if act is not None
                    else bn)
    return model


def _plain_modules(layer):
    """(batch norm, activation module or None) equal to `layer`."""
    from ._reference import gamma_hat
    cls = getattr(layer, "_iabn_bn_class", nn.BatchNorm2d)
    bn = cls(layer.num_features, layer.eps, layer.momentum, layer.affine,
             layer.track_running_stats)
    weight = layer.weight
    with torch.no_grad():
        if layer.affine:
            bn.weight = nn.Parameter(gamma_hat(weight.detach(),
                                               layer.gamma_mode,
                                               layer.eps).to(weight.dtype))
            bn.bias = nn.Parameter(layer.bias.detach().clone())
        if layer.track_running_stats:
            bn.running_mean = layer.running_mean.clone()
            bn.running_var = layer.running_var.clone()
            bn.num_batches_tracked = layer.num_batches_tracked.clone()
    bn = bn.to(device=layer.running_mean.device if layer.track_running_stats
               else (weight.device if weight is not None else None))
    bn.train(layer.training)
    if isinstance(layer, InPlaceABNStoreY):
        # convert keeps a relu/relu6 module in its slot (SkipIfApplied).
        if getattr(layer, "_iabn_activation_kept", False):
            return bn, None
        return bn, copy.deepcopy(layer.post_activation)
    act = {"leaky_relu": lambda: nn.LeakyReLU(layer.activation_param),
           "elu": lambda: nn.ELU(layer.activation_param),
           "identity": lambda: None}[layer.activation]()
    return bn, act


def apply_plan(model, plan):
    """Applies a conversion plan (``result.plan`` of ``convert``, e.g. saved
    as JSON on a machine with the compiler) to a model of the same
    structure, without running the compiler: each named batch norm becomes
    InPlaceABN (or InPlaceABNStoreY for store-y entries) sharing its state,
    each absorbed activation nn.Identity (store-y: kept, wrapped in
    SkipIfApplied), the activation modules listed under ``out_of_place``
    switched to ``inplace=False``, and the saved-tensor hooks are installed
    when a store-y entry is present. Returns the model. No verification:
    run ``convert`` where the compiler is available for that."""
    modules = dict(model.named_modules())

    def replace(name, new):
        parent, _, child = name.rpartition(".")
        setattr(modules[parent] if parent else model, child, new)

    wrapped = set()
    stored_y = False

    def check(entry, condition, what):
        if not condition:
            raise ValueError(f"iabn.torch.apply_plan: {what} (entry "
                             f"{entry}); is the plan for this model, and "
                             "not applied already?")

    for entry in plan:
        bn = modules.get(entry["bn"])
        check(entry, isinstance(bn, _BATCH_NORMS),
              f"'{entry['bn']}' is not a BatchNorm module")
        absorbed = modules.get(entry["absorbed"]) if entry.get("absorbed") \
            else None
        if entry.get("strategy") == "store-y":
            kind = entry.get("activation", "relu")
            check(entry, kind in IDEMPOTENT and (
                entry["absorbed"] in wrapped or
                store_y_kind(absorbed) == kind),
                f"'{entry.get('absorbed')}' is not the {kind} module the "
                "plan stores y for")
        elif entry.get("absorbed"):
            expected = {"leaky_relu": nn.LeakyReLU, "elu": nn.ELU}.get(
                entry["activation"])
            check(entry, expected is not None and
                  type(absorbed) is expected,
                  f"'{entry['absorbed']}' is not the {entry['activation']} "
                  "module the plan absorbs")
        if entry.get("strategy") == "store-y":
            post = copy.deepcopy(out_of_place(
                absorbed.activation if isinstance(absorbed, SkipIfApplied)
                else absorbed))
            layer = InPlaceABNStoreY(bn.num_features, post, bn.eps,
                                     bn.momentum, bn.affine,
                                     bn.track_running_stats,
                                     gamma_mode="sign_clamp",
                                     inplace=entry["inplace"])
            stored_y = True
            if IDEMPOTENT[kind]:
                layer._iabn_activation_kept = True
                if entry["absorbed"] not in wrapped:
                    wrapped.add(entry["absorbed"])
                    replace(entry["absorbed"], SkipIfApplied(absorbed))
            else:
                replace(entry["absorbed"], nn.Identity())
        else:
            layer = InPlaceABN(bn.num_features, bn.eps, bn.momentum,
                               bn.affine, bn.track_running_stats,
                               entry["activation"], entry["param"],
                               gamma_mode="sign_clamp",
                               inplace=entry["inplace"])
            if entry.get("absorbed"):
                replace(entry["absorbed"], nn.Identity())
        layer._iabn_bn_class = type(bn)
        replace(entry["bn"], share_state(layer, bn))
        for name in entry.get("out_of_place", []):
            writer = modules.get(name)
            if isinstance(writer, SkipIfApplied):
                writer = writer.activation
            check(entry, hasattr(writer, "inplace"),
                  f"'{name}' is not an activation module with inplace")
            writer.inplace = False
    if stored_y:
        recompute_saved_outputs(model)
    return model
