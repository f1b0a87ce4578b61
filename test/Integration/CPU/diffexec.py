"""Differential execution of training graphs: the original graph and the
InPlace-ABN-rewritten one are lowered through the CPU pipeline, run on the
same random inputs, and compared. Shared by check_differential.py (every
training function of test/ and examples/) and random_graphs.py (generated
graphs).

What a comparison asserts, per function:
  * the rewritten graph lowers wherever the original does;
  * every output (returned values, and memref arguments the function writes
    through an explicit contract) equals the original's within the dtype's
    tolerance;
  * no tensor argument is modified by the rewritten graph unless the
    function's contract allows it (`bufferization.writable = true` on the
    argument) or the original graph modifies it too.

Tools come from the environment (set by lit): IABN_OPT, MLIR_TRANSLATE, CLANG.
"""

import ctypes
import os
import re
import subprocess
import tempfile
import zlib

import numpy as np

import iabn_cpu as ic

# Worst allowed relative error between the original and the rewritten graph
# (max |a - b| / max(1, max |a|)). The rewrite reorders the arithmetic of the
# backward (it recovers x_hat from z), so the tolerance is the dtype's.
TOLERANCE = {"f64": 1e-9, "f32": 2e-4, "f16": 3e-2, "bf16": 1.5e-1,
             "i1": 0, "i32": 0, "i64": 0, "index": 0}

SCALAR_CTYPES = {"f32": ctypes.c_float, "f64": ctypes.c_double,
                 "i1": ctypes.c_bool, "i32": ctypes.c_int32,
                 "i64": ctypes.c_int64, "index": ctypes.c_int64}
ELEMENT_DTYPES = {"f16": np.float16, "bf16": np.uint16, "f32": np.float32,
                  "f64": np.float64, "i1": np.bool_, "i32": np.int32,
                  "i64": np.int64, "index": np.int64}


# ---------------------------------------------------------------------------
# Parsing the printed form of functions
# ---------------------------------------------------------------------------

class Type:
    """A parsed tensor, memref or scalar type."""

    def __init__(self, text):
        self.text = text.strip()
        m = re.fullmatch(r"(tensor|memref)<(.*)>", self.text)
        if m:
            self.kind = m.group(1)
            body = m.group(2)
            if "," in body:  # layouts and encodings are not supported
                self.kind = "unsupported"
                return
            parts = body.split("x")
            self.element = parts[-1]
            self.shape = [None if p == "?" else int(p) for p in parts[:-1]]
        elif self.text in SCALAR_CTYPES or self.text in ("f16", "bf16"):
            self.kind, self.element, self.shape = "scalar", self.text, []
        else:
            self.kind = "unsupported"

    @property
    def shaped(self):
        return self.kind in ("tensor", "memref")

    @property
    def supported(self):
        if self.kind == "scalar":
            return self.element in SCALAR_CTYPES
        return self.kind != "unsupported" and self.element in ELEMENT_DTYPES

    def __repr__(self):
        return self.text


def split_top(text, sep=","):
    """Splits `text` at `sep` outside (), <>, [], {} and quotes."""
    depth, out, cur, quoted = 0, [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if not quoted:
            if ch in "(<[{":
                depth += 1
            elif ch in ")>]}":
                depth -= 1
        if ch == sep and depth == 0 and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


def matching(text, start):
    """Index of the bracket closing the one at `start`."""
    pairs = {"(": ")", "<": ">", "[": "]", "{": "}"}
    stack, quoted = [], False
    for i in range(start, len(text)):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        if quoted:
            continue
        if ch in pairs:
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                return i
    raise ValueError("unbalanced brackets")


class Function:
    def __init__(self, name, args, results, external, attrs_text):
        self.name, self.args, self.results = name, args, results
        self.external, self.attrs_text = external, attrs_text

    def arg_writable(self, i):
        return "bufferization.writable = true" in self.args[i][1]


def parse_functions(module):
    """Functions of a printed module (iabn-opt output): name, argument types
    with their attribute text, result types, external or not."""
    functions = []
    for m in re.finditer(r"func\.func (?:(?:private|public|nested) )?@([\w$.]+)\(",
                         module):
        open_paren = m.end() - 1
        close = matching(module, open_paren)
        args = []
        for arg in split_top(module[open_paren + 1:close]):
            arg = arg.strip()
            arg = re.sub(r"^%[\w$.]+:\s*", "", arg)
            attrs = ""
            brace = arg.find("{")
            if brace >= 0 and not arg.startswith("{"):
                attrs = arg[brace:]
                arg = arg[:brace]
            args.append((Type(arg), attrs))
        rest = module[close + 1:]
        results = []
        r = re.match(r"\s*->\s*", rest)
        pos = 0
        if r:
            pos = r.end()
            if rest[pos] == "(":
                end = matching(rest, pos)
                results = [Type(re.sub(r"\{.*\}", "", t))
                           for t in split_top(rest[pos + 1:end])]
                pos = end + 1
            else:
                t = re.match(r"[^\s{]+(<[^\n]*?>)?", rest[pos:])
                text = rest[pos:pos + t.end()]
                # Balance a tensor<...> type.
                if "<" in text:
                    end = matching(rest, pos + text.index("<"))
                    text = rest[pos:end + 1]
                results = [Type(text)]
                pos += len(text)
        tail = rest[pos:pos + 400]
        line_end = tail.find("\n")
        header_tail = tail[:line_end if line_end >= 0 else len(tail)]
        external = not header_tail.rstrip().endswith("{")
        functions.append(Function(m.group(1), args, results, external,
                                  header_tail))
    return functions


# ---------------------------------------------------------------------------
# Stand-in bodies for external functions
# ---------------------------------------------------------------------------

def _map(rank, results):
    dims = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({dims}) -> ({results})>"


def iterators(rank, kind):
    return ", ".join([f'"{kind}"'] * rank)


def stub_body(fn):
    """An MLIR body for the external function `fn`: every result is a
    deterministic function of all tensor operands (their sum) and of the
    element index, so that a corrupted operand changes the results. Returns
    None when a type is not supported."""
    if not all(t.supported and t.kind in ("tensor", "scalar")
               for t, _ in fn.args) or \
            not all(t.supported and t.kind == "tensor" for t in fn.results):
        return None
    if any(None in t.shape for t in fn.results):
        return None
    lines = ["  %zero = arith.constant 0.0 : f64", "  %s0 = arith.constant 0.0 : f64"]
    total = "%s0"
    for i, (t, _) in enumerate(fn.args):
        if t.kind != "tensor" or t.element not in ("f16", "bf16", "f32", "f64"):
            continue
        rank = len(t.shape)
        if rank == 0:
            lines.append(f"  %v{i}a = tensor.extract %a{i}[] : {t.text}")
        else:
            lines.append(f"  %e{i} = tensor.empty() : tensor<f64>")
            lines.append(f"  %f{i} = linalg.fill ins(%zero : f64) outs(%e{i} : tensor<f64>) -> tensor<f64>")
            dims = ", ".join(f"d{k}" for k in range(rank))
            lines.append(
                f"  %r{i} = linalg.generic {{indexing_maps = [{_map(rank, dims)}, {_map(rank, '')}], "
                f"iterator_types = [{iterators(rank, 'reduction')}]}} "
                f"ins(%a{i} : {t.text}) outs(%f{i} : tensor<f64>) {{\n"
                f"  ^bb0(%in: {t.element}, %acc: f64):\n"
                + ("    %w = arith.addf %acc, %in : f64\n" if t.element == "f64" else
                   f"    %x = arith.extf %in : {t.element} to f64\n"
                   "    %w = arith.addf %acc, %x : f64\n")
                + "    linalg.yield %w : f64\n  } -> tensor<f64>")
            lines.append(f"  %v{i}a = tensor.extract %r{i}[] : tensor<f64>")
        if t.element == "f64" or rank > 0:
            lines.append(f"  %v{i} = arith.addf {total}, %v{i}a : f64")
        else:
            lines.append(f"  %v{i}b = arith.extf %v{i}a : {t.element} to f64")
            lines.append(f"  %v{i} = arith.addf {total}, %v{i}b : f64")
        total = f"%v{i}"
    lines.append("  %k = arith.constant 1.0e-03 : f64")
    lines.append(f"  %phase = arith.mulf {total}, %k : f64")
    names = []
    for j, t in enumerate(fn.results):
        rank = len(t.shape)
        dims = ", ".join(f"d{k}" for k in range(rank))
        body = []
        lin = None
        for k in range(rank):
            body.append(f"    %i{k} = linalg.index {k} : index")
            body.append(f"    %c{k} = arith.constant {k + 3} : index")
            body.append(f"    %m{k} = arith.muli %i{k}, %c{k} : index")
            if lin is None:
                lin = f"%m{k}"
            else:
                body.append(f"    %l{k} = arith.addi {lin}, %m{k} : index")
                lin = f"%l{k}"
        if lin is None:
            body.append("    %l = arith.constant 1 : index")
            lin = "%l"
        body.append(f"    %n = arith.index_cast {lin} : index to i64")
        body.append("    %fl = arith.sitofp %n : i64 to f64")
        body.append(f"    %sc = arith.constant {0.37 + 0.11 * j} : f64")
        body.append("    %t0 = arith.mulf %fl, %sc : f64")
        body.append("    %t = arith.addf %t0, %phase : f64")
        body.append("    %sn = math.sin %t : f64")
        if t.element == "f64":
            body.append("    linalg.yield %sn : f64")
        elif t.element == "bf16":
            body.append("    %s32 = arith.truncf %sn : f64 to f32")
            body.append("    %o = arith.truncf %s32 : f32 to bf16")
            body.append("    linalg.yield %o : bf16")
        elif t.element in ("f16", "f32"):
            body.append(f"    %o = arith.truncf %sn : f64 to {t.element}")
            body.append(f"    linalg.yield %o : {t.element}")
        else:
            return None
        lines.append(f"  %out{j}e = tensor.empty() : {t.text}")
        lines.append(
            f"  %out{j} = linalg.generic {{indexing_maps = [{_map(rank, dims)}], "
            f"iterator_types = [{iterators(rank, 'parallel')}]}} "
            f"outs(%out{j}e : {t.text}) {{\n  ^bb0(%o_in: {t.element}):\n"
            + "\n".join(body) + f"\n  }} -> {t.text}")
        names.append(f"%out{j}")
    if names:
        lines.append(f"  return {', '.join(names)} : "
                     f"{', '.join(t.text for t in fn.results)}")
    else:
        lines.append("  return")
    args = ", ".join(f"%a{i}: {t.text}" for i, (t, _) in enumerate(fn.args))
    results = ", ".join(t.text for t in fn.results)
    return (f"func.func private @{fn.name}({args}) -> ({results}) {{\n"
            + "\n".join(lines) + "\n}")


def make_executable(module):
    """Gives every external function of the printed `module` a stand-in body
    (see stub_body). Returns (module text, names of external functions that
    could not be given one)."""
    missing = []
    for fn in parse_functions(module):
        if not fn.external:
            continue
        body = stub_body(fn)
        if body is None:
            missing.append(fn.name)
            continue
        pattern = re.compile(r"func\.func private @" + re.escape(fn.name)
                             + r"\(.*?\n", re.S)
        m = pattern.search(module)
        # The declaration ends at the end of its line.
        module = module[:m.start()] + body + "\n" + module[m.end():]
    return module, missing


# ---------------------------------------------------------------------------
# Compilation
# ---------------------------------------------------------------------------

def run_tool(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True)


def canonical(source):
    """The module as iabn-opt prints it, or (None, error)."""
    result = run_tool([ic._tool("IABN_OPT"), "-", "--mlir-print-op-generic=false"],
                      source)
    if result.returncode != 0:
        return None, result.stderr
    return result.stdout, ""


def compile_shared(module, passes, workdir, tag):
    """Lowers `module` with `passes` + the CPU pipeline into a loaded shared
    library. Returns (library, error text)."""
    lowered = run_tool([ic._tool("IABN_OPT"), "-", *passes,
                        "--llvm-request-c-wrappers", "--iabn-cpu-pipeline"],
                       module)
    if lowered.returncode != 0:
        return None, "lowering failed: " + lowered.stderr.strip()[-2000:]
    ll = os.path.join(workdir, f"{tag}.ll")
    so = os.path.join(workdir, f"{tag}.so")
    translated = run_tool([ic._tool("MLIR_TRANSLATE"), "--mlir-to-llvmir",
                           "-o", ll], lowered.stdout)
    if translated.returncode != 0:
        return None, ("iabn-cpu-pipeline exited 0 but mlir-translate failed: "
                      + translated.stderr.strip()[-2000:])
    # memref.copy of strided views calls memrefCopy (MLIR's C runner utils).
    utils = os.path.join(os.path.dirname(os.path.realpath(
        ic._tool("MLIR_TRANSLATE"))), "..", "lib")
    built = run_tool([ic._tool("CLANG"), "-O1", "-shared", "-fPIC", "-w", ll,
                      "-o", so, "-lm", f"-L{utils}", "-lmlir_c_runner_utils",
                      # Calls bind inside the library: a graph function
                      # named like a libc symbol (step) must not resolve
                      # to libc.
                      "-Wl,-Bsymbolic",
                      f"-Wl,-rpath,{os.path.realpath(utils)}"])
    if built.returncode != 0:
        return None, "clang failed: " + built.stderr.strip()[-2000:]
    return ctypes.CDLL(so), ""


# ---------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------

_DESCRIPTORS = {}


def descriptor_type(rank):
    if rank not in _DESCRIPTORS:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _DESCRIPTORS[rank] = type(f"MemRef{rank}D", (ctypes.Structure,),
                                  {"_fields_": fields})
    return _DESCRIPTORS[rank]


def make_descriptor(array):
    desc = descriptor_type(array.ndim)()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    for i in range(array.ndim):
        desc.sizes[i] = array.shape[i]
        desc.strides[i] = array.strides[i] // array.itemsize
    return desc


def read_descriptor(desc, t):
    """Copies the memref that `desc` describes into a new array."""
    dtype = np.dtype(ELEMENT_DTYPES[t.element])
    rank = len(t.shape)
    sizes = [desc.sizes[i] for i in range(rank)] if rank else []
    strides = [desc.strides[i] for i in range(rank)] if rank else []
    if any(s == 0 for s in sizes):
        return np.zeros(sizes, dtype)
    span = 1 + sum((s - 1) * st for s, st in zip(sizes, strides))
    address = desc.aligned + desc.offset * dtype.itemsize
    raw = (ctypes.c_char * (span * dtype.itemsize)).from_address(address)
    flat = np.frombuffer(bytes(raw), dtype=dtype)
    view = np.lib.stride_tricks.as_strided(
        flat, shape=sizes, strides=[st * dtype.itemsize for st in strides])
    return np.array(view)


def random_array(t, shape, rng):
    if len(shape) == 1 and t.element in ("f32", "f64"):
        # Per-channel values (gamma, beta, running statistics): magnitudes in
        # [0.5, 1.5] with random signs. The recovery of x_hat from z divides
        # by gamma, so a tiny |gamma| amplifies rounding (docs/numerics.md);
        # that regime is measured there, not here.
        return np.ascontiguousarray(
            (rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)).astype(
                ELEMENT_DTYPES[t.element]))
    if t.element in ("f16", "f32", "f64"):
        return np.ascontiguousarray(rng.normal(0.3, 1.5, shape).astype(
            ELEMENT_DTYPES[t.element]))
    if t.element == "bf16":
        return np.ascontiguousarray(ic.to_bf16_bits(rng.normal(0.3, 1.5, shape)))
    if t.element == "i1":
        return np.ascontiguousarray(rng.integers(0, 2, shape).astype(np.bool_))
    return np.ascontiguousarray(rng.integers(1, 4, shape).astype(
        ELEMENT_DTYPES[t.element]))


def make_inputs(fn, rng, dynamic_size=4):
    """Random inputs for `fn`: arrays for shaped arguments (dynamic extents
    become `dynamic_size`), Python scalars otherwise; None if unsupported."""
    inputs = []
    for t, _ in fn.args:
        if not t.supported:
            return None
        if t.shaped:
            shape = [dynamic_size if d is None else d for d in t.shape]
            inputs.append(random_array(t, shape, rng))
        elif t.element == "i1":
            inputs.append(bool(rng.integers(0, 2)))
        elif t.element in ("index", "i32", "i64"):
            # Often a size: at least 2, so that a training batch norm over a
            # dynamic dimension has more than one value per channel (its
            # run-time check would abort the whole harness).
            inputs.append(int(rng.integers(2, 5)))
        else:
            inputs.append(float(rng.normal()))
    return inputs


def call(lib, fn, inputs):
    """Calls `_mlir_ciface_<fn>` on copies of `inputs`. Returns (outputs,
    arguments after the call): outputs are the results followed by the
    memref arguments' final contents."""
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in inputs]
    c_args = []
    keep = []
    for (t, _), a in zip(fn.args, args):
        if t.shaped:
            d = make_descriptor(a)
            keep.append(d)
            c_args.append(ctypes.byref(d))
        else:
            c_args.append(SCALAR_CTYPES[t.element](a))
    result_types = fn.results
    scalar_result = len(result_types) == 1 and not result_types[0].shaped
    ret = None
    if result_types and not scalar_result:
        # Results come back through a pointer to a struct of them.
        fields = [(f"r{i}", descriptor_type(len(t.shape)) if t.shaped
                   else SCALAR_CTYPES[t.element])
                  for i, t in enumerate(result_types)]
        ret = type("Results", (ctypes.Structure,), {"_fields_": fields})()
    f = getattr(lib, f"_mlir_ciface_{fn.name}")
    if scalar_result:
        f.restype = SCALAR_CTYPES[result_types[0].element]
        value = f(*c_args)
        outputs = [np.asarray(value)]
    else:
        f.restype = None
        if ret is not None:
            f(ctypes.byref(ret), *c_args)
        else:
            f(*c_args)
        outputs = []
        for i, t in enumerate(result_types):
            field = getattr(ret, f"r{i}")
            outputs.append(read_descriptor(field, t) if t.shaped
                           else np.asarray(field))
    for (t, _), a in zip(fn.args, args):
        if t.kind == "memref":
            outputs.append(a.copy())
    return outputs, args


def as_float(a, element):
    if element == "bf16":
        return ic.from_bf16_bits(a).astype(np.float64)
    return np.asarray(a).astype(np.float64)


def compare(a, b, element):
    """Relative difference of two outputs (0 when equal; inf when a value is
    finite in one and not in the other)."""
    x, y = as_float(a, element), as_float(b, element)
    if x.shape != y.shape:
        return float("inf")
    if x.size == 0:
        return 0.0
    fx, fy = np.isfinite(x), np.isfinite(y)
    if not np.array_equal(fx, fy):
        return float("inf")
    if not fx.any():
        return 0.0
    scale = max(1.0, float(np.max(np.abs(x[fx]))))
    return float(np.max(np.abs(x[fx] - y[fx]))) / scale


class Report:
    """Counts and failures of a differential run."""

    def __init__(self):
        self.functions = 0
        self.executed = 0
        self.skipped = {}
        self.failures = []
        self.worst = {}

    def skip(self, name, reason):
        self.skipped[name] = reason

    def fail(self, name, message):
        self.failures.append(f"{name}: {message}")


def output_elements(fn):
    elements = [t.element for t in fn.results]
    elements += [t.element for t, _ in fn.args if t.kind == "memref"]
    return elements


def differential(source, label, report, seed=0, passes=("--iabn-pipeline",),
                 workdir=None, trials=2):
    """Runs every non-external function of `source` before and after
    `passes`, on `trials` sets of random inputs each; records the outcome in
    `report`. Returns the number of functions executed."""
    workdir = workdir or tempfile.mkdtemp(prefix="iabn-diff-")
    module, error = canonical(source)
    if module is None:
        report.skip(label, "does not parse/verify")
        return 0
    declared = {f.name for f in parse_functions(module) if f.external}
    module, missing = make_executable(module)
    functions = [f for f in parse_functions(module)
                 if not f.external and f.name not in declared]
    report.functions += len(functions)
    tag = re.sub(r"\W", "_", label)[-60:]
    original, error = compile_shared(module, [], workdir, tag + "_orig")
    if original is None:
        report.skip(label, "the original graph does not lower: "
                    + error.splitlines()[-1][:300] if error else "")
        return 0
    rewritten, error = compile_shared(module, list(passes), workdir,
                                      tag + "_iabn")
    if rewritten is None:
        report.fail(label, "the original lowers, the rewritten does not: "
                    + error)
        return 0
    executed = 0
    for fn in functions:
        name = f"{label}:@{fn.name}"
        rng = np.random.default_rng(seed + zlib.crc32(name.encode()))
        ok = True
        for _ in range(trials):
            inputs = make_inputs(fn, rng)
            if inputs is None or not all(t.supported for t in fn.results):
                report.skip(name, "unsupported argument or result type")
                ok = False
                break
            out_a, args_a = call(original, fn, inputs)
            out_b, args_b = call(rewritten, fn, inputs)
            for i, ((t, _), before, after_a, after_b) in enumerate(
                    zip(fn.args, inputs, args_a, args_b)):
                if t.kind != "tensor":
                    continue
                changed_b = not np.array_equal(before.view(np.uint8),
                                               after_b.view(np.uint8))
                changed_a = not np.array_equal(before.view(np.uint8),
                                               after_a.view(np.uint8))
                if changed_b and not changed_a and not fn.arg_writable(i):
                    report.fail(name, f"the rewritten graph wrote argument "
                                f"#{i} ({t.text}), which the original graph "
                                "leaves intact and the contract does not let "
                                "it write")
                    ok = False
            # Per-channel f32 results of an f16/bf16 graph carry the data's
            # rounding: the tolerance is that of the least precise float type
            # the function touches.
            floats = [t.element for t, _ in fn.args] + \
                [t.element for t in fn.results]
            floats = [e for e in floats if e in ("f16", "bf16", "f32", "f64")]
            precision = max(floats, key=lambda e: TOLERANCE[e]) if floats \
                else None
            for k, (element, a, b) in enumerate(zip(output_elements(fn),
                                                    out_a, out_b)):
                err = compare(a, b, element)
                key = precision if element in ("f32", "f64") and precision \
                    else element
                tolerance = max(TOLERANCE[element], TOLERANCE[key])
                report.worst[key] = max(report.worst.get(key, 0.0), err)
                if not err <= tolerance:
                    report.fail(name, f"output #{k} ({element}) differs: "
                                f"relative error {err:.3g} > {tolerance:g}")
                    ok = False
            if not ok:
                break
        if ok:
            executed += 1
    report.executed += executed
    return executed
