"""Random training graphs for differential execution (diffexec.py): chains of
batch norm -> activation with their backward in the framework form, in the
shapes a front-end produces and with the aliasing that makes in-place writes
dangerous:

  * layouts NCHW, NHWC, BatchNorm1d (N, C), 3-d (N, C, D, H, W); f32, f64,
    f16, bf16; static or dynamic batch;
  * x: a function argument, a view of one (expand_shape, collapse_shape,
    cast to a dynamic shape), a loop iteration argument initialised from an
    argument, the result of an scf.if choosing between an argument and a
    local tensor, or a local tensor;
  * activations identity, leaky_relu, elu (fused in place) and relu,
    relu6, silu, gelu, hardswish (store-y: y stored, z recomputed for its backward readers; recompute
    from x or left alone with epsilon 0); epsilon 0;
  * several users of x (a residual add after the batch norm), of z (the
    next layer, the return, a backward op such as the next layer's weight
    gradient), of y (another reader: not rewritten); two batch
    norms sharing one x; chains inside scf.for and scf.if;
  * the backward: dy from z ({self_is_result}) or from y; dz an incoming
    gradient argument, a view of one, or a tensor computed in the backward;
  * argument contracts: bufferization.writable = true on some arguments.

Usage: random_graphs.py [--seed S] [--count N] [--batch B] [--keep DIR]
                        [--passes "--iabn-pipeline=..."]
Runs N graphs (B functions per module) and prints a summary; every failing
graph is written to --keep (default: a temporary directory) so that it can
become a lit test.
"""

import argparse
import os
import random
import sys
import tempfile
import time

import diffexec

DTYPES = ["f32", "f32", "f64", "f16", "bf16"]
ACTIVATIONS = [("identity", None), ("leaky_relu", 0.1), ("leaky_relu", 0.01),
               ("elu", 1.0), ("elu", 0.5), ("relu", None), ("relu6", None),
               ("silu", None), ("gelu", None), ("hardswish", None)]
# Activations whose derivative cannot be computed from the output.
NEEDS_INPUT = {"silu", "gelu", "hardswish"}


def fmt(value):
    return f"{float(value):.6e}"


class Graph:
    """Builds one function in text form."""

    def __init__(self, rng, name):
        self.rng = rng
        self.name = name
        self.lines = []
        self.args = []        # (name, type, attrs)
        self.results = []     # (value, type)
        self.counter = 0
        self.dtype = rng.choice(DTYPES)
        self.cdt = "f64" if self.dtype == "f64" else "f32"
        layout = rng.choice(["nchw", "nhwc", "bn1d", "ncdhw"])
        c = rng.choice([2, 3, 4])
        n = rng.choice([2, 3])
        self.fd = 1
        if layout == "nchw":
            shape = [n, c, rng.choice([1, 2, 3]), rng.choice([2, 3])]
        elif layout == "nhwc":
            shape = [n, rng.choice([1, 2]), rng.choice([2, 3]), c]
            self.fd = 3
        elif layout == "bn1d":
            shape = [rng.choice([3, 4, 5]), c]
        else:
            shape = [n, c, 2, 1, 2]
        self.layout = layout
        self.shape = shape
        self.dynamic = rng.random() < 0.25 and self.fd != 0
        self.c = c
        # Inside a loop body nothing may escape into the results.
        self.in_loop = False

    # -- helpers ----------------------------------------------------------

    def fresh(self, prefix="v"):
        self.counter += 1
        return f"%{prefix}{self.counter}"

    def ttype(self, shape=None, dynamic=None):
        shape = self.shape if shape is None else shape
        dynamic = self.dynamic if dynamic is None else dynamic
        dims = ["?" if (i == 0 and dynamic) else str(d)
                for i, d in enumerate(shape)]
        return f"tensor<{'x'.join(dims)}x{self.dtype}>"

    @property
    def T(self):
        return self.ttype()

    @property
    def C(self):
        return f"tensor<{self.c}x{self.cdt}>"

    def arg(self, type_, attrs=""):
        name = f"%a{len(self.args)}"
        self.args.append((name, type_, attrs))
        return name

    def emit(self, line):
        self.lines.append("  " + line)

    def writable_attr(self):
        r = self.rng.random()
        if r < 0.15:
            return "{bufferization.writable = true}"
        if r < 0.2:
            return "{bufferization.writable = false}"
        return ""

    def binary(self, op, a, b, indent=""):
        """linalg elementwise op on two data tensors into a new tensor
        (`indent`: inside a region)."""
        out = self.fresh()
        empty = self.empty_like(a, indent)
        self.emit(f"{indent}{out} = linalg.{op} ins({a}, {b} : {self.T}, "
                  f"{self.T}) outs({empty} : {self.T}) -> {self.T}")
        return out

    def empty_like(self, value, indent=""):
        e = self.fresh("e")
        if self.dynamic:
            d = self.fresh("d")
            self.emit(f"{indent}%c0_{d[1:]} = arith.constant 0 : index")
            self.emit(f"{indent}{d} = tensor.dim {value}, %c0_{d[1:]} : "
                      f"{self.T}")
            self.emit(f"{indent}{e} = tensor.empty({d}) : {self.T}")
        else:
            self.emit(f"{indent}{e} = tensor.empty() : {self.T}")
        return e

    # -- sources of x ------------------------------------------------------

    def data_arg(self):
        return self.arg(self.T, self.writable_attr())

    def view_of_argument(self):
        """x as a view of an argument: expand_shape of a collapsed argument,
        collapse_shape of an expanded one, or a cast to a dynamic batch."""
        kind = self.rng.choice(["expand", "collapse", "cast"])
        rank = len(self.shape)
        if kind == "cast" and not self.dynamic:
            a = self.arg(self.ttype(dynamic=False), self.writable_attr())
            # cast to dynamic and back: a view either way.
            dyn = self.ttype(dynamic=True)
            v = self.fresh()
            self.emit(f"{v} = tensor.cast {a} : {self.ttype(dynamic=False)} "
                      f"to {dyn}")
            x = self.fresh()
            self.emit(f"{x} = tensor.cast {v} : {dyn} to {self.T}")
            return x
        if kind == "expand" and not self.dynamic and rank >= 3:
            # collapse the last two dims in the argument, expand them back.
            last = self.shape[-2] * self.shape[-1]
            src_shape = self.shape[:-2] + [last]
            src = self.ttype(src_shape)
            a = self.arg(src, self.writable_attr())
            groups = ", ".join(f"[{i}]" for i in range(rank - 2))
            groups = (groups + ", " if groups else "") + f"[{rank - 2}, {rank - 1}]"
            x = self.fresh()
            out = ", ".join(str(d) for d in self.shape)
            self.emit(f"{x} = tensor.expand_shape {a} [{groups}] "
                      f"output_shape [{out}] : {src} into {self.T}")
            return x
        if not self.dynamic:
            # collapse a trailing unit dimension of the argument.
            src_shape = self.shape + [1]
            src = self.ttype(src_shape)
            a = self.arg(src, self.writable_attr())
            groups = ", ".join(f"[{i}]" for i in range(rank - 1))
            groups = (groups + ", " if groups else "") + f"[{rank - 1}, {rank}]"
            x = self.fresh()
            self.emit(f"{x} = tensor.collapse_shape {a} [{groups}] : {src} "
                      f"into {self.T}")
            return x
        return self.data_arg()

    def local_tensor(self):
        a = self.data_arg()
        b = self.data_arg()
        return self.binary("mul", a, b)

    def if_of(self):
        cond = self.arg("i1")
        a = self.data_arg()
        local = self.fresh()
        self.emit(f"{local} = scf.if {cond} -> ({self.T}) {{")
        self.emit(f"  scf.yield {a} : {self.T}")
        self.emit("} else {")
        b = self.data_arg()
        inner = self.binary("add", b, b, indent="  ")
        self.emit(f"  scf.yield {inner} : {self.T}")
        self.emit("}")
        return local

    def source(self):
        r = self.rng.random()
        if r < 0.3:
            return self.data_arg()
        if r < 0.55:
            return self.view_of_argument()
        if r < 0.7:
            return self.if_of()
        return self.local_tensor()

    # -- chains -------------------------------------------------------------

    def bn(self, x, eps):
        y, m, v = self.fresh("y"), self.fresh("m"), self.fresh("var")
        scale = ""
        if self.rng.random() < 0.85:
            g = self.arg(self.C)
            b = self.arg(self.C)
            scale = f" scale {g} offset {b}"
        else:
            g = None
        self.emit(f"{y}, {m}, {v} = iabn.batch_norm_train {x}{scale} "
                  f"{{epsilon = {fmt(eps)} : f64, feature_dim = {self.fd} : "
                  f"i64}} : {self.T}, {self.C}")
        return y, m, v, g

    def chain(self, x, with_backward, dz=None):
        """One BN -> activation chain on x (and its backward). Returns z."""
        act, param = self.rng.choice(ACTIVATIONS)
        attr = f"<{act}>" if param is None else f"<{act}, {fmt(param)}>"
        eps = 0.0 if self.rng.random() < 0.05 else \
            self.rng.choice([1e-5, 1e-3])
        y, m, v, g = self.bn(x, eps)
        z = self.fresh("z")
        self.emit(f"{z} = iabn.activation {attr} {y} : {self.T}")
        if self.rng.random() < 0.2 and not self.in_loop:
            # running statistics
            rm, rv = self.arg(self.C), self.arg(self.C)
            nm, nv = self.fresh("rm"), self.fresh("rv")
            samples = 1
            for i, d in enumerate(self.shape):
                if i != self.fd:
                    samples *= d
            if not self.dynamic:
                self.emit(f"{nm}, {nv} = iabn.running_stats_update {rm}, {rv}, "
                          f"{m}, {v} {{momentum = 1.000000e-01 : f64, "
                          f"sample_count = {samples} : i64}} : {self.C}")
                self.results += [(nm, self.C), (nv, self.C)]
        if self.rng.random() < 0.1 and not self.in_loop:
            # y read by something else: the chain is not rewritten.
            w = self.binary("add", y, y)
            self.results.append((w, self.T))
        if with_backward:
            if dz is None:
                dz = self.gradient()
            from_output = act not in NEEDS_INPUT and self.rng.random() < (
                0.5 if act in ("relu", "relu6") else 0.8)
            src = f"{z} {{self_is_result}}" if from_output else y
            dy = self.fresh("dy")
            self.emit(f"{dy} = iabn.activation_grad {attr} {dz}, {src} : "
                      f"{self.T}")
            dx, dg, db = self.fresh("dx"), self.fresh("dg"), self.fresh("db")
            scale = f" scale {g}" if g else ""
            self.emit(f"{dx}, {dg}, {db} = iabn.batch_norm_train_grad {dy}, "
                      f"{x}{scale} stats({m}, {v}) {{epsilon = {fmt(eps)} : "
                      f"f64, feature_dim = {self.fd} : i64}} : {self.T}, "
                      f"{self.C}")
            self.results += [(dx, self.T), (dg, self.C), (db, self.C)]
            if self.rng.random() < 0.3:
                # z read by the backward (like the next layer's weight
                # gradient): store-y recomputes it there.
                w = self.binary("mul", z, dz)
                self.results.append((w, self.T))
        return z

    def gradient(self):
        r = self.rng.random()
        if r < 0.6:
            attrs = "{iabn.gradient}" if self.rng.random() < 0.8 else \
                "{bufferization.writable = true, iabn.gradient}"
            return self.arg(self.T, attrs)
        if r < 0.8:
            return self.view_of_argument()
        # computed in the backward
        a = self.arg(self.T, "{iabn.gradient}")
        return self.binary("mul", a, a)

    def loop_chain(self):
        """A forward-only chain inside scf.for, x carried by the loop."""
        init = self.source()
        lb, ub, st = self.fresh("lb"), self.fresh("ub"), self.fresh("st")
        self.emit(f"{lb} = arith.constant 0 : index")
        self.emit(f"{ub} = arith.constant {self.rng.choice([1, 2, 3])} : index")
        self.emit(f"{st} = arith.constant 1 : index")
        r, iv, it = self.fresh("loop"), self.fresh("i"), self.fresh("it")
        self.emit(f"{r} = scf.for {iv} = {lb} to {ub} step {st} "
                  f"iter_args({it} = {init}) -> ({self.T}) {{")
        saved = self.lines
        self.lines = []
        self.in_loop = True
        z = self.chain(it, with_backward=False)
        self.in_loop = False
        body = self.lines
        self.lines = saved
        for line in body:
            self.lines.append("  " + line)
        if self.rng.random() < 0.5:
            self.emit(f"  scf.yield {z} : {self.T}")
        else:
            # yield a fresh tensor computed from z (not equivalent to the
            # iteration argument).
            s = self.binary("add", z, it, indent="  ")
            self.emit(f"  scf.yield {s} : {self.T}")
        self.emit("}")
        self.results.append((r, self.T))
        if self.rng.random() < 0.3:
            # the loop's initial value is read after the loop
            self.results.append((init, self.T))

    def build(self):
        pattern = self.rng.random()
        if pattern < 0.15:
            self.loop_chain()
        else:
            x = self.source()
            layers = self.rng.choice([1, 1, 2, 3])
            backward = self.rng.random() < 0.8
            shared = self.rng.random() < 0.1
            zs = []
            for k in range(layers):
                z = self.chain(x, backward)
                zs.append(z)
                if shared and k == 0:
                    # a second batch norm on the same x
                    z2 = self.chain(x, backward)
                    self.results.append((z2, self.T))
                if self.rng.random() < 0.3:
                    # residual: x read after its batch norm
                    z = self.binary("add", z, x)
                x = z
            if self.rng.random() < 0.7:
                self.results.append((zs[-1], self.T))
            if not self.results:
                self.results.append((x, self.T))
        args = ", ".join(f"{n}: {t}" + (f" {a}" if a else "")
                         for n, t, a in self.args)
        rets = ", ".join(t for _, t in self.results)
        vals = ", ".join(v for v, _ in self.results)
        return (f"func.func @{self.name}({args}) -> ({rets}) {{\n"
                + "\n".join(self.lines)
                + f"\n  return {vals} : {rets}\n}}\n")


def generate(seed, count):
    rng = random.Random(seed)
    return [Graph(rng, f"g{seed}_{i}").build() for i in range(count)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--keep", default=None)
    parser.add_argument("--passes", default="--iabn-pipeline",
                        help="the rewrite under test (space-separated "
                             "iabn-opt options)")
    args = parser.parse_args()
    keep = args.keep or tempfile.mkdtemp(prefix="iabn-random-")
    os.makedirs(keep, exist_ok=True)
    start = time.time()
    graphs = generate(args.seed, args.count)
    report = diffexec.Report()
    rewrites = {"fused": 0, "store-y": 0, "recompute": 0}
    for b in range(0, len(graphs), args.batch):
        source = "\n".join(graphs[b:b + args.batch])
        label = f"seed{args.seed}_batch{b // args.batch}"
        failures = len(report.failures)
        skipped = len(report.skipped)
        diffexec.differential(source, label, report, seed=args.seed,
                              passes=args.passes.split())
        rewritten = diffexec.run_tool([diffexec.ic._tool("IABN_OPT"), "-",
                                       *args.passes.split()], source)
        rewrites["store-y"] += rewritten.stderr.count("remark: store-y:")
        rewrites["fused"] += rewritten.stdout.count("iabn.inplace_abn ")
        rewrites["recompute"] += rewritten.stdout.count(
            "iabn.batch_norm_inference")
        if len(report.failures) > failures or len(report.skipped) > skipped:
            path = os.path.join(keep, f"{label}.mlir")
            with open(path, "w") as f:
                f.write(source)
            print(f"kept {path}")
    print(f"random graphs: seed {args.seed}, {len(graphs)} graphs, "
          f"{report.executed} executed before and after the rewrite, "
          f"{rewrites['fused']} chains fused ({rewrites['store-y']} of them "
          f"store-y), {rewrites['recompute']} recomputed, "
          f"{time.time() - start:.0f} s")
    for element, err in sorted(report.worst.items()):
        print(f"  worst relative difference {element}: {err:.3g}")
    for name, reason in sorted(report.skipped.items()):
        print(f"skipped {name}: {reason}")
    for failure in report.failures:
        print("FAIL:", failure)
    ok = not report.failures and not report.skipped and \
        report.executed == len(graphs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
