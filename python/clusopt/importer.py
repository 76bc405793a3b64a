"""Imports a PyTorch model into MLIR that clusopt compiles.

    import clusopt.importer as imp
    model = imp.import_module(module, (x,))     # torch.nn.Module, inputs
    model.mlir            # func @forward: linalg/tensor/arith/math + clus
    model.parameters      # [Binding(index, name, shape, dtype, kind), ...]

The path is `torch.export` (an ATen graph), a few graph rewrites of
clusopt's own, then torch-mlir's FX importer and its torch-to-linalg
lowering (the PyPI package `torch-mlir`, pinned to TORCH_MLIR_VERSION).
torch-mlir carries its own LLVM, so the hand-over is textual IR, which
clusopt-opt (LLVM 22) parses and verifies before it is returned.

What clusopt adds on top of torch-mlir (each marked "clusopt:" below):
- Parameters, buffers and lifted constants become leading function
  arguments, bound by their `state_dict` names (torch-mlir's
  `import_frozen_program` would bake them into the IR as constants).
- `torch.ops.clusopt.*` custom ops become `clus` ops: torch-mlir imports
  them as opaque `torch.operator`s that its lowering refuses, so before
  lowering each becomes a `func.call` on builtin tensors to a private
  declaration, and after lowering each call becomes its clus op.
- PaCa's clustering step, a softmax over the token axis contracted with
  the tokens by matmul/bmm/einsum, is rewritten to clus.soft_assign +
  clus.pool on the ATen graph, so an unmodified PaCa model gets the fused
  kernel; a plain scaled_dot_product_attention becomes clus.attention.
- Every ATen op is checked against SUPPORTED_OPS before anything is
  lowered; an op outside it raises UnsupportedOpError naming the op and
  the model's source line, never a silently wrong program.
"""

import dataclasses
import importlib.metadata
import json
import math
import operator
import re
import subprocess
import tempfile

import torch

from . import kernels, toolchain
from . import ops as _ops  # noqa: F401 - registers torch.ops.clusopt.*
from .errors import (ArgumentError, ClusoptError, ImporterError,
                     UnsupportedOpError)

TORCH_MLIR_VERSION = "20261001"
# The function the imported module defines.
FUNC_NAME = "forward"

_aten = torch.ops.aten

# ATen ops (after torch-mlir's decompositions) that torch-mlir lowers to
# upstream linalg/tensor/arith/math and that the tests cover. Names are
# OpOverloadPacket names; every overload of one is accepted.
SUPPORTED_OPS = frozenset("""
    add sub mul div neg exp sqrt rsqrt pow reciprocal tanh erf sigmoid relu
    gelu clamp clamp_min clamp_max maximum minimum where abs log
    eq ne lt le gt ge logical_not logical_and logical_or all any
    mm bmm addmm baddbmm matmul linear convolution
    native_layer_norm layer_norm _softmax softmax _log_softmax
    _safe_softmax scaled_dot_product_attention
    _scaled_dot_product_flash_attention_for_cpu
    mean sum amax amin max min argmax argmin var var_mean
    view _unsafe_view reshape permute transpose t expand clone squeeze
    unsqueeze flatten unflatten cat stack slice select index_select gather
    as_strided unbind
    split_with_sizes split chunk contiguous alias detach
    _adaptive_avg_pool2d adaptive_avg_pool2d avg_pool2d
    full full_like zeros zeros_like ones ones_like empty_like arange
    empty empty_strided tril triu new_ones new_zeros new_full
    scalar_tensor _to_copy to copy lift_fresh_copy
    constant_pad_nd pad masked_fill fill
""".split())

# Primitive ops that torch's decompositions leave and torch-mlir lowers.
SUPPORTED_PRIMS = frozenset("""
    squeeze convert_element_type view_of collapse_view split_dim
    broadcast_in_dim sum var iota
""".split())

_CLUSOPT_NAMESPACE = "clusopt"


@dataclasses.dataclass(frozen=True)
class Binding:
    """One argument of the imported function."""
    index: int    # position in the function's arguments
    name: str     # state_dict key (parameters, buffers), or the input's name
    shape: tuple
    dtype: str    # torch dtype name, e.g. "float32"
    kind: str     # "parameter", "buffer", "constant" or "input"


@dataclasses.dataclass
class ImportedModule:
    """The result of `import_module`."""
    mlir: str                  # verified MLIR text, function FUNC_NAME
    func_name: str
    arguments: list            # every Binding, in argument order
    outputs: list              # (shape, dtype name) of each result
    constants: dict            # name -> tensor, for kind "constant"
    clus_ops: list             # the clus ops in the module, in order
    exported: object = dataclasses.field(repr=False, default=None)
    # Every weight (kinds parameter, buffer, constant) with its place in
    # the program's placeholders; with packed weights, `packed` maps a
    # dtype name to [(Binding, offset)] in its "weights" argument.
    weights: list = dataclasses.field(default_factory=list)
    packed: dict = dataclasses.field(default_factory=dict)

    @property
    def parameters(self):
        """Weights loaded from a state_dict or safetensors file."""
        return [b for b in self.weights if b.kind in ("parameter",
                                                      "buffer")]

    @property
    def inputs(self):
        return [b for b in self.arguments if b.kind == "input"]

    def signature_json(self):
        """The argument binding as JSON (name -> argument mapping)."""
        return json.dumps({
            "function": self.func_name,
            "torch_mlir": TORCH_MLIR_VERSION,
            "arguments": [dataclasses.asdict(b) for b in self.arguments],
            "packed": {dtype: [{"name": b.name, "offset": offset,
                                "shape": list(b.shape), "kind": b.kind}
                               for b, offset in slots]
                       for dtype, slots in self.packed.items()},
            "outputs": [{"shape": list(s), "dtype": d}
                        for s, d in self.outputs],
        }, indent=1)


# ----------------------------------------------------------------------
# torch-mlir
# ----------------------------------------------------------------------


def torch_mlir_version():
    """The installed torch-mlir's version, or None when it is absent."""
    try:
        return importlib.metadata.version("torch-mlir")
    except importlib.metadata.PackageNotFoundError:
        return None


def _require_torch_mlir():
    version = torch_mlir_version()
    if version is None:
        raise ImporterError(
            f"the importer needs torch-mlir: pip install "
            f"torch-mlir=={TORCH_MLIR_VERSION}")
    if version != TORCH_MLIR_VERSION:
        raise ImporterError(
            f"the importer is tested with torch-mlir {TORCH_MLIR_VERSION}, "
            f"found {version}: pip install torch-mlir=={TORCH_MLIR_VERSION}")


# ----------------------------------------------------------------------
# clusopt: source locations and the supported-op check
# ----------------------------------------------------------------------


def _at(node):
    """' at file:line\n    code' for `node`, or ''."""
    where = source_line(node)
    if not where:
        return ""
    place, _, code = where.partition(": ")
    return f" at {place}\n    {code}"


def source_line(node):
    """'file:line: code' of the model line that made `node`, or ''."""
    trace = node.meta.get("stack_trace") or ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in \S+\n\s*(.*)',
                        trace)
    # The last frame outside torch itself is the model's line.
    for path, line, code in reversed(frames):
        if "/torch/" not in path:
            return f"{path}:{line}: {code.strip()}"
    if frames:
        path, line, code = frames[-1]
        return f"{path}:{line}: {code.strip()}"
    return ""


def _op_name(target):
    if isinstance(target, torch._ops.OpOverload):
        return f"{target.namespace}.{target._opname}.{target._overloadname}"
    return getattr(target, "__name__", str(target))


def _check_supported(graph):
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        target = node.target
        if target is operator.getitem:
            continue
        if isinstance(target, torch._ops.OpOverload):
            if target.namespace == _CLUSOPT_NAMESPACE:
                continue
            if target.namespace == "aten" and target._opname in SUPPORTED_OPS:
                continue
            if target.namespace == "prims" and \
                    target._opname in SUPPORTED_PRIMS:
                continue
        raise UnsupportedOpError(
            f"unsupported op {_op_name(target)}{_at(node)}\n"
            f"clusopt's importer lowers the ATen ops listed in "
            f"docs/importer.md and torch.ops.clusopt.*")


# ----------------------------------------------------------------------
# clusopt: PaCa's softmax-over-tokens then matmul -> soft_assign + pool
# ----------------------------------------------------------------------

_SOFTMAX = {_aten.softmax.int, _aten._softmax.default}
_MATMUL = {_aten.matmul.default, _aten.bmm.default}
_TRANSPOSE = {_aten.transpose.int, _aten.permute.default}


def _val(node):
    return node.meta.get("val") if isinstance(node, torch.fx.Node) else None


def _is_swap_last_two(node):
    """A transpose of the last two dims of a rank-3 tensor."""
    if node.target == _aten.transpose.int:
        dims = sorted(d % 3 for d in node.args[1:3])
        return dims == [1, 2]
    return [d % 3 for d in node.args[1]] == [0, 2, 1]


def _einsum_pool_layout(spec):
    """For a two-operand einsum that is a batched Z·X (or Zᵀ·X), the axis
    of operand 0 contracted and whether operand 0 is [B, M, N] (False) or
    [B, N, M] (True); None otherwise."""
    m = re.fullmatch(r"\s*(\w{3})\s*,\s*(\w{3})\s*->\s*(\w{3})\s*", spec)
    if not m:
        return None
    a, x, out = m.groups()
    if len(set(a)) != 3 or len(set(x)) != 3:
        return None
    b, n, c = x
    if a[0] != b or out[0] != b or out[2] != c or n not in a or c in a:
        return None
    cluster = out[1]
    if a == b + cluster + n:
        return False
    if a == b + n + cluster:
        return True
    return None


def _pool_candidates(softmax):
    """(matmul node, tokens node, logits transposed?) for each use of
    `softmax` as the left operand of a batched Z·X contracting over the
    softmax axis."""
    logits = softmax.args[0]
    val = _val(logits)
    if val is None or val.dim() != 3 or not val.dtype.is_floating_point:
        return []
    if len(softmax.args) > 2 and softmax.args[2] not in (None, False) or \
            softmax.kwargs.get("dtype") is not None:
        return []  # a softmax that changes the dtype
    axis = softmax.args[1] % 3
    found = []

    def add(use, tokens, transposed):
        x, z = _val(tokens), _val(use)
        if x is None or z is None or x.dim() != 3 or x.dtype != val.dtype:
            return
        b, n = (val.shape[0], val.shape[2]) if not transposed else (
            val.shape[0], val.shape[1])
        if x.shape[0] != b or x.shape[1] != n:
            return  # broadcasting matmuls stay as they are
        if tuple(z.shape) != (b, val.shape[1 if not transposed else 2],
                              x.shape[2]):
            return
        found.append((use, tokens, transposed))

    for use in softmax.users:
        if use.target in _MATMUL and use.args[0] is softmax and axis == 2:
            add(use, use.args[1], False)
        elif use.target == _aten.einsum.default:
            spec, operands = use.args[0], use.args[1]
            layout = _einsum_pool_layout(spec)
            if (len(operands) == 2 and operands[0] is softmax
                    and layout is not None and axis == (1 if layout else 2)):
                add(use, operands[1], layout)
        elif use.target in _TRANSPOSE and _is_swap_last_two(use) \
                and axis == 1:
            for mm in use.users:
                if mm.target in _MATMUL and mm.args[0] is use:
                    add(mm, mm.args[1], True)
    return found


def rewrite_paca_pooling(graph_module):
    """Rewrites softmax-over-tokens + matmul to clusopt.soft_assign +
    clusopt.pool in an exported ATen graph; returns how many pools."""
    graph = graph_module.graph
    ops = torch.ops.clusopt
    count = 0
    for softmax in [n for n in graph.nodes if n.target in _SOFTMAX]:
        candidates = _pool_candidates(softmax)
        if not candidates:
            continue
        assigned = {}
        for use, tokens, transposed in candidates:
            if transposed not in assigned:
                with graph.inserting_after(softmax):
                    logits = softmax.args[0]
                    if transposed:
                        logits = graph.call_function(
                            _aten.transpose.int, (softmax.args[0], 1, 2))
                        logits.meta["val"] = _val(
                            softmax.args[0]).transpose(1, 2)
                        logits.meta["stack_trace"] = softmax.meta.get(
                            "stack_trace")
                    with graph.inserting_after(logits):
                        z = graph.call_function(ops.soft_assign.default,
                                                (logits,))
                    z.meta["val"] = _val(logits).contiguous() \
                        if transposed else _val(softmax)
                    z.meta["stack_trace"] = softmax.meta.get("stack_trace")
                    assigned[transposed] = z
            with graph.inserting_before(use):
                pool = graph.call_function(
                    ops.pool.default, (assigned[transposed], tokens))
            pool.meta["val"] = _val(use)
            pool.meta["stack_trace"] = use.meta.get("stack_trace")
            use.replace_all_uses_with(pool)
            count += 1
    if count:
        graph.eliminate_dead_code()
        graph_module.recompile()
    return count


# clusopt: plain scaled_dot_product_attention -> clus.attention


def _sdpa_operands(node):
    """(q, k, v, scale) of a scaled_dot_product_attention that is exactly
    clus.attention with one [key, value] pair: no mask, dropout, causal
    mask or grouped heads, rank-4 operands of one float type, matching
    batch and heads, and at least one key. None otherwise."""
    names = ["query", "key", "value", "attn_mask", "dropout_p", "is_causal",
             "scale", "enable_gqa"]
    defaults = [None, None, None, None, 0.0, False, None, False]
    args = dict(zip(names, defaults))
    args.update(zip(names, node.args))
    args.update(node.kwargs)
    if args["attn_mask"] is not None or args["dropout_p"] != 0.0 or \
            args["is_causal"] or args["enable_gqa"]:
        return None
    q, k, v = (_val(args[n]) for n in ("query", "key", "value"))
    if any(t is None or t.dim() != 4 for t in (q, k, v)):
        return None
    if not (q.dtype == k.dtype == v.dtype) or q.dtype not in (
            torch.float32, torch.float16, torch.bfloat16):
        return None
    if q.shape[:2] != k.shape[:2] or k.shape[:3] != v.shape[:3] or \
            q.shape[3] != k.shape[3] or k.shape[2] == 0:
        return None
    scale = args["scale"]
    if scale is not None and not isinstance(scale, (int, float)):
        return None
    return args["query"], args["key"], args["value"], scale


def rewrite_attention(graph_module):
    """Rewrites plain scaled_dot_product_attention calls to
    clusopt.attention (the flash-style kernel); returns how many."""
    graph = graph_module.graph
    count = 0
    for node in [n for n in graph.nodes
                 if n.target == _aten.scaled_dot_product_attention.default]:
        operands = _sdpa_operands(node)
        if operands is None:
            continue
        q, k, v, scale = operands
        with graph.inserting_before(node):
            attention = graph.call_function(
                torch.ops.clusopt.attention.default,
                (q, [k], [v]), {"scale": scale} if scale is not None else {})
        attention.meta["val"] = _val(node)
        attention.meta["stack_trace"] = node.meta.get("stack_trace")
        node.replace_all_uses_with(attention)
        graph.erase_node(node)
        count += 1
    if count:
        graph_module.recompile()
    return count


# ----------------------------------------------------------------------
# clusopt: torch.ops.clusopt.* -> func.call -> clus ops
# ----------------------------------------------------------------------

_CALLEE_PREFIX = "__clusopt_op_"

_TORCH_TO_MLIR_ELEMENT = {
    torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
    torch.float64: "f64", torch.int32: "i32", torch.int64: "i64",
    torch.bool: "i1", torch.int8: "i8", torch.uint8: "i8", torch.int16: "i16",
}


def _tensor_type(val):
    try:
        elem = _TORCH_TO_MLIR_ELEMENT[val.dtype]
    except KeyError:
        raise ImporterError(f"unsupported element type {val.dtype}") from None
    return "tensor<" + "x".join([str(int(d)) for d in val.shape]
                                + [elem]) + ">"


def _clus_call(node):
    """(op, attrs, tensor operand nodes) of a torch.ops.clusopt call, in
    the operand order of kernels._op_text."""
    op = node.target._opname
    schema = node.target._schema
    values = {}
    for i, arg in enumerate(schema.arguments):
        if i < len(node.args):
            values[arg.name] = node.args[i]
        elif arg.name in node.kwargs:
            values[arg.name] = node.kwargs[arg.name]
        elif arg.has_default_value():
            values[arg.name] = arg.default_value
    attrs, tensors = {}, []
    for arg in schema.arguments:
        value = values.get(arg.name)
        if isinstance(value, torch.fx.Node):
            tensors.append(value)
        elif arg.name in ("keys", "values"):
            continue
        else:
            attrs[arg.name] = value
    if op == "attention":
        tensors = [values["q"]]
        for k, v in zip(values["keys"], values["values"]):
            tensors += [k, v]
    if op == "dpc_knn":
        attrs["clusters"] = list(attrs["clusters"])
    return op, attrs, tensors


def _load_torch_c(context):
    """clusopt: loads torch-mlir's torch_c dialect into `context`, which
    register_dialect does not: running a pass that depends on it on an
    empty module loads it, so ops of it can be created by name."""
    from torch_mlir import ir, passmanager
    with context:
        passmanager.PassManager.parse(
            "builtin.module(torch-func-backend-type-conversion)").run(
                ir.Module.parse("module {}").operation)


def _rewrite_custom_ops(module, graph, ir):
    """torch.operator "torch.clusopt.*" -> func.call @__clusopt_op_<i> on
    builtin tensors; returns [(op, attrs, operand types, result types)]
    per callee. The FX importer emits the ops in graph order, which pairs
    the k-th IR op with the k-th clusopt node."""
    nodes = [n for n in graph.nodes if n.op == "call_function"
             and isinstance(n.target, torch._ops.OpOverload)
             and n.target.namespace == _CLUSOPT_NAMESPACE]
    found = []

    def collect(op):
        if op.operation.name == "torch.operator" and str(
                op.attributes["name"]).strip('"').startswith(
                    "torch." + _CLUSOPT_NAMESPACE + "."):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(collect)
    if len(found) != len(nodes):
        raise ImporterError(f"expected {len(nodes)} clusopt ops in the "
                            f"imported IR, found {len(found)}")
    calls = []
    with module.context, ir.Location.unknown():
        for index, (node, op) in enumerate(zip(nodes, found)):
            name, attrs, tensors = _clus_call(node)
            expected = f"torch.clusopt.{name}"
            if str(op.attributes["name"]).strip('"') != expected:
                raise ImporterError(f"clusopt op order mismatch: "
                                    f"{op.attributes['name']} vs {expected}")
            outputs = _val(node)
            outputs = list(outputs) if isinstance(outputs, (tuple, list)) \
                else [outputs]
            arg_types = [_tensor_type(_val(t)) for t in tensors]
            res_types = [_tensor_type(v) for v in outputs]
            # Operands: tensors directly, or the elements of the
            # ListConstructs that hold attention's keys and values.
            flat = []
            for operand in op.operands:
                owner = operand.owner
                if str(operand.type).startswith("!torch.vtensor"):
                    flat.append(operand)
                elif getattr(owner, "name", "") == "torch.prim.ListConstruct":
                    flat.extend(owner.operands)
            if len(flat) != len(tensors):
                raise ImporterError(f"clusopt.{name}: {len(flat)} tensor "
                                    f"operands in the IR, {len(tensors)} in "
                                    f"the graph")
            if name == "attention":  # IR order q, k0.., v0..; ours q,k0,v0..
                pairs = (len(flat) - 1) // 2
                flat = [flat[0]] + [x for i in range(pairs)
                                    for x in (flat[1 + i],
                                              flat[1 + pairs + i])]
            callee = f"{_CALLEE_PREFIX}{index}"
            loc = op.location  # the model's line, kept on the call
            with ir.InsertionPoint(op):
                builtins = [ir.Operation.create(
                    "torch_c.to_builtin_tensor", results=[ir.Type.parse(t)],
                    operands=[v], loc=loc).result
                    for v, t in zip(flat, arg_types)]
                call = ir.Operation.create(
                    "func.call", results=[ir.Type.parse(t)
                                          for t in res_types],
                    operands=builtins, loc=loc,
                    attributes={"callee": ir.FlatSymbolRefAttr.get(callee)})
                for old, new in zip(op.results, call.results):
                    back = ir.Operation.create(
                        "torch_c.from_builtin_tensor", results=[old.type],
                        operands=[new], loc=loc)
                    old.replace_all_uses_with(back.result)
            op.erase()
            with ir.InsertionPoint(module.body):
                ftype = ir.FunctionType.get(
                    [ir.Type.parse(t) for t in arg_types],
                    [ir.Type.parse(t) for t in res_types])
                ir.Operation.create(
                    "func.func", regions=1, attributes={
                        "sym_name": ir.StringAttr.get(callee),
                        "function_type": ir.TypeAttr.get(ftype),
                        "sym_visibility": ir.StringAttr.get("private")})
            calls.append((name, attrs, arg_types, res_types))
    return calls


_CALL_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<results>%[\w.$-]+(?::\d+)?) = (?:func\.)?call "
    r"@" + _CALLEE_PREFIX + r"(?P<index>\d+)\((?P<operands>[^)]*)\) : "
    r"\((?P<types>[^)]*)\) -> .*$", re.M)
_DECL_LINE = re.compile(r"^\s*func\.func private @" + _CALLEE_PREFIX
                        + r"\d+\(.*\)(?: -> .*)?$\n?", re.M)


def _calls_to_clus(text, calls):
    """Replaces each `call @__clusopt_op_<i>` line with its clus op."""
    def replace(m):
        index = int(m.group("index"))
        name, attrs, arg_types, res_types = calls[index]
        names = [s.strip() for s in m.group("operands").split(",")]
        indent = m.group("indent")
        # Destinations: the imported graph has static shapes, so each is a
        # tensor.empty of its result type.
        outs, lines = [], []
        for j, t in enumerate(res_types):
            if "?" in t:
                raise ImporterError(f"clusopt.{name}: a result of dynamic "
                                    f"shape {t}; the importer takes static "
                                    f"shapes only")
            outs.append(f"%__clus_init{index}_{j}")
            lines.append(f"{indent}{outs[-1]} = tensor.empty() : {t}\n")
        return ("".join(lines) + f"{indent}{m.group('results')} = "
                + kernels._op_text(name, attrs, names, arg_types, outs,
                                   res_types))

    # A clusopt op whose result is unused may be gone (torch-mlir removes
    # dead code); a call left behind is an error.
    text = _CALL_LINE.sub(replace, text)
    if re.search(r"call @" + _CALLEE_PREFIX, text):
        raise ImporterError("a clusopt op call was left in the IR")
    return _DECL_LINE.sub("", text)


# ----------------------------------------------------------------------
# Lowering and verification
# ----------------------------------------------------------------------

# Dialects whose ops clusopt-compile lowers.
_UPSTREAM_DIALECTS = {"func", "linalg", "tensor", "arith", "math", "clus",
                      "builtin", "scf", "cf", "affine", "bufferization",
                      "complex"}


def _located_ops(debug_text):
    """(op name, 'file:line' or '') of every op in `debug_text` (a module
    printed with debug info, whose locations are `#loc` aliases)."""
    aliases = dict(re.findall(r"^(#loc\d*) = (loc\(.*\))$", debug_text,
                              re.M))

    def resolve(loc, depth=0):
        found = re.search(r'"([^"]+)":(\d+):\d+', loc)
        if found:
            return f"{found.group(1)}:{found.group(2)}"
        for ref in re.findall(r"#loc\d*", loc):
            if ref in aliases and depth < 8:
                where = resolve(aliases[ref], depth + 1)
                if where:
                    return where
        return ""

    out = []
    for m in re.finditer(r'^\s*(?:%[^=]+= )?"?([a-z_]+\.[\w.]+)"?[ (<{]'
                         r"(.*)$", debug_text, re.M):
        loc = re.search(r"(loc\(.*\))\s*$", m.group(2))
        out.append((m.group(1), resolve(loc.group(1)) if loc else ""))
    return out


_CONTRACT_PASS = "torch-verify-linalg-on-tensors-backend-contract"


def _linalg_pipeline(passmanager):
    """torch-mlir's torch-to-linalg pipeline without its final backend
    contract check. clusopt: the check refuses the func.calls that stand
    for clus ops; `_check_dialects` and clusopt-opt check the result
    instead."""
    full = str(passmanager.PassManager.parse(
        "builtin.module(torch-backend-to-linalg-on-tensors-backend-pipeline"
        "{allow-non-finites=true})"))
    suffix = "," + _CONTRACT_PASS + ")"
    if not full.endswith(suffix):
        raise ImporterError(f"unexpected torch-mlir pipeline (is torch-mlir "
                            f"{TORCH_MLIR_VERSION} installed?): {full}")
    return full[:-len(suffix)] + ")"


def _lower(module):
    """torch dialect -> linalg on tensors, in place. torch-mlir's errors
    become clusopt's: an op it cannot legalize is named with its source
    line (parsed from the diagnostics its MLIRError carries)."""
    from torch_mlir import passmanager
    try:
        with module.context:
            for pipeline in (
                    "builtin.module(func.func(torch-match-quantized-custom-"
                    "ops),torchdynamo-export-to-torch-backend-pipeline"
                    "{extra-library=})",
                    _linalg_pipeline(passmanager)):
                passmanager.PassManager.parse(pipeline).run(module.operation)
    except Exception as e:  # torch-mlir's MLIRError
        message = str(e)
        m = re.search(r'error: (?:loc\()?(?:"([^"]+)":(\d+):\d+\)?: )?'
                      r"failed to legalize operation '([^']+)'(.*)",
                      message)
        if m:
            op = m.group(3)
            inner = re.search(r'name = "torch\.([^"]+)"', m.group(4))
            if op == "torch.operator" and inner:
                op = inner.group(1)
            raise UnsupportedOpError(
                f"unsupported op {op}"
                + (f" at {m.group(1)}:{m.group(2)}" if m.group(1) else "")
                + ": torch-mlir cannot lower it to linalg") from None
        errors = [line.strip() for line in message.splitlines()
                  if line.strip().startswith("error:")] or [message]
        raise ImporterError(f"torch-mlir failed: {errors[0]}") from None


def _check_dialects(module):
    """clusopt: refuses ops clusopt cannot compile (torch-mlir lowers
    topk, sort, scatter_add and index_add to its own tm_tensor dialect),
    naming the op and its source line: a safety net behind
    SUPPORTED_OPS."""
    debug = module.operation.get_asm(enable_debug_info=True,
                                     large_elements_limit=16)
    bad = [(name, where) for name, where in _located_ops(debug)
           if name.split(".")[0] not in _UPSTREAM_DIALECTS]
    if bad:
        names = list(dict.fromkeys(name for name, _ in bad))
        where = next((w for _, w in bad if w), "")
        raise UnsupportedOpError(
            "unsupported op: torch-mlir lowers the op"
            + (f" at {where}" if where else "")
            + f" to {', '.join(names)}, which clusopt cannot compile")


def _name_arguments(module, arguments, packed, ir):
    """clusopt: puts each argument's binding on it in the IR, so the text
    itself says which state_dict entry or input an argument is:
    `%arg0: tensor<...> {clusopt.kind = "parameter", clusopt.name = "..."}`.
    """
    funcs = [op for op in module.body.operations
             if op.operation.name == "func.func"
             and ir.StringAttr(op.attributes["sym_name"]).value == FUNC_NAME]
    if len(funcs) != 1:
        raise ImporterError(f"expected one function @{FUNC_NAME} after "
                            f"lowering, found {len(funcs)}")
    func = funcs[0]
    count = len(ir.FunctionType(
        ir.TypeAttr(func.attributes["function_type"]).value).inputs)
    if count != len(arguments):
        raise ImporterError(f"@{FUNC_NAME} has {count} arguments, the "
                            f"program {len(arguments)}")
    with module.context:
        attrs = []
        for b in arguments:
            entry = {"clusopt.name": ir.StringAttr.get(b.name),
                     "clusopt.kind": ir.StringAttr.get(b.kind)}
            if b.kind == "weights":
                slots = packed[b.dtype]
                entry["clusopt.names"] = ir.ArrayAttr.get(
                    [ir.StringAttr.get(w.name) for w, _ in slots])
                i64 = ir.IntegerType.get_signless(64)
                entry["clusopt.offsets"] = ir.ArrayAttr.get(
                    [ir.IntegerAttr.get(i64, o) for _, o in slots])
            attrs.append(ir.DictAttr.get(entry))
        func.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)


def verify(text):
    """Parses and verifies `text` with clusopt-opt; returns its output
    (the module in clusopt-opt's printing)."""
    opt = toolchain._tool("clusopt-opt", toolchain.build_dir() / "bin")
    with tempfile.NamedTemporaryFile("w", suffix=".mlir") as f:
        f.write(text)
        f.flush()
        proc = subprocess.run([str(opt), f.name], capture_output=True,
                              text=True)
    if proc.returncode != 0:
        raise ImporterError(f"clusopt-opt rejected the imported module:\n"
                            f"{proc.stderr.strip()}")
    return proc.stdout


# ----------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------


def export(module, example_inputs, example_kwargs=None):
    """torch.export of `module` on `example_inputs` (non-strict, static
    shapes), with clusopt's errors."""
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    try:
        return torch.export.export(module, tuple(example_inputs),
                                   example_kwargs or {}, strict=False)
    except ClusoptError:
        raise
    except Exception as e:
        raise ImporterError(f"torch.export failed: {type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}"
                            ) from e


_INPUT_KINDS = {"PARAMETER": "parameter", "BUFFER": "buffer",
                "CONSTANT_TENSOR": "constant", "USER_INPUT": "input"}


def _pack_weights(graph, placeholders, arguments):
    """clusopt: replaces the weight placeholders (every kind but "input")
    by views into one flat argument per dtype, so a model with hundreds
    of weights is a function of a few arguments (a call through
    clusopt.load takes at most 24). Returns the new argument list: one
    Binding of kind "weights" per dtype, then the inputs; each weight's
    place is in `packed` (dtype name -> [(Binding, offset)])."""
    fake_mode = torch._guards.detect_fake_mode(
        [_val(n) for n in placeholders])
    first_op = next(n for n in graph.nodes if n.op != "placeholder")
    groups, packed = {}, {}
    for node, b in zip(placeholders, arguments):
        if b.kind != "input":
            groups.setdefault(b.dtype, []).append((node, b))
    blobs, nodes = [], {}
    for dtype, members in groups.items():  # before any node is erased
        total = sum(math.prod(b.shape) for _, b in members)
        with graph.inserting_before(placeholders[0]):
            nodes[dtype] = graph.placeholder(f"clusopt_weights_{dtype}")
        with fake_mode:
            nodes[dtype].meta["val"] = torch.empty(
                total, dtype=_val(members[0][0]).dtype)
        blobs.append(Binding(0, f"weights.{dtype}", (total,), dtype,
                             "weights"))
    for dtype, members in groups.items():
        blob = nodes[dtype]
        offset, slots = 0, []
        for node, b in members:
            size = math.prod(b.shape)
            with graph.inserting_before(first_op):
                piece = graph.call_function(
                    _aten.slice.Tensor, (blob, 0, offset, offset + size))
                view = graph.call_function(_aten.view.default,
                                           (piece, list(b.shape)))
            with fake_mode:
                piece.meta["val"] = blob.meta["val"][offset:offset + size]
                view.meta["val"] = piece.meta["val"].view(b.shape)
            node.replace_all_uses_with(view)
            graph.erase_node(node)
            slots.append((b, offset))
            offset += size
        packed[dtype] = slots
    inputs = [b for b in arguments if b.kind == "input"]
    new = [dataclasses.replace(b, index=i)
           for i, b in enumerate(blobs + inputs)]
    return new, packed


def import_program(program, fuse_paca=True, fuse_attention=True,
                   check=True, pack_weights=False):
    """Imports an ExportedProgram (see `import_module`)."""
    _require_torch_mlir()
    from torch_mlir import ir
    from torch_mlir.dialects import torch as torch_d
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table
    from torch_mlir.extras.fx_importer import FxImporter

    if fuse_paca:
        rewrite_paca_pooling(program.graph_module)
    if fuse_attention:
        rewrite_attention(program.graph_module)
    try:
        program = program.run_decompositions(get_decomposition_table())
    except Exception as e:
        raise ImporterError(f"decomposing the exported program failed: "
                            f"{type(e).__name__}: {e}") from e
    graph = program.graph_module.graph
    _check_supported(graph)

    # clusopt: every placeholder is an argument, bound by its name.
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    specs = program.graph_signature.input_specs
    if len(specs) != len(placeholders):
        raise ImporterError("exported program's signature does not match "
                            "its graph")
    arguments, constants = [], {}
    for index, (node, spec) in enumerate(zip(placeholders, specs)):
        kind = _INPUT_KINDS.get(spec.kind.name)
        val = _val(node)
        if kind is None or not isinstance(val, torch.Tensor):
            raise ImporterError(
                f"input '{node.name}' ({spec.kind.name}) is not a tensor; "
                f"the importer takes tensor inputs only")
        name = spec.target if kind != "input" else spec.arg.name
        if kind == "buffer" and not spec.persistent:
            kind = "constant"
            constants[name] = program.constants.get(
                name, program.state_dict.get(name))
        elif kind == "constant":
            constants[name] = program.constants[name]
        arguments.append(Binding(index, name, tuple(int(d) for d in
                                                    val.shape),
                                 str(val.dtype).removeprefix("torch."),
                                 kind))
    if not any(n.op == "output" for n in graph.nodes):
        raise ImporterError("exported graph has no output")
    output_node = next(n for n in graph.nodes if n.op == "output")
    outputs = []
    for out in output_node.args[0]:
        val = _val(out)
        if not isinstance(val, torch.Tensor):
            raise ImporterError("the importer takes models whose outputs "
                                "are tensors")
        outputs.append((tuple(int(d) for d in val.shape),
                        str(val.dtype).removeprefix("torch.")))

    weights = [b for b in arguments if b.kind != "input"]
    packed = {}
    if pack_weights and any(b.kind != "input" for b in arguments):
        arguments, packed = _pack_weights(graph, placeholders, arguments)
        graph.lint()

    context = ir.Context()
    torch_d.register_dialect(context)
    _load_torch_c(context)
    importer = FxImporter(context=context)
    importer.import_stateless_graph(graph, func_name=FUNC_NAME)
    module = importer.module
    calls = _rewrite_custom_ops(module, graph, ir)
    _lower(module)
    _check_dialects(module)
    _name_arguments(module, arguments, packed, ir)
    text = module.operation.get_asm(large_elements_limit=1 << 30)
    text = _calls_to_clus(text, calls)
    if check:
        text = verify(text)
    clus_ops = re.findall(r"\bclus\.(\w+)\b", text)
    return ImportedModule(mlir=text, func_name=FUNC_NAME,
                          arguments=arguments, outputs=outputs,
                          constants=constants, clus_ops=clus_ops,
                          weights=weights, packed=packed,
                          exported=program)


def import_module(module, example_inputs, fuse_paca=True,
                  fuse_attention=True, check=True, pack_weights=False):
    """Imports `module` (a torch.nn.Module in eval mode, or an
    ExportedProgram) traced on `example_inputs` (a tensor or a tuple).

    Returns an ImportedModule: `mlir` holds `func.func @forward(params...,
    inputs...) -> results` in linalg/tensor/arith/math + clus ops,
    verified by clusopt-opt (check=False skips that); `arguments` maps
    each argument to its state_dict name or input. `fuse_paca` rewrites
    PaCa's softmax-over-tokens + matmul to clus.soft_assign + clus.pool;
    `fuse_attention` a plain scaled_dot_product_attention (no mask,
    dropout or causal mask) to clus.attention. `pack_weights` passes the
    weights as one flat argument per dtype (kind "weights"; each weight's
    offset in `packed` and in the argument's attributes) instead of one
    argument each.

    Raises UnsupportedOpError for an op outside SUPPORTED_OPS (naming it
    and its source line), ImporterError when torch.export or torch-mlir
    fails, ArgumentError for bad arguments.
    """
    if isinstance(module, torch.export.ExportedProgram):
        return import_program(module, fuse_paca=fuse_paca,
                              fuse_attention=fuse_attention, check=check,
                              pack_weights=pack_weights)
    if not isinstance(module, torch.nn.Module):
        raise ArgumentError(f"import_module: expected a torch.nn.Module or "
                            f"ExportedProgram, got {type(module).__name__}")
    if module.training:
        raise ArgumentError("import_module: the module is in training mode; "
                            "call .eval() first (the importer compiles "
                            "inference)")
    program = export(module, example_inputs)
    return import_program(program, fuse_paca=fuse_paca,
                          fuse_attention=fuse_attention, check=check,
                          pack_weights=pack_weights)
