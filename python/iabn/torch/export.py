"""Import a PyTorch model's training step into IABN IR.

The joint forward+backward graph is traced with make_fx (the aten-level
graph AOTAutograd works on): batch-norm and activation ops and their
backward ops become iabn ops; every other aten op becomes a call to a
private function declaration with the right tensor types (a conservative
stand-in: the passes assume it reads all its operands). The incoming
gradient is the argument marked {iabn.gradient}.

    ir = export_training_step(model, torch.randn(2, 3, 32, 32))
    result = iabn.compiler.inplace_abn(ir)

Runs on the CPU with real (small) example tensors; shapes scale with them.
"""

import operator

import torch
from torch.fx.experimental.proxy_tensor import make_fx

_DTYPES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
           torch.float64: "f64", torch.int64: "i64", torch.int32: "i32",
           torch.bool: "i1", torch.uint8: "i8", torch.int8: "i8"}


def _functional_call(model, tensors, args):
    try:
        from torch.func import functional_call
    except ImportError:  # torch < 2.0
        from torch.nn.utils.stateless import functional_call
    return functional_call(model, tensors, args)


# silu's backward is one aten op (silu_backward), but autograd differentiates
# silu through a composite of sigmoid, sub and mul, which would hide the
# activation's gradient among stand-ins. While tracing, F.silu goes through
# an autograd function whose backward is an op of our own, recognised below.
_EXPORT_LIBRARY = None


def _export_ops():
    global _EXPORT_LIBRARY
    if _EXPORT_LIBRARY is None:
        lib = torch.library.Library("iabn_export", "DEF")
        lib.define("silu_backward(Tensor grad_output, Tensor self) -> Tensor")

        def silu_backward(grad, x):
            s = torch.sigmoid(x)
            return grad * s * (1 + x * (1 - s))

        for key in ("CPU", "CUDA"):
            lib.impl("silu_backward", silu_backward, key)
        lib.impl("silu_backward", lambda grad, x: torch.empty_like(grad),
                 "Meta")
        _EXPORT_LIBRARY = lib
    return torch.ops.iabn_export


class _SiLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.ops.aten.silu(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _export_ops().silu_backward(grad, x)


class _ExportFunctions(torch.overrides.TorchFunctionMode):
    """F.silu (also inplace=True: the same values) through _SiLU."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.nn.functional.silu:
            return _SiLU.apply(args[0])
        return func(*args, **kwargs)


def _float(value):
    return f"{float(value):.17e}"


def _dim(d):
    """A dimension: its value, or for a symbolic size (dynamic shapes under
    torch.compile) the example's value, the size hint; "?" without one."""
    if isinstance(d, int):
        return str(d)
    hint = getattr(getattr(d, "node", None), "hint", None)
    return str(int(hint)) if hint is not None else "?"


def _type(t):
    if t.dtype not in _DTYPES:
        raise NotImplementedError(f"unsupported dtype {t.dtype}")
    dims = "x".join(_dim(d) for d in t.shape)
    return f"tensor<{dims}x{_DTYPES[t.dtype]}>" if t.dim() else \
        f"tensor<{_DTYPES[t.dtype]}>"


def _fake_values(gm):
    """Each node's value as a fake tensor (shape and dtype, no data), from
    the trace's metadata. PyTorch 1.13 records none for ops that return a
    tuple: their value is rebuilt from the getitem nodes that use them."""
    values = {}
    for n in gm.graph.nodes:
        if n.op == "output":
            continue
        if "val" in n.meta:
            values[n] = n.meta["val"]
            continue
        items = {u.args[1]: u.meta.get("val") for u in n.users
                 if u.op == "call_function" and "getitem" in str(u.target)}
        values[n] = tuple(items.get(i) for i in range(
            max(items) + 1)) if items else None
    return values


def _returns_new_tensors(target):
    """Whether an aten op's results are new tensors: its schema gives no
    argument or result an alias annotation (views, in-place and out=
    variants have one)."""
    schema = getattr(target, "_schema", None)
    if schema is None:
        return False
    return all(a.alias_info is None for a in schema.arguments) and \
        all(r.alias_info is None for r in schema.returns)


def _name(target):
    text = str(target)
    return "aten_" + "".join(c if c.isalnum() else "_" for c in text.replace(
        "aten.", "")).strip("_")


# The location given to the k-th batch norm of an exported graph.
BN_LOCATION_PREFIX = "iabn.bn"

# aten's training batch norms (PyTorch 1.x and 2.x): (input, weight, bias,
# running_mean, running_var, training, momentum, eps) -> (out, mean, invstd,
# ...).
_BATCH_NORMS = ("aten.native_batch_norm.default",
                "aten._native_batch_norm_legit.default",
                "aten._native_batch_norm_legit_functional.default")


class _Emitter:
    def __init__(self, gm, values):
        self.gm, self.values = gm, values
        self.ssa = {}         # (node, index or None) -> "%name"
        self.num_batch_norms = 0
        self.batch_norm_nodes = []  # the k-th has loc("iabn.bn<k>")
        self.lines = []
        self.decls = {}
        # Per declaration: whether the op returns new tensors (no view or
        # in-place alias in its schema).
        self.fresh_results = {}
        self.counter = 0

    def fresh(self):
        self.counter += 1
        return f"%v{self.counter}"

    def value(self, arg):
        """The SSA value of a tensor argument (following getitem/detach)."""
        if isinstance(arg, torch.fx.Node):
            return self.ssa.get((arg, None))
        return None

    def tensor_args(self, args):
        out = []
        for a in args:
            if isinstance(a, (list, tuple)):
                out.extend(self.tensor_args(a))
            elif isinstance(a, torch.fx.Node) and self.value(a):
                out.append(a)
        return out

    def emit(self, line):
        self.lines.append("  " + line)

    def tensor_type(self, node):
        return _type(self.values[node])

    def source(self, node):
        """Follows detach/alias chains to the producing node."""
        while isinstance(node, torch.fx.Node) and node.op == "call_function" \
                and str(node.target) in ("aten.detach.default",
                                         "aten.alias.default"):
            node = node.args[0]
        return node

    def standin(self, node):
        val = self.values.get(node)
        if isinstance(val, torch.Tensor):
            results = [(None, val)]
        elif isinstance(val, (tuple, list)):
            results = [(i, v) for i, v in enumerate(val)
                       if isinstance(v, torch.Tensor)]
        else:
            results = []
        operands = self.tensor_args(node.args) + self.tensor_args(
            list(node.kwargs.values()))
        in_types = [self.tensor_type(a) for a in operands]
        out_types = [_type(r) for _, r in results]
        signature = (tuple(in_types), tuple(out_types))
        base = _name(node.target)
        key = (base, signature)
        if key not in self.decls:
            index = sum(1 for k in self.decls if k[0] == base)
            self.decls[key] = f"{base}_{index}" if index else base
            self.fresh_results[key] = _returns_new_tensors(node.target)
        callee = self.decls[key]
        names = [self.fresh() for _ in results]
        lhs = (", ".join(names) + " = ") if names else ""
        ops = ", ".join(self.value(a) for a in operands)
        self.emit(f"{lhs}func.call @{callee}({ops}) : "
                  f"({', '.join(in_types)}) -> ({', '.join(out_types)})")
        for (index, _), name in zip(results, names):
            self.ssa[(node, index)] = name

    def channel_type(self, node):
        c = self.values[node].shape[1]
        dtype = "f64" if self.values[node].dtype == torch.float64 else "f32"
        return f"tensor<{c}x{dtype}>"

    def batch_norm(self, node):
        x, w, b, rm, rv, training, momentum, eps = node.args[:8]
        t, c = self.tensor_type(x), self.channel_type(x)
        scale = f" scale {self.value(w)}" if w is not None else ""
        offset = f" offset {self.value(b)}" if b is not None else ""
        attrs = f"{{epsilon = {_float(eps)} : f64, feature_dim = 1 : i64}}"
        y, mean, var = self.fresh(), self.fresh(), self.fresh()
        # The k-th batch norm of the trace carries loc("iabn.bn<k>"), so that
        # remarks can be mapped back to the k-th batch-norm module call.
        loc = f'loc("{BN_LOCATION_PREFIX}{self.num_batch_norms}")'
        self.num_batch_norms += 1
        self.batch_norm_nodes.append(node)
        if training:
            self.emit(f"{y}, {mean}, {var} = iabn.batch_norm_train "
                      f"{self.value(x)}{scale}{offset} {attrs} : {t}, {c} "
                      f"{loc}")
        else:
            self.emit(f"{y} = iabn.batch_norm_inference {self.value(x)}"
                      f"{scale}{offset} stats({self.value(rm)}, "
                      f"{self.value(rv)}) {attrs} : {t}, {c} {loc}")
        # Results 1 and 2 are (mean, invstd) in aten; ours are (mean,
        # variance), consumed by the matching backward.
        self.ssa[(node, 0)], self.ssa[(node, 1)] = y, mean
        self.ssa[(node, 2)] = var

    def batch_norm_backward(self, node):
        grad, x, w, rm, rv, save_mean, save_invstd, train, eps = \
            node.args[:9]
        t, c = self.tensor_type(x), self.channel_type(x)
        scale = f" scale {self.value(w)}" if w is not None else ""
        dx, dg, db = self.fresh(), self.fresh(), self.fresh()
        self.emit(f"{dx}, {dg}, {db} = iabn.batch_norm_train_grad "
                  f"{self.value(grad)}, {self.value(x)}{scale} stats("
                  f"{self.value(save_mean)}, {self.value(save_invstd)}) "
                  f"{{epsilon = {_float(eps)} : f64, feature_dim = 1 : i64}}"
                  f" : {t}, {c}")
        for i, name in enumerate((dx, dg, db)):
            self.ssa[(node, i)] = name

    def activation(self, node, attr):
        z = self.fresh()
        self.emit(f"{z} = iabn.activation {attr} {self.value(node.args[0])}"
                  f" : {self.tensor_type(node)}")
        self.ssa[(node, None)] = z

    def activation_grad(self, node, attr, grad, src, self_is_result):
        d = self.fresh()
        flag = " {self_is_result}" if self_is_result else ""
        self.emit(f"{d} = iabn.activation_grad {attr} {self.value(grad)}, "
                  f"{self.value(src)}{flag} : {self.tensor_type(node)}")
        self.ssa[(node, None)] = d

    def node(self, n):
        target = str(n.target)
        if n.op == "call_function" and n.target is operator.getitem:
            parent, index = n.args
            name = self.ssa.get((parent, index))
            if name:
                self.ssa[(n, None)] = name
            return
        # clone: the same values (autograd clones an in-place activation's
        # input, e.g. ReLU6(inplace=True), to differentiate from it).
        if target in ("aten.detach.default", "aten.alias.default",
                      "aten.clone.default"):
            if self.value(n.args[0]):
                self.ssa[(n, None)] = self.value(n.args[0])
            return
        if target in _BATCH_NORMS and \
                self.values[n.args[0]].dim() >= 2 and \
                self.values[n.args[0]].is_floating_point():
            return self.batch_norm(n)
        if target == "aten.native_batch_norm_backward.default" and \
                n.args[7] and (n.args[5], 1) != (None, 1):
            return self.batch_norm_backward(n)
        # In-place activations (nn.ReLU(inplace=True), ...) are the same
        # values in a tensor-semantics graph.
        target = target.replace("_.default", ".default")
        if target == "aten.leaky_relu.default":
            slope = n.args[1] if len(n.args) > 1 else 0.01
            return self.activation(n, f"<leaky_relu, {_float(slope)}>")
        if target == "aten.leaky_relu_backward.default":
            grad, src, slope, is_result = n.args[:4]
            return self.activation_grad(n, f"<leaky_relu, {_float(slope)}>",
                                        grad, src, bool(is_result))
        if target == "aten.relu.default":
            return self.activation(n, "<relu>")
        if target == "aten.threshold_backward.default" and \
                float(n.args[2]) == 0.0:
            grad, src = n.args[:2]
            producer = self.source(src)
            is_result = str(getattr(producer, "target", "")) in (
                "aten.relu.default", "aten.relu_.default")
            return self.activation_grad(n, "<relu>", grad, src, is_result)
        if target == "aten.hardtanh.default" and \
                tuple(map(float, n.args[1:3])) == (0.0, 6.0):
            return self.activation(n, "<relu6>")
        if target == "aten.hardtanh_backward.default" and \
                tuple(map(float, n.args[2:4])) == (0.0, 6.0):
            grad, src = n.args[:2]
            is_result = str(getattr(self.source(src), "target", "")) in (
                "aten.hardtanh.default", "aten.hardtanh_.default")
            return self.activation_grad(n, "<relu6>", grad, src, is_result)
        if target == "aten.silu.default":
            return self.activation(n, "<silu>")
        if target in ("iabn_export.silu_backward.default",
                      "aten.silu_backward.default"):
            return self.activation_grad(n, "<silu>", n.args[0], n.args[1],
                                        False)
        if target == "aten.gelu.default" and \
                n.kwargs.get("approximate", "none") == "none" and \
                (len(n.args) < 2 or n.args[1] == "none"):
            return self.activation(n, "<gelu>")
        if target == "aten.gelu_backward.default" and \
                n.kwargs.get("approximate", "none") == "none" and \
                (len(n.args) < 3 or n.args[2] == "none"):
            return self.activation_grad(n, "<gelu>", n.args[0], n.args[1],
                                        False)
        if target == "aten.hardswish.default":
            return self.activation(n, "<hardswish>")
        if target == "aten.hardswish_backward.default":
            return self.activation_grad(n, "<hardswish>", n.args[0],
                                        n.args[1], False)
        if target == "aten.elu.default" and all(
                float(v) == 1.0 for v in n.args[2:4]):
            return self.activation(n, f"<elu, {_float(n.args[1])}>")
        if target == "aten.elu_backward.default" and all(
                float(v) == 1.0 for v in n.args[2:4]):
            grad, alpha, _, _, is_result, src = n.args[:6]
            return self.activation_grad(n, f"<elu, {_float(alpha)}>", grad,
                                        src, bool(is_result))
        return self.standin(n)


def export_training_step(model, example_input, grad_output=None,
                         name="train_step"):
    """The training step of `model` on `example_input` (forward, and the
    backward from `grad_output`, random by default) as IABN IR text."""
    params = {k: v.detach().requires_grad_(True)
              for k, v in model.named_parameters()}
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    x = example_input.detach().requires_grad_(True)
    names = list(params)
    if grad_output is not None:
        g = grad_output
    else:
        # Only the output's shape and dtype matter: trace the forward on
        # fake tensors (nothing is computed) to get them.
        def forward(x, *tensors):
            p = dict(zip(names, tensors[:len(names)]))
            b = dict(zip(buffers, tensors[len(names):]))
            return _functional_call(model, {**p, **b}, (x,))

        fwd = make_fx(forward, tracing_mode="fake")(
            x, *params.values(), *buffers.values())
        out = _fake_values(fwd)[[n for n in fwd.graph.nodes
                                 if n.op == "output"][0].args[0]]
        g = torch.zeros(out.shape, dtype=out.dtype)

    def step(x, g, *tensors):
        p = dict(zip(names, tensors[:len(names)]))
        b = dict(zip(buffers, tensors[len(names):]))
        with _ExportFunctions():
            y = _functional_call(model, {**p, **b}, (x,))
        grads = torch.autograd.grad(y, [x] + list(p.values()), g)
        return (y, *grads)

    example = (x, g, *params.values(), *buffers.values())
    was_training = model.training
    model.train()
    try:
        # Fake tensors: shapes and dtypes only, no computation (a
        # WideResNet-38 step at batch 32, 224x224, exports in seconds).
        gm = make_fx(step, tracing_mode="fake")(*example)
    finally:
        model.train(was_training)
    return emit_function(gm, name, gradients={1})[0]


def emit_function(gm, name="train_step", gradients=()):
    """The aten graph `gm` (make_fx's or AOTAutograd's joint graph, with
    fake values in its nodes' metadata) as IABN IR text: one function whose
    arguments are the graph's placeholders; those whose position is in
    `gradients` are marked {iabn.gradient}. Returns (ir, batch_norm_nodes):
    the k-th node of the list carries loc("iabn.bn<k>")."""
    values = _fake_values(gm)
    emitter = _Emitter(gm, values)
    args = []
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    for i, node in enumerate(placeholders):
        if not isinstance(values.get(node), torch.Tensor):
            continue  # a symbolic size or a scalar: no tensor to model
        arg = f"%arg{i}"
        emitter.ssa[(node, None)] = arg
        attr = " {iabn.gradient}" if i in gradients else ""
        args.append(f"{arg}: {_type(values[node])}{attr}")
    outputs = []
    for node in gm.graph.nodes:
        if node.op == "call_function":
            emitter.node(node)
        elif node.op == "output":
            results = node.args[0]
            if not isinstance(results, (list, tuple)):
                results = (results,)
            for o in results:
                if isinstance(o, torch.fx.Node) and emitter.value(o):
                    outputs.append(o)
    ret_types = [_type(values[o]) for o in outputs]
    lines = [f"// Exported by iabn.torch.export from {name}"]
    for key, callee in emitter.decls.items():
        base, (ins, outs) = key
        # Ops whose schema aliases nothing return new tensors: the compiler
        # may trust that ({iabn.fresh_results}); views (aten.view, slice,
        # ...) and in-place ops (add_) return aliases of their operands.
        attrs = " attributes {iabn.fresh_results}" \
            if emitter.fresh_results.get(key) else ""
        lines.append(f"func.func private @{callee}({', '.join(ins)}) -> "
                     f"({', '.join(outs)}){attrs}")
    lines.append(f"func.func @{name}({', '.join(args)}) -> "
                 f"({', '.join(ret_types)}) {{")
    lines.extend(emitter.lines)
    lines.append(f"  return {', '.join(emitter.value(o) for o in outputs)} : "
                 f"{', '.join(ret_types)}")
    lines.append("}")
    return "\n".join(lines) + "\n", emitter.batch_norm_nodes


def memory_report(model, example_input, **options):
    """Exports the training step and runs the InPlace-ABN pipeline on it:
    an iabn.compiler.Result with the remarks and the before/after memory
    reports."""
    from .. import compiler
    return compiler.inplace_abn(export_training_step(model, example_input),
                                **options)
