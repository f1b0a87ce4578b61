"""IABN inside torch.compile: the compiler rewrites AOTAutograd's joint graph.

One line turns it on, with no change to the model::

    compiled = torch.compile(model, backend="iabn")        # or
    compiled = torch.compile(model, backend=iabn.torch.backend(store_y=True))

How it works. The backend is inductor (``compile_fx``) with three changes:

1. AOTAutograd traces the joint forward+backward graph with inductor's
   decomposition table minus the batch norms, the activations and their
   backward ops (``KEPT``), so that the joint graph shows each
   BatchNorm -> activation chain and its backward as whole aten ops.
2. A joint-graph pass (``torch._inductor.config.joint_custom_pre_pass``,
   before the min-cut partitioner) exports the joint graph to IABN IR
   (``iabn.torch.export.emit_function``: the same emitter as
   ``export_training_step``), runs the compiler's rewrite on it through the
   compiled library (``iabn.compiler.inplace_abn``: the same pipeline and
   decisions as ``iabn-opt --iabn-pipeline``) and applies each decision to
   the FX graph:

   * ``inplace`` (identity, leaky_relu, elu): the batch norm, its activation,
     the activation's backward and the batch norm's backward become
     ``iabn::inplace_abn_forward`` / ``iabn::inplace_abn_backward``: the
     backward reads z (an output), never x;
   * ``store-y`` (relu, relu6, silu, gelu, hardswish): the batch norm and its
     backward become the identity pair (y is the only tensor the pair reads
     in the backward); the activation and its backward stay aten ops, so the
     partitioner may recompute phi(y) instead of saving z;
   * anything else stays as it was, with the compiler's reason.

   The new operators and the running-statistics updates are traced with the
   graph's fake values, so the partitioner sees every saved tensor and
   ``activation_memory_budget`` applies to all of them.
3. A post-grad pass (``post_grad_custom_pre_pass``) decomposes what is left
   of ``KEPT`` (chains that were not fused, inference graphs) with inductor's
   own table, so the rest goes to inductor as it would without IABN.

``explain(model, *inputs)`` runs the same pass (without inductor) and returns
one ``Site`` per batch norm of the joint graph: its strategy and, where it
was not fused, why.
"""

import contextlib
import hashlib
import operator
import os
import re
from dataclasses import dataclass
from typing import List, Optional

import torch

from . import _native  # noqa: F401 (registers the iabn operators)
from .export import emit_function

aten = torch.ops.aten

# The strategies applied here, and the operator's name of each activation
# fused with the in-place strategy (the IR kind -> iabn::* activation).
_INPLACE_ACTIVATIONS = {"identity", "leaky_relu", "elu"}


@dataclass
class Site:
    """One batch norm of a joint graph and what the pass did with it."""
    index: int            # k of loc("iabn.bn<k>"), in graph order
    node: str             # the FX node's name
    shape: tuple          # the batch norm's input shape (example sizes)
    strategy: str         # inplace | store-y | recompute | none
    activation: Optional[str]
    applied: bool         # whether the graph now runs IABN's operators
    reason: str           # the compiler's remark, or why it was not applied

    def __str__(self):
        act = f" -> {self.activation}" if self.activation else ""
        state = "fused" if self.applied else "left alone"
        return (f"{self.node} {list(self.shape)}{act}: {self.strategy}, "
                f"{state}: {self.reason}")


def _ops(names):
    out = set()
    for name in names:
        packet, _, overload = name.partition(".")
        op = getattr(aten, packet, None)
        if op is not None and hasattr(op, overload or "default"):
            out.add(getattr(op, overload or "default"))
    return frozenset(out)


# Ops kept whole in the joint graph (left out of the decomposition table).
_BATCH_NORM_BACKWARD = _ops(["native_batch_norm_backward"])
# The activations of the in-place strategy: forward op, backward op.
_ACTIVATION_OPS = {"leaky_relu": (_ops(["leaky_relu"]),
                                  _ops(["leaky_relu_backward"])),
                   "elu": (_ops(["elu"]), _ops(["elu_backward"]))}
KEPT = _ops([
    "_native_batch_norm_legit_functional", "_native_batch_norm_legit",
    "_native_batch_norm_legit.no_stats", "native_batch_norm",
    "_batch_norm_with_update", "_batch_norm_with_update_functional",
    "_native_batch_norm_legit_no_training", "native_batch_norm_backward",
    "batch_norm_backward",
    "leaky_relu", "leaky_relu_backward", "threshold_backward", "hardtanh",
    "hardtanh_backward", "silu", "silu_backward", "gelu", "gelu_backward",
    "hardswish", "hardswish_backward", "elu", "elu_backward"])


def _inductor_table():
    import torch._inductor.lowering  # noqa: F401 (the table refers to it)
    from torch._inductor.decomposition import select_decomp_table
    return select_decomp_table()


def _joint_table():
    """Inductor's decompositions without KEPT: the joint graph's table."""
    return {op: fn for op, fn in _inductor_table().items() if op not in KEPT}


def _val(node):
    return node.meta.get("val") if isinstance(node, torch.fx.Node) else None


def _fake_mode(graph):
    from torch._guards import detect_fake_mode
    return detect_fake_mode([n.meta.get("val") for n in graph.nodes
                             if n.op == "placeholder"])


def _insert(graph, before, fn, inputs, table):
    """Traces fn(*fake values of inputs) with `table` and inlines the trace
    before node `before`; returns the trace's outputs as graph nodes."""
    from torch._inductor.pattern_matcher import fwd_only
    with _fake_mode(graph) or contextlib.nullcontext():
        sub = fwd_only(fn, [_val(a) for a in inputs],
                       get_decomp_fn=lambda: table)
    placeholders = [n for n in sub.graph.nodes if n.op == "placeholder"]
    val_map = dict(zip(placeholders, inputs))
    with graph.inserting_before(before):
        out = graph.graph_copy(sub.graph, val_map)
    return out


def _getitems(node):
    """{index: getitem node} of a node returning a tuple; None if it has
    another kind of user."""
    items = {}
    for user in node.users:
        if user.op != "call_function" or user.target is not \
                operator.getitem:
            return None
        items[user.args[1]] = user
    return items


def _through_aliases(node):
    """node and the alias/detach chains hanging off it."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        out.append(n)
        todo.extend(u for u in n.users if u.op == "call_function" and
                    u.target in (aten.alias.default, aten.detach.default))
    return out


class _Unmatched(Exception):
    pass


def _match(bn):
    """The chain around a fused batch norm, as the compiler matched it:
    (outputs of bn, activation node or None, the activation's backward or
    None, the batch norm's backward, its outputs)."""
    outs = _getitems(bn)
    if outs is None or 0 not in outs:
        raise _Unmatched("the batch norm has users other than its results")
    backward = None
    for key in (1, 2):
        for user in (outs[key].users if key in outs else ()):
            if user.target in _BATCH_NORM_BACKWARD:
                if backward not in (None, user):
                    raise _Unmatched("two batch-norm backward ops")
                backward = user
            else:
                raise _Unmatched(f"its statistics are read by {user.target}")
    if backward is None:
        raise _Unmatched("no backward reads its statistics")
    if not (backward.args[1] is bn.args[0] and backward.args[7] and
            backward.args[2] is bn.args[1] and
            backward.args[8] == bn.args[7] and
            backward.args[5] is outs.get(1) and
            backward.args[6] is outs.get(2)):
        raise _Unmatched("the backward is not this batch norm's")
    grads = _getitems(backward)
    if grads is None:
        raise _Unmatched("the backward has users other than its results")
    return outs, backward, grads


def _forward_replacement(eps, momentum, activation, param, gamma_mode,
                         has_weight, has_bias, has_running):
    def fn(x, *tensors):
        tensors = list(tensors)
        w = tensors.pop(0) if has_weight else None
        b = tensors.pop(0) if has_bias else None
        rm, rv = (tensors[0], tensors[1]) if has_running else (None, None)
        z, mean, var = torch.ops.iabn.inplace_abn_forward(
            x, w, b, rm, rv, True, eps, activation, param, gamma_mode)
        if not has_running:
            return z, mean, var
        # The running statistics as aten's functional batch norm updates
        # them (unbiased variance).
        m = x.numel() // x.shape[1]
        new_rm = rm * (1 - momentum) + mean.to(rm.dtype) * momentum
        new_rv = rv * (1 - momentum) + \
            (var * (m / (m - 1))).to(rv.dtype) * momentum
        return z, mean, var, new_rm, new_rv
    return fn


def _backward_replacement(eps, activation, param, gamma_mode, has_weight,
                          has_bias):
    def fn(z, dz, var, *tensors):
        tensors = list(tensors)
        w = tensors.pop(0) if has_weight else None
        b = tensors.pop(0) if has_bias else None
        return torch.ops.iabn.inplace_abn_backward(
            z, dz, w, b, var, True, eps, activation, param, gamma_mode)
    return fn


def _activation_nodes(y, kind):
    """The activation fed by y and its backward (reading y or z, through
    aliases), for an in-place decision; y must have no other reader."""
    forward_ops, backward_ops = _ACTIVATION_OPS[kind]
    readers = [u for n in _through_aliases(y) for u in n.users
               if u.target not in (aten.alias.default, aten.detach.default)]
    acts = [u for u in readers if u.target in forward_ops]
    if len(acts) != 1:
        raise _Unmatched(f"{len(acts)} {kind} ops read y")
    act = acts[0]
    grads = [u for u in readers if u.target in backward_ops]
    grads += [u for n in _through_aliases(act) for u in n.users
              if u.target in backward_ops]
    if len(set(grads)) != 1:
        raise _Unmatched(f"{len(set(grads))} {kind} backward ops read y or z")
    others = [u for u in readers if u is not act and u not in grads]
    if others:
        raise _Unmatched(f"y is also read by {others[0].target}")
    return act, grads[0]


def _apply(graph, bn, decision, gamma_mode, table):
    """Rewrites one chain; returns why not if it cannot."""
    x, w, b, rm, rv, training, momentum, eps = bn.args[:8]
    if not training:
        raise _Unmatched("not a training batch norm")
    if not isinstance(momentum, (int, float)) or \
            not isinstance(eps, (int, float)):
        raise _Unmatched("momentum or eps is not a constant")
    if (rm is None) != (rv is None):
        raise _Unmatched("only one running statistic")
    outs, backward, grads = _match(bn)
    kind = decision["activation"]["kind"]
    param = float(decision["activation"].get("param", 0.0))
    strategy = decision["strategy"]
    if strategy == "inplace":
        if kind not in _INPLACE_ACTIVATIONS:
            raise _Unmatched(f"activation {kind} has no in-place operator")
        if kind == "identity":
            head, grad_y, dz = outs[0], None, backward.args[0]
        else:
            head, grad_y = _activation_nodes(outs[0], kind)
            # dy: the activation's backward, read by the batch norm's
            # backward only.
            if backward.args[0] is not grad_y or \
                    list(grad_y.users) != [backward]:
                raise _Unmatched("the activation's backward is not the one "
                                 "input of the batch norm's backward")
            dz = grad_y.args[0]
        op_act = kind
    elif strategy == "store-y":
        head, grad_y, dz, op_act, param = outs[0], None, backward.args[0], \
            "identity", 0.0
    else:
        raise _Unmatched(f"strategy {strategy} is not applied under "
                         "torch.compile")
    tensors = [t for t in (w, b) if t is not None]
    running = [rm, rv] if rm is not None else []
    fwd = _forward_replacement(float(eps), float(momentum), op_act, param,
                               gamma_mode, w is not None, b is not None,
                               rm is not None)
    new = _insert(graph, bn, fwd, [x] + tensors + running, table)
    z, var = new[0], new[2]
    bwd = _backward_replacement(float(eps), op_act, param, gamma_mode,
                                w is not None, b is not None)
    before = grad_y if grad_y is not None else backward
    grads_new = _insert(graph, before, bwd, [z, dz, var] + tensors, table)
    # Rewire: forward results, running statistics, gradients.
    head.replace_all_uses_with(z)
    if 3 in outs:
        outs[3].replace_all_uses_with(new[3])
    if 4 in outs:
        outs[4].replace_all_uses_with(new[4])
    for i, node in grads.items():
        node.replace_all_uses_with(grads_new[i])
    # The old nodes are dead now: erase them, users first.
    dead = [*grads.values(), backward]
    if grad_y is not None:
        dead.append(grad_y)
    if head is not outs[0]:
        dead.extend(reversed(_through_aliases(head)))
    dead.extend(reversed(_through_aliases(outs[0])))
    dead.extend(v for k, v in outs.items() if k != 0)
    dead.append(bn)
    for node in dead:
        if node.graph is graph and not node.users:
            graph.erase_node(node)
    return None


def rewrite(gm, gamma_mode="sign_clamp", store_y=True, table=None,
            gammas=None) -> List[Site]:
    """Applies the compiler's InPlace-ABN decisions to the joint graph `gm`
    (AOTAutograd's, placeholders primals_* then tangents_*). Returns one
    Site per training batch norm.

    gammas: min |gamma| per training batch norm, in order (from dynamo's
    graph, see _gamma_minima). A batch norm that starts with |gamma| < eps
    in some channel (zero-initialised, e.g. torchvision's
    zero_init_residual, timm's zero_init_last) is left alone: the fused
    layer computes with gamma clamped to +-eps there and cannot recover
    x_hat from z where gamma is 0. None: the values are unknown; such
    batch norms are fused and a warning says so."""
    from .. import compiler
    graph = gm.graph
    table = _inductor_table() if table is None else table
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    gradients = {i for i, n in enumerate(placeholders)
                 if str(n.target).startswith("tangents")}
    try:
        ir, nodes = emit_function(gm, "joint_graph", gradients)
        if not nodes:
            return []
        result = compiler.inplace_abn(ir, gamma_mode=gamma_mode)
    except (NotImplementedError, compiler.CompilerError) as why:
        # A graph the exporter or the compiler cannot take (e.g. a dtype
        # with no IR type): nothing is rewritten, and the user is told.
        import warnings
        warnings.warn(f"iabn: the joint graph was left to inductor "
                      f"unchanged: {' '.join(str(why).splitlines()[:2])}",
                      stacklevel=2)
        return []
    by_loc = {}
    for d in result.decisions:
        match = re.search(r"iabn\.bn(\d+)\b", d["loc"])
        if match:
            by_loc[int(match.group(1))] = d
    sites, unchecked = [], []
    for k, bn in enumerate(nodes):
        d = by_loc.get(k)
        shape = tuple(int(s) if isinstance(s, int) else -1
                      for s in _val(bn.args[0]).shape)
        if d is None:
            sites.append(Site(k, bn.name, shape, "none", None, False,
                              "the compiler reported no decision"))
            continue
        kind = d.get("activation", {}).get("kind")
        site = Site(k, bn.name, shape, d["strategy"], kind, False,
                    d.get("remark", ""))
        sites.append(site)
        if d["strategy"] == "store-y" and not store_y:
            site.reason = "store-y is off (backend(store_y=False))"
            continue
        if d["strategy"] not in ("inplace", "store-y"):
            continue
        eps = bn.args[7]
        if bn.args[1] is not None and isinstance(eps, float):
            known = gammas is not None and len(gammas) == len(nodes)
            gamma = gammas[k] if known else None
            if gamma is not None and gamma < eps:
                site.reason = (
                    f"not applied: min |gamma| = {gamma:.3g} < eps = "
                    f"{eps:g} (zero-initialised?): the fused layer would "
                    "differ from BatchNorm; recompile once |gamma| >= eps")
                continue
            if gamma is None:
                unchecked.append(bn.name)
        before = set(graph.nodes)
        try:
            _apply(graph, bn, d, gamma_mode, table)
            site.applied = True
        except Exception as why:  # noqa: BLE001 (any refusal leaves it)
            # _Unmatched, or the operator's checks refusing the tensors
            # (dtype, rank: RuntimeError, ValueError, TypeError). The graph
            # is rewired only after both replacements are traced, so
            # removing what was inserted restores it.
            for node in reversed(list(graph.nodes)):
                if node not in before and not node.users:
                    graph.erase_node(node)
            text = str(why).splitlines()[0] if str(why) else type(why).__name__
            site.reason = f"not applied: {text}"
    if unchecked:
        import warnings
        warnings.warn(
            f"iabn: fused {len(unchecked)} batch norms whose gamma could not "
            f"be read at compile time ({', '.join(unchecked[:3])}...): they "
            "equal BatchNorm only where |gamma| >= eps", stacklevel=2)
    graph.lint()
    gm.recompile()
    return sites


def decompose_kept(graph, table=None):
    """Decomposes the KEPT ops left in `graph` with inductor's table."""
    table = _inductor_table() if table is None else table
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target not in KEPT or \
                node.target not in table:
            continue
        target, args, kwargs = node.target, node.args, node.kwargs
        flat, spec = torch.utils._pytree.tree_flatten((args, kwargs))
        positions = [i for i, a in enumerate(flat)
                     if isinstance(a, torch.fx.Node)]

        def fn(*tensors, flat=flat, positions=positions, spec=spec,
               target=target):
            values = list(flat)
            for i, t in zip(positions, tensors):
                values[i] = t
            a, k = torch.utils._pytree.tree_unflatten(values, spec)
            return target(*a, **k)
        out = _insert(graph, node, fn, [flat[i] for i in positions], table)
        if isinstance(_val(node), (tuple, list)):
            items = _getitems(node) or {}
            for i, user in items.items():
                user.replace_all_uses_with(out[i])
                graph.erase_node(user)
        else:
            node.replace_all_uses_with(out if isinstance(out, torch.fx.Node)
                                       else out[0])
        if not node.users:
            graph.erase_node(node)
    graph.lint()


def _gamma_minima(gm, example_inputs):
    """min |gamma| of each training batch norm of dynamo's graph `gm`, in
    call order (None where unknown or without weight): the values the
    compiled graph starts from. Its placeholders are example_inputs."""
    import torch.nn.functional as F
    values = {n: v for n, v in zip(
        [n for n in gm.graph.nodes if n.op == "placeholder"], example_inputs)}
    out = []
    for n in gm.graph.nodes:
        if n.op != "call_function":
            continue
        if n.target is F.batch_norm:
            names = ("input", "running_mean", "running_var", "weight",
                     "bias", "training", "momentum", "eps")
        elif n.target is torch.batch_norm:
            names = ("input", "weight", "bias", "running_mean",
                     "running_var", "training", "momentum", "eps")
        else:
            continue
        args = dict(zip(names, n.args))
        args.update(n.kwargs)
        if not args.get("training", False):
            continue
        w = args.get("weight")
        if isinstance(w, torch.fx.Node) and w.op == "get_attr":
            w = getattr(gm, w.target, None)
        else:
            w = values.get(w)
        out.append(float(w.detach().abs().min()) if isinstance(
            w, torch.Tensor) and w.numel() and not
            isinstance(w, torch._subclasses.FakeTensor) else None)
    return out


def _files_hash():
    from .. import _libs
    h = hashlib.sha256()
    for path in (__file__, os.path.join(os.path.dirname(__file__),
                                        "export.py"),
                 _libs.find("libIABNCAPI.so")):
        if path and os.path.exists(path):
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


_HASH = None


def _uuid(*options):
    global _HASH
    if _HASH is None:
        _HASH = _files_hash()
    return f"{_HASH}-{options}"


def _passes(gamma_mode, store_y, record, gammas=None):
    from torch._inductor.custom_graph_pass import CustomGraphPass

    class JointPass(CustomGraphPass):
        """The InPlace-ABN rewrite of the joint graph."""

        def __call__(self, graph):
            sites = rewrite(graph.owning_module, gamma_mode, store_y,
                            gammas=gammas)
            if record is not None:
                record.extend(sites)

        def uuid(self):
            return _uuid("joint", gamma_mode, store_y)

    class DecomposePass(CustomGraphPass):
        """Decomposes the batch norms and activations left whole."""

        def __call__(self, graph):
            decompose_kept(graph)

        def uuid(self):
            return _uuid("decompose")

    return JointPass(), DecomposePass()


def backend(gamma_mode="sign_clamp", store_y=True, record=None,
            inductor=True, graphs=None):
    """A torch.compile backend: inductor with IABN's joint-graph rewrite.

    gamma_mode: "sign_clamp" (equals BatchNorm whenever |gamma| >= eps) or
    "abs_plus_eps" (the paper's rule). store_y: apply the store-y strategy
    to relu-like activations. record: a list the Sites of every compiled
    joint graph are appended to. inductor=False: AOTAutograd with eager
    kernels (for tests and explain()); then `graphs`, a list, receives each
    partitioned forward and backward GraphModule.

    torch.compile's `mode` ("reduce-overhead", "max-autotune", ...) and
    `options` are passed on to inductor."""
    if gamma_mode not in ("sign_clamp", "abs_plus_eps"):
        raise ValueError(f"gamma_mode must be sign_clamp or abs_plus_eps, "
                         f"got {gamma_mode!r}")

    def compile_fn(gm, example_inputs, mode=None, options=None, **_):
        joint, decompose = _passes(gamma_mode, store_y, record,
                                   _gamma_minima(gm, example_inputs))
        import torch._functorch.config as functorch_config
        if not inductor:
            return _aot_eager(gm, example_inputs, joint, graphs)
        from torch._inductor import list_mode_options
        from torch._inductor.compile_fx import compile_fx
        patches = dict(list_mode_options(mode) if mode else {})
        patches.update(options or {})
        patches["joint_custom_pre_pass"] = joint
        patches["post_grad_custom_pre_pass"] = decompose
        # The decomposition table is not part of AOTAutograd's cache key.
        with functorch_config.patch(enable_autograd_cache=False):
            return compile_fx(gm, example_inputs, config_patches=patches,
                              decompositions=_joint_table())

    compile_fn.__name__ = "iabn"
    return compile_fn


def _aot_eager(gm, example_inputs, joint, graphs=None):
    from functorch.compile import min_cut_rematerialization_partition
    from torch._dynamo.backends.common import aot_autograd

    def partition(joint_gm, joint_inputs, **kwargs):
        joint(joint_gm.graph)
        return min_cut_rematerialization_partition(joint_gm, joint_inputs,
                                                   **kwargs)

    def boxed(fx_gm, _inputs):
        from functorch.compile import make_boxed_func
        decompose_kept(fx_gm.graph)
        fx_gm.recompile()
        if graphs is not None:
            graphs.append(fx_gm)
        return make_boxed_func(fx_gm)

    import torch._functorch.config as functorch_config
    with functorch_config.patch(enable_autograd_cache=False):
        return aot_autograd(fw_compiler=boxed, bw_compiler=boxed,
                            inference_compiler=boxed,
                            partition_fn=partition,
                            decompositions=_joint_table())(gm, example_inputs)


def explain(model, *example_inputs, gamma_mode="sign_clamp", store_y=True):
    """What the backend does to `model`'s batch norms on these inputs: one
    Site per batch norm of each joint graph (the model is not changed: a
    copy runs one forward, in training mode)."""
    import copy
    sites = []
    clone = copy.deepcopy(model).train()
    torch._dynamo.reset()
    compiled = torch.compile(clone, backend=backend(
        gamma_mode, store_y, record=sites, inductor=False))
    compiled(*[t.detach().clone() for t in example_inputs])
    torch._dynamo.reset()
    return sites


def _register():
    try:
        from torch._dynamo import register_backend
    except ImportError:  # torch < 2.0: no torch.compile
        return
    from torch._dynamo.backends.registry import _BACKENDS
    if "iabn" not in _BACKENDS:
        register_backend(name="iabn")(_named_backend)


def _named_backend(gm, example_inputs, **kwargs):
    """torch.compile(model, backend="iabn"): the defaults of backend()."""
    return backend()(gm, example_inputs, **kwargs)


_register()
