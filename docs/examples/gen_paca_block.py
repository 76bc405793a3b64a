#!/usr/bin/env python3
"""Writes docs/examples/paca_block.mlir: one PaCa-ViT block in IR.

    python3 docs/examples/gen_paca_block.py            # rewrites the file
    python3 docs/examples/gen_paca_block.py --check    # exit 1 if stale
    python3 docs/examples/gen_paca_block.py -o - --block 2:28x28   # others

The block is the one docs/models.md describes (a block after the first of
a stage with clusters: it takes the stage's cluster logits), written as
torch-mlir writes a PyTorch module: named linalg ops where one exists
(matmul, transpose, depthwise_conv_2d_nhwc_hwc, fill), linalg.generic for
elementwise maps and row reductions, tensor reshapes and pads, and the
`clus` ops for the clustering and the attention. The file has paca_tiny's
stage 1 and stage 3 blocks at 224 x 224; the batch is dynamic, the token
grid static (an expand_shape with two dynamic sizes in one group, as a
dynamic H x W grid needs, crashes MLIR 22's expand-strided-metadata).

`--gelu tanh` writes GELU's tanh approximation instead of the exact erf
form (for a compiler that cannot lower math.erf; the reference forward is
the erf form, so the difference, up to about 5e-4, shows in the check).
"""

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
OUTPUT = HERE / "paca_block.mlir"

# paca_tiny's stages with clusters: (channels, heads, clusters).
STAGES = {1: (96, 2, 100), 2: (192, 4, 100), 3: (320, 8, 100)}
# The file's blocks: (stage, height, width), paca_tiny's stages 1 and 3 for
# a 224 x 224 image.
BLOCKS_IN_FILE = ((1, 56, 56), (3, 14, 14))
MLP_RATIO = 4
EPS = 1e-6

# The block's weights, in state_dict order, with their shapes as functions
# of (C, hidden); the names are the state_dict's after "stage{i}.{j}.".
WEIGHTS = [
    ("norm1_before.weight", lambda c, h: (c,)),
    ("norm1_before.bias", lambda c, h: (c,)),
    ("attn.cluster_norm.weight", lambda c, h: (c,)),
    ("attn.cluster_norm.bias", lambda c, h: (c,)),
    ("attn.q.weight", lambda c, h: (c, c)),
    ("attn.q.bias", lambda c, h: (c,)),
    ("attn.k.weight", lambda c, h: (c, c)),
    ("attn.k.bias", lambda c, h: (c,)),
    ("attn.v.weight", lambda c, h: (c, c)),
    ("attn.v.bias", lambda c, h: (c,)),
    ("attn.proj.weight", lambda c, h: (c, c)),
    ("attn.proj.bias", lambda c, h: (c,)),
    ("norm2_before.weight", lambda c, h: (c,)),
    ("norm2_before.bias", lambda c, h: (c,)),
    ("mlp.fc1.weight", lambda c, h: (h, c)),
    ("mlp.fc1.bias", lambda c, h: (h,)),
    ("mlp.dwconv.dwconv.weight", lambda c, h: (h, 1, 3, 3)),
    ("mlp.dwconv.dwconv.bias", lambda c, h: (h,)),
    ("mlp.fc2.weight", lambda c, h: (c, h)),
    ("mlp.fc2.bias", lambda c, h: (c,)),
]


def weight_shapes(channels):
    """name -> shape of the block's weight arguments, in argument order."""
    hidden = MLP_RATIO * channels
    return {name: shape(channels, hidden) for name, shape in WEIGHTS}


def arg_name(weight):
    return "%" + weight.replace("attn.", "").replace("mlp.", "").replace(
        "dwconv.dwconv", "dw").replace(".weight", "_w").replace(
        ".bias", "_b").replace("_before", "").replace(".", "_")


def ttype(shape):
    return "tensor<" + "x".join(
        "?" if d is None else str(d) for d in shape) + "xf32>"


def f32(value):
    return f"{value:.9e} : f32"


MAP2 = "affine_map<(i, j) -> (i, j)>"
ROW2 = "affine_map<(i, j) -> (i)>"
COL2 = "affine_map<(i, j) -> (j)>"
MAP4 = "affine_map<(b, h, w, c) -> (b, h, w, c)>"
CH4 = "affine_map<(b, h, w, c) -> (c)>"


class Emitter:
    def __init__(self, gelu):
        self.lines = []
        self.gelu = gelu

    def op(self, text):
        self.lines.append("  " + text)

    def comment(self, text):
        self.lines.append("  // " + text)

    def empty(self, name, shape, dyn):
        self.op(f"{name} = tensor.empty({', '.join(dyn)}) : {ttype(shape)}")

    def zeros(self, name, shape, dyn):
        self.empty(name + "_e", shape, dyn)
        self.op(f"{name} = linalg.fill ins(%zero : f32) outs({name}_e : "
                f"{ttype(shape)}) -> {ttype(shape)}")

    def layer_norm(self, out, x, c, rows, w, b):
        """LayerNorm over the last axis of rows [R, C]: two row reductions
        (sum, then the sum of squared deviations) and one normalising map."""
        rt, mt = ttype((None,)), ttype((None, c))
        self.zeros(f"{out}_sum0", (None,), [rows])
        self.op(f"{out}_sum = linalg.generic {{indexing_maps = [{MAP2}, "
                f"{ROW2}], iterator_types = [\"parallel\", \"reduction\"]}} "
                f"ins({x} : {mt}) outs({out}_sum0 : {rt}) {{")
        self.op("  ^bb0(%in: f32, %acc: f32):")
        self.op("    %acc_next = arith.addf %in, %acc : f32")
        self.op("    linalg.yield %acc_next : f32")
        self.op(f"  }} -> {rt}")
        self.zeros(f"{out}_var0", (None,), [rows])
        self.op(f"{out}_var = linalg.generic {{indexing_maps = [{MAP2}, "
                f"{ROW2}, {ROW2}], iterator_types = [\"parallel\", "
                f"\"reduction\"]}} ins({x}, {out}_sum : {mt}, {rt}) "
                f"outs({out}_var0 : {rt}) {{")
        self.op("  ^bb0(%in: f32, %sum: f32, %acc: f32):")
        self.op(f"    %mean = arith.mulf %sum, %inv_c{c} : f32")
        self.op("    %dev = arith.subf %in, %mean : f32")
        self.op("    %dev2 = arith.mulf %dev, %dev : f32")
        self.op("    %acc_next = arith.addf %dev2, %acc : f32")
        self.op("    linalg.yield %acc_next : f32")
        self.op(f"  }} -> {rt}")
        self.empty(f"{out}_e", (None, c), [rows])
        self.op(f"{out} = linalg.generic {{indexing_maps = [{MAP2}, {ROW2}, "
                f"{ROW2}, {COL2}, {COL2}, {MAP2}], iterator_types = "
                f"[\"parallel\", \"parallel\"]}} ins({x}, {out}_sum, "
                f"{out}_var, {w}, {b} : {mt}, {rt}, {rt}, {ttype((c,))}, "
                f"{ttype((c,))}) outs({out}_e : {mt}) {{")
        self.op("  ^bb0(%in: f32, %sum: f32, %var: f32, %gamma: f32, %beta: f32, "
                "%out: f32):")
        self.op(f"    %mean = arith.mulf %sum, %inv_c{c} : f32")
        self.op(f"    %variance = arith.mulf %var, %inv_c{c} : f32")
        self.op("    %var_eps = arith.addf %variance, %eps : f32")
        self.op("    %inv_std = math.rsqrt %var_eps : f32")
        self.op("    %dev = arith.subf %in, %mean : f32")
        self.op("    %normed = arith.mulf %dev, %inv_std : f32")
        self.op("    %scaled = arith.mulf %normed, %gamma : f32")
        self.op("    %res = arith.addf %scaled, %beta : f32")
        self.op("    linalg.yield %res : f32")
        self.op(f"  }} -> {mt}")

    def linear(self, out, x, rows, cin, cout, w, b):
        """x [R, in] · Wᵀ + b with W [out, in] as PyTorch stores it: a
        matmul that reads W transposed, then a bias map."""
        xt, ot = ttype((None, cin)), ttype((None, cout))
        self.zeros(f"{out}_acc0", (None, cout), [rows])
        self.op(f"{out}_mm = linalg.matmul indexing_maps = ["
                "affine_map<(m, n, k) -> (m, k)>, "
                "affine_map<(m, n, k) -> (n, k)>, "
                "affine_map<(m, n, k) -> (m, n)>] "
                f"ins({x}, {w} : {xt}, {ttype((cout, cin))}) "
                f"outs({out}_acc0 : {ot}) -> {ot}")
        self.empty(f"{out}_e", (None, cout), [rows])
        self.op(f"{out} = linalg.generic {{indexing_maps = [{MAP2}, {COL2}, "
                f"{MAP2}], iterator_types = [\"parallel\", \"parallel\"]}} "
                f"ins({out}_mm, {b} : {ot}, {ttype((cout,))}) "
                f"outs({out}_e : {ot}) {{")
        self.op("  ^bb0(%in: f32, %bias: f32, %out: f32):")
        self.op("    %res = arith.addf %in, %bias : f32")
        self.op("    linalg.yield %res : f32")
        self.op(f"  }} -> {ot}")

    def add(self, out, a, b, shape, dyn):
        """a + b, same shapes (a residual or a shortcut)."""
        m = MAP2 if len(shape) == 2 else MAP4
        t = ttype(shape)
        par = ", ".join(['"parallel"'] * len(shape))
        self.empty(f"{out}_e", shape, dyn)
        self.op(f"{out} = linalg.generic {{indexing_maps = [{m}, {m}, {m}], "
                f"iterator_types = [{par}]}} ins({a}, {b} : {t}, {t}) "
                f"outs({out}_e : {t}) {{")
        self.op("  ^bb0(%lhs: f32, %rhs: f32, %out: f32):")
        self.op("    %res = arith.addf %lhs, %rhs : f32")
        self.op("    linalg.yield %res : f32")
        self.op(f"  }} -> {t}")

    def gelu_map(self, out, x, shape, dyn):
        t = ttype(shape)
        par = ", ".join(['"parallel"'] * len(shape))
        self.empty(f"{out}_e", shape, dyn)
        self.op(f"{out} = linalg.generic {{indexing_maps = [{MAP4}, {MAP4}], "
                f"iterator_types = [{par}]}} ins({x} : {t}) "
                f"outs({out}_e : {t}) {{")
        self.op("  ^bb0(%in: f32, %out: f32):")
        if self.gelu == "erf":
            # 0.5 · x · (1 + erf(x / sqrt(2))), as torch-mlir writes GELU.
            self.op("    %scaled = arith.mulf %in, %rsqrt2 : f32")
            self.op("    %phi = math.erf %scaled : f32")
        else:
            # 0.5 · x · (1 + tanh(sqrt(2/pi) · (x + 0.044715 x³))).
            self.op("    %sq = arith.mulf %in, %in : f32")
            self.op("    %cube = arith.mulf %sq, %in : f32")
            self.op("    %cube_c = arith.mulf %cube, %gelu_c : f32")
            self.op("    %inner = arith.addf %in, %cube_c : f32")
            self.op("    %scaled = arith.mulf %inner, %gelu_k : f32")
            self.op("    %phi = math.tanh %scaled : f32")
        self.op("    %phi1 = arith.addf %phi, %one : f32")
        self.op("    %half_x = arith.mulf %in, %half : f32")
        self.op("    %res = arith.mulf %half_x, %phi1 : f32")
        self.op("    linalg.yield %res : f32")
        self.op(f"  }} -> {t}")

    def to_heads(self, out, x, rows_shape, heads, d, tokens):
        """rows [B·T, H·D] -> [B, H, T, D]."""
        split = ttype((None, tokens, heads, d))
        self.op(f"{out}_4 = tensor.expand_shape {x} [[0, 1], [2, 3]] "
                f"output_shape [%b, {tokens}, {heads}, {d}] : "
                f"{ttype(rows_shape)} into {split}")
        self.empty(f"{out}_e", (None, heads, tokens, d), ["%b"])
        self.op(f"{out} = linalg.transpose ins({out}_4 : {split}) "
                f"outs({out}_e : {ttype((None, heads, tokens, d))}) "
                "permutation = [0, 2, 1, 3]")


def block_function(stage, height, width, gelu="erf"):
    """@paca_block_s<stage>_<height>x<width>: the block of paca_tiny's
    `stage` on a height x width token grid, for any batch."""
    c, heads, m = STAGES[stage]
    d = c // heads
    hidden = MLP_RATIO * c
    n = height * width
    e = Emitter(gelu)
    shapes = weight_shapes(c)
    x_t = ttype((None, height, width, c))
    args = [f"%x: {x_t}", f"%logits: {ttype((None, m, n))}"]
    args += [f"{arg_name(k)}: {ttype(v)}" for k, v in shapes.items()]
    head = [f"// paca_tiny stage {stage} on {height} x {width} tokens: C = {c}, "
            f"{heads} heads of {d}, M = {m} clusters, MLP hidden {hidden}.",
            f"func.func @paca_block_s{stage}_{height}x{width}("]
    head += [f"    {a}," for a in args[:-1]] + [f"    {args[-1]}) -> {x_t} {{"]
    w = {k: arg_name(k) for k in shapes}
    rows2 = (None, c)

    e.op("%zero = arith.constant 0.000000e+00 : f32")
    e.op(f"%eps = arith.constant {f32(EPS)}")
    e.op(f"%inv_c{c} = arith.constant {f32(1.0 / c)}")
    e.op(f"%one = arith.constant {f32(1.0)}")
    e.op(f"%half = arith.constant {f32(0.5)}")
    if gelu == "erf":
        e.op(f"%rsqrt2 = arith.constant {f32(0.5 ** 0.5)}")
    else:
        e.op(f"%gelu_c = arith.constant {f32(0.044715)}")
        e.op(f"%gelu_k = arith.constant "
             f"{f32((2.0 / 3.141592653589793) ** 0.5)}")
    e.op("%c0 = arith.constant 0 : index")
    e.op(f"%c{n} = arith.constant {n} : index")
    if m != n:
        e.op(f"%c{m} = arith.constant {m} : index")
    e.op(f"%b = tensor.dim %x, %c0 : {x_t}")
    e.op(f"%rows = arith.muli %b, %c{n} : index")
    e.op(f"%mrows = arith.muli %b, %c{m} : index")
    e.op(f"%xr = tensor.collapse_shape %x [[0, 1, 2], [3]] : {x_t} into "
         f"{ttype(rows2)}")

    e.comment("a = LN(norm1_before)(x), on token rows [B·N, C]")
    e.layer_norm("%a", "%xr", c, "%rows", w["norm1_before.weight"],
                 w["norm1_before.bias"])

    e.comment("Cluster tokens: LN(cluster_norm)(soft_assign(L) · a)")
    e.op(f"%a3 = tensor.expand_shape %a [[0, 1], [2]] output_shape "
         f"[%b, {n}, {c}] : {ttype(rows2)} into {ttype((None, n, c))}")
    e.empty("%z_init", (None, m, n), ["%b"])
    e.op(f"%z = clus.soft_assign %logits outs(%z_init) : "
         f"{ttype((None, m, n))}")
    e.empty("%pooled_init", (None, m, c), ["%b"])
    e.op(f"%pooled = clus.pool %z, %a3 outs(%pooled_init) : "
         f"{ttype((None, m, n))}, {ttype((None, n, c))} -> "
         f"{ttype((None, m, c))}")
    e.op(f"%pooled_r = tensor.collapse_shape %pooled [[0, 1], [2]] : "
         f"{ttype((None, m, c))} into {ttype(rows2)}")
    e.layer_norm("%ctok", "%pooled_r", c, "%mrows",
                 w["attn.cluster_norm.weight"], w["attn.cluster_norm.bias"])

    e.comment("q from the tokens, k and v from the clusters, split into heads")
    e.linear("%q", "%a", "%rows", c, c, w["attn.q.weight"], w["attn.q.bias"])
    e.linear("%k", "%ctok", "%mrows", c, c, w["attn.k.weight"],
             w["attn.k.bias"])
    e.linear("%v", "%ctok", "%mrows", c, c, w["attn.v.weight"],
             w["attn.v.bias"])
    e.to_heads("%qh", "%q", rows2, heads, d, n)
    e.to_heads("%kh", "%k", rows2, heads, d, m)
    e.to_heads("%vh", "%v", rows2, heads, d, m)

    e.comment(f"softmax(q kᵀ / sqrt({d})) v over the {m} clusters")
    qt, kt = ttype((None, heads, n, d)), ttype((None, heads, m, d))
    e.empty("%o_init", (None, heads, n, d), ["%b"])
    e.op(f"%o = clus.attention %qh, [%kh, %vh] outs(%o_init) : {qt}, "
         f"[{kt}, {kt}] -> {qt}")
    e.empty("%om_e", (None, n, heads, d), ["%b"])
    e.op(f"%om = linalg.transpose ins(%o : {qt}) outs(%om_e : "
         f"{ttype((None, n, heads, d))}) permutation = [0, 2, 1, 3]")
    e.op(f"%or = tensor.collapse_shape %om [[0, 1], [2, 3]] : "
         f"{ttype((None, n, heads, d))} into {ttype(rows2)}")

    e.comment("y = x + proj(o)")
    e.linear("%p", "%or", "%rows", c, c, w["attn.proj.weight"],
             w["attn.proj.bias"])
    e.add("%y", "%xr", "%p", rows2, ["%rows"])

    e.comment("t = fc1(LN(norm2_before)(y))")
    e.layer_norm("%t", "%y", c, "%rows", w["norm2_before.weight"],
                 w["norm2_before.bias"])
    e.linear("%f1", "%t", "%rows", c, hidden, w["mlp.fc1.weight"],
             w["mlp.fc1.bias"])

    img = (None, height, width, hidden)
    pad = (None, height + 2, width + 2, hidden)
    e.comment("t = GELU(t + dwconv3x3(t)) on the NHWC image of the tokens")
    e.op(f"%f1i = tensor.expand_shape %f1 [[0, 1, 2], [3]] output_shape "
         f"[%b, {height}, {width}, {hidden}] : {ttype((None, hidden))} into "
         f"{ttype(img)}")
    e.op("%padded = tensor.pad %f1i low[0, 1, 1, 0] high[0, 1, 1, 0] {")
    e.op("^bb0(%i0: index, %i1: index, %i2: index, %i3: index):")
    e.op("  tensor.yield %zero : f32")
    e.op(f"}} : {ttype(img)} to {ttype(pad)}")
    dw = w["mlp.dwconv.dwconv.weight"]
    e.op(f"%dw_k = tensor.collapse_shape {dw} [[0, 1], [2], [3]] : "
         f"{ttype((hidden, 1, 3, 3))} into {ttype((hidden, 3, 3))}")
    e.empty("%dw_hwc_e", (3, 3, hidden), [])
    e.op(f"%dw_hwc = linalg.transpose ins(%dw_k : {ttype((hidden, 3, 3))}) "
         f"outs(%dw_hwc_e : {ttype((3, 3, hidden))}) permutation = [1, 2, 0]")
    e.empty("%dw_init_e", img, ["%b"])
    e.op(f"%dw_init = linalg.broadcast ins({w['mlp.dwconv.dwconv.bias']} : "
         f"{ttype((hidden,))}) outs(%dw_init_e : {ttype(img)}) "
         "dimensions = [0, 1, 2]")
    e.op(f"%dwc = linalg.depthwise_conv_2d_nhwc_hwc {{dilations = "
         f"dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} "
         f"ins(%padded, %dw_hwc : {ttype(pad)}, {ttype((3, 3, hidden))}) "
         f"outs(%dw_init : {ttype(img)}) -> {ttype(img)}")
    e.add("%sc", "%dwc", "%f1i", img, ["%b"])
    e.gelu_map("%g", "%sc", img, ["%b"])

    e.comment("out = y + fc2(t)")
    e.op(f"%gr = tensor.collapse_shape %g [[0, 1, 2], [3]] : {ttype(img)} "
         f"into {ttype((None, hidden))}")
    e.linear("%f2", "%gr", "%rows", hidden, c, w["mlp.fc2.weight"],
             w["mlp.fc2.bias"])
    e.add("%out", "%y", "%f2", rows2, ["%rows"])
    e.op(f"%out4 = tensor.expand_shape %out [[0, 1, 2], [3]] output_shape "
         f"[%b, {height}, {width}, {c}] : {ttype(rows2)} into {x_t}")
    e.op(f"return %out4 : {x_t}")
    return "\n".join(head + e.lines + ["}"]) + "\n"


HEADER = """\
// GENERATED by docs/examples/gen_paca_block.py; do not edit (rerun it).
//
// One PaCa-ViT block (docs/models.md) in IR, as torch-mlir writes a PyTorch
// module: named linalg ops (matmul reading the weight transposed,
// transpose, broadcast, depthwise_conv_2d_nhwc_hwc), linalg.generic for
// the elementwise maps and the LayerNorm row reductions, and the clus ops
// for the clustering and the attention. Blocks after the first of a stage
// take the stage's cluster logits; this is such a block:
//
//   a = LN(norm1_before)(x)
//   ctok = LN(cluster_norm)(clus.pool(clus.soft_assign(L), a))
//   o = clus.attention(heads(a·Wqᵀ + bq), [heads(ctok·Wkᵀ + bk),
//                                           heads(ctok·Wvᵀ + bv)])
//   y = x + merge_heads(o)·Wpᵀ + bp
//   t = LN(norm2_before)(y)·W1ᵀ + b1
//   t = GELU(t + dwconv3x3(t))            (exact erf GELU)
//   out = y + t·W2ᵀ + b2
//
// Arguments: x [B, H, W, C] (the tokens as an NHWC image), the cluster
// logits L [B, M, H·W], then the block's weights in state_dict order and
// PyTorch's layouts (Linear [out, in], depthwise conv [hidden, 1, 3, 3]).
// The batch is dynamic; the token grid, channels, heads and clusters are
// paca_tiny's at 224 x 224 (stage 1: 56 x 56, stage 3: 14 x 14).
// python/tests/test_paca_block.py checks it against
// clusopt.models.paca.block in float64; bench/paca_block.py times it.
"""


def generate(blocks=BLOCKS_IN_FILE, gelu="erf"):
    return HEADER + "".join("\n" + block_function(*blk, gelu=gelu)
                            for blk in blocks)


def parse_block(text):
    """"STAGE:HxW" -> (stage, height, width)."""
    try:
        stage, grid = text.split(":")
        height, width = grid.split("x")
        block = int(stage), int(height), int(width)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected STAGE:HxW (e.g. 1:56x56), got {text!r}") from None
    if block[0] not in STAGES or block[1] < 1 or block[2] < 1:
        raise argparse.ArgumentTypeError(
            f"stage must be one of {sorted(STAGES)} and H, W positive: "
            f"{text!r}")
    return block


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(OUTPUT),
                        help="where to write ('-': stdout)")
    parser.add_argument("--block", type=parse_block, action="append",
                        help="STAGE:HxW, a block to write (repeatable; "
                             "default: 1:56x56 and 3:14x14)")
    parser.add_argument("--gelu", choices=("erf", "tanh"), default="erf")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the output file differs")
    args = parser.parse_args(argv)
    text = generate(tuple(args.block or BLOCKS_IN_FILE), args.gelu)
    if args.check:
        current = pathlib.Path(args.output).read_text()
        if current != text:
            print(f"{args.output} is stale: rerun {pathlib.Path(__file__)}",
                  file=sys.stderr)
            return 1
        return 0
    if args.output == "-":
        sys.stdout.write(text)
    else:
        pathlib.Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
