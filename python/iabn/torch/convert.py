"""Automatic conversion of a model to InPlace-ABN, driven by the compiler.

``convert(model, example_input)`` exports the model's training step, runs
the InPlace-ABN rewrite on it and, for every batch norm the rewrite fuses
(the backward recomputes from z), replaces the BatchNorm module with an
InPlaceABN carrying the activation that follows it (LeakyReLU, ELU, or
identity when none), and the activation module with nn.Identity. Where the
rewrite found that z may overwrite x the layer works in place; where x is
read later (e.g. a residual shortcut) it gets ``inplace=False``: z goes to
a new tensor, and the backward still keeps only z. Chains the compiler does
not fuse (relu, mismatched structure) are left untouched. The remarks say
why for each.
"""

import copy
import re

import torch
from torch import nn

from .export import BN_LOCATION_PREFIX, memory_report
from .nn import InPlaceABN, share_state

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _activation_of(module):
    """(activation, parameter) for a module InPlaceABN can absorb."""
    if isinstance(module, nn.LeakyReLU) and module.negative_slope > 0:
        return "leaky_relu", module.negative_slope
    if isinstance(module, nn.ELU) and module.alpha > 0:
        return "elu", module.alpha
    return None


def _trace_calls(model, example_input):
    """Runs the model once and returns, in call order, each batch-norm module
    with the module that consumed its output right after (or None)."""
    calls, last = [], {}
    hooks = []

    def after_bn(module, inputs, output):
        calls.append([module, None])
        last["bn"] = (len(calls) - 1, output)

    def before_any(module, inputs):
        if "bn" in last and inputs and inputs[0] is last["bn"][1]:
            calls[last["bn"][0]][1] = module
        last.pop("bn", None)

    for module in model.modules():
        if isinstance(module, _BATCH_NORMS):
            hooks.append(module.register_forward_hook(after_bn))
        elif not list(module.children()):
            hooks.append(module.register_forward_pre_hook(before_any))
    was_training = model.training
    try:
        model.train()
        with torch.no_grad():
            model(example_input.clone())
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return calls


def _replace(model, target, replacement):
    for parent in model.modules():
        for name, child in parent.named_children():
            if child is target:
                setattr(parent, name, replacement)
                return True
    return False


def convert(model, example_input, verbose=True):
    """Replaces the BatchNorm(+activation) pairs that the compiler fuses in
    place by InPlaceABN; returns (model, compiler result). The model is
    modified in place; its running statistics are unchanged by the
    analysis (it runs on copies). `result.replaced` lists (batch norm,
    activation); `result.plan` the same decisions by module name (batch
    norm, activation, parameter, absorbed activation module)."""
    # Analyse a copy (tracing runs the model); map its modules back to the
    # model's own modules by name.
    own = dict(model.named_modules())
    shadow = copy.deepcopy(model)
    calls = _trace_calls(shadow, example_input)
    shadow_names = {id(m): n for n, m in shadow.named_modules()}
    result = memory_report(copy.deepcopy(model), example_input)
    replaced, plan = [], []
    for remark in result.remarks:
        match = re.search(re.escape(BN_LOCATION_PREFIX) + r"(\d+)",
                          remark.location)
        if not match or not remark.message.startswith("inplace:"):
            continue
        # Fused: the backward needs z only. Where z may not overwrite x (x is
        # read later), the layer writes z to a new tensor.
        inplace = "z overwrites x" in remark.message
        index = int(match.group(1))
        if index >= len(calls):
            continue
        bn_shadow, next_shadow = calls[index]
        bn = own[shadow_names[id(bn_shadow)]]
        activation = _activation_of(next_shadow) if next_shadow is not None \
            else None
        if activation is None and "#iabn.activation<identity>" not in \
                remark.message:
            continue
        act, param = activation or ("identity", 0.0)
        layer = share_state(InPlaceABN(bn.num_features, bn.eps, bn.momentum,
                                       bn.affine, bn.track_running_stats, act,
                                       param, inplace=inplace), bn)
        if not _replace(model, bn, layer):
            continue
        if activation is not None:
            _replace(model, own[shadow_names[id(next_shadow)]], nn.Identity())
        replaced.append((shadow_names[id(bn_shadow)], act))
        plan.append({"bn": shadow_names[id(bn_shadow)], "activation": act,
                     "param": param, "inplace": inplace,
                     "absorbed": shadow_names[id(next_shadow)]
                     if activation is not None else None})
    if verbose:
        for remark in result.remarks:
            print(f"{remark.location}: {remark.message}")
        print(f"iabn.torch.convert: {len(replaced)} of {len(calls)} batch "
              f"norms replaced by InPlaceABN ({sum(p['inplace'] for p in plan)}"
              f" in place)")
    result.replaced = replaced
    # The same decisions by module name (JSON-friendly), to apply elsewhere.
    result.plan = plan
    return model, result
