#!/usr/bin/env python3
"""Generates random valid clus programs: seeded, for the IR fuzzer's corpus.

    scripts/gen-clus-programs.py --seed 1 --count 40 --out tools/fuzz/ir-corpus
    scripts/gen-clus-programs.py --seed 7 --count 5      # to stdout, `// -----`

Each program is one module of one to three functions. A function chains
the nine clus ops the way models use them (soft_assign -> pool, kmeans ->
aggregate -> broadcast, topk_members -> cluster_attention, dpc_knn,
multi-scale attention) over random f32/f16/bf16 operands whose dims are
static or dynamic (`?`) one by one, with random attributes inside the
verifiers' rules (docs/dialect/ClusDialect.md). Result types follow the
dialect's inference: a dim is static when any operand that carries it is.
Cluster counts, k and iterations stay moderate (--max-clusters, --max-k), so
the CI campaign compiles each program in seconds; the committed seeds are
small (--max-funcs 1 --max-chains 1), as libFuzzer runs every seed first.
"""

import argparse
import os
import random
import sys

DTYPES = ["f32", "f32", "f16", "bf16"]
TOKENS = [1, 2, 3, 5, 7, 8, 16, 17, 31, 33, 49, 64, 100, 196]
CHANNELS = [1, 3, 4, 8, 15, 16, 32, 33, 48, 64, 65]


def type_str(shape, dtype):
    dims = "x".join("?" if d is None else str(d) for d in shape)
    return f"tensor<{dims}x{dtype}>" if dims else f"tensor<{dtype}>"


def _top_level_colon(text):
    """The index of the `:` that starts an op's type list (not one inside
    `init(%v : type)` or an attribute dictionary)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == ":" and depth == 0:
            return i
    raise ValueError(f"no type list in {text!r}")


class Func:
    """One func.func: arguments, body lines and returned values."""

    def __init__(self, rng, name, p_dynamic):
        self.rng, self.name, self.p_dynamic = rng, name, p_dynamic
        self.args, self.lines, self.results = [], [], []
        self.count = 0

    def value(self):
        self.count += 1
        return f"%v{self.count}"

    def arg(self, dims, dtype):
        """A new argument with dims [(sym, size)], each dynamic or not."""
        shape = [None if self.rng.random() < self.p_dynamic else size
                 for _, size in dims]
        name = f"%a{len(self.args)}"
        self.args.append((name, type_str(shape, dtype)))
        value = (name, shape, dtype, [sym for sym, _ in dims])
        # Sometimes reach the op through a cast that forgets static dims.
        if any(d is not None for d in shape) and self.rng.random() < 0.1:
            cast = [None if self.rng.random() < 0.5 else d for d in shape]
            out = self.value()
            self.lines.append(
                f"{out} = tensor.cast {name} : {type_str(shape, dtype)} to "
                f"{type_str(cast, dtype)}")
            value = (out, cast, dtype, value[3])
        return value

    def index_arg(self, dims, limit):
        """An i32 index tensor: an argument, or a constant when static."""
        if self.rng.random() < 0.15:
            shape = [size for _, size in dims]
            out = self.value()
            fill = self.rng.choice([0, limit - 1, -1, limit])
            self.lines.append(f"{out} = arith.constant dense<{fill}> : "
                              f"{type_str(shape, 'i32')}")
            return (out, shape, "i32", [sym for sym, _ in dims])
        return self.arg(dims, "i32")

    def op(self, text, operands, results):
        """Emits `text` (with {0}, {1}, ... for the operands) and returns its
        results, typed by the dialect's inference from `operands`. Each
        result gets an empty destination (`outs`), with its dynamic sizes
        read from an operand that has the dim."""
        static, source = {}, {}
        for name, shape, _, syms in operands:
            for axis, (sym, d) in enumerate(zip(syms, shape)):
                source.setdefault(sym, (name, axis, shape))
                if d is not None:
                    static[sym] = d
        outs, inits = [], []
        for syms, dtype, fixed in results:
            shape = [fixed.get(s, static.get(s)) for s in syms]
            sizes = []
            for sym, d in zip(syms, shape):
                if d is None:
                    name, axis, from_shape = source[sym]
                    c, dim = self.value(), self.value()
                    self.lines.append(f"{c} = arith.constant {axis} : index")
                    self.lines.append(
                        f"{dim} = tensor.dim {name}, {c} : "
                        f"{type_str(from_shape, self._dtype_of(operands, name))}")
                    sizes.append(dim)
            init = self.value()
            self.lines.append(f"{init} = tensor.empty({', '.join(sizes)}) : "
                              f"{type_str(shape, dtype)}")
            inits.append(init)
            outs.append((None, shape, dtype, syms))
        outs = [(self.value(), *rest) for _, *rest in outs]
        names = ", ".join(v[0] for v in outs)
        op_text = text.format(*[o[0] for o in operands])
        colon = _top_level_colon(op_text)
        op_text = (op_text[:colon].rstrip() + f" outs({', '.join(inits)}) "
                   + op_text[colon:])
        if not op_text.startswith("clus.soft_assign"):
            op_text += " -> " + ", ".join(type_str(v[1], v[2]) for v in outs)
        self.lines.append(f"{names} = " + op_text)
        return outs

    @staticmethod
    def _dtype_of(operands, name):
        return next(o[2] for o in operands if o[0] == name)

    def ret(self, *values):
        self.results.extend(values)

    def text(self):
        args = ", ".join(f"{n}: {t}" for n, t in self.args)
        types = ", ".join(type_str(v[1], v[2]) for v in self.results)
        lines = [f"func.func @{self.name}({args}) -> ({types}) {{"]
        lines += [f"  {line}" for line in self.lines]
        lines.append(f"  return {', '.join(v[0] for v in self.results)} : "
                     f"{types}")
        lines.append("}")
        return "\n".join(lines)


class Generator:
    def __init__(self, rng, max_clusters, max_k, max_funcs, max_chains):
        self.rng, self.max_clusters, self.max_k = rng, max_clusters, max_k
        self.max_funcs, self.max_chains = max_funcs, max_chains

    def sizes(self):
        r = self.rng
        n = r.choice(TOKENS)
        return {"B": r.choice([1, 1, 2, 3]), "H": r.choice([1, 2, 3, 4]),
                "N": n, "C": r.choice(CHANNELS), "D": r.choice(CHANNELS),
                "Dv": r.choice(CHANNELS),
                "M": r.randint(1, min(n, self.max_clusters))}

    def ty(self, s, syms, dtype):
        return type_str([s[x] for x in syms], dtype)

    def scale(self):
        return (f" scale = {self.rng.choice(['0.125', '1.0', '2.5e-01'])}"
                if self.rng.random() < 0.3 else "")

    # Each chain adds ops to `f` and returns nothing; results are returned.
    def paca(self, f, s, dt):
        """soft_assign -> pool (the fused PaCa step), or either alone."""
        r = self.rng
        logits = f.arg([("B", s["B"]), ("M", s["M"]), ("N", s["N"])], dt)
        axis = r.choice(["", "", " axis = tokens", " axis = clusters"])
        z, = f.op(f"clus.soft_assign {{0}}{axis} : {type_str(logits[1], dt)}",
                  [logits], [(logits[3], dt, {})])
        z = (z[0], logits[1], dt, logits[3])  # SameOperandsAndResultType
        if r.random() < 0.2:
            f.ret(z)
            return
        x = f.arg([("B", s["B"]), ("N", s["N"]), ("C", s["C"])], dt)
        src = z if r.random() < 0.8 else logits
        y, = f.op("clus.pool {0}, {1} : " + type_str(src[1], dt) + ", " +
                  type_str(x[1], dt), [src, x], [(["B", "M", "C"], dt, {})])
        f.ret(y)

    def kmeans(self, f, s, dt):
        """kmeans -> aggregate -> broadcast (hard clustering round trip)."""
        r = self.rng
        x = f.arg([("B", s["B"]), ("N", s["N"]), ("C", s["C"])], dt)
        m = s["M"]
        init = ""
        operands = [x]
        if r.random() < 0.3:
            mu = f.arg([("B", s["B"]), ("M", m), ("C", s["C"])], dt)
            operands.append(mu)
            init = f" init({{1}} : {type_str(mu[1], dt)})"
        metric = r.choice(["", "", " metric = l2", " metric = cosine"])
        assign, centroids = f.op(
            f"clus.kmeans {{0}}{init} clusters = {m} iterations = "
            f"{r.randint(1, 4)}{metric} : {type_str(x[1], dt)}",
            operands, [(["B", "N"], "i32", {}), (["B", "M", "C"], dt,
                                                  {"M": m})])
        choice = r.random()
        if choice < 0.3:
            f.ret(assign, centroids)
            return
        if choice < 0.6:
            out, = f.op(f"clus.broadcast {{0}}, {{1}} : "
                        f"{type_str(centroids[1], dt)}, "
                        f"{type_str(assign[1], 'i32')}",
                        [centroids, assign], [(["B", "N", "C"], dt, {})])
            f.ret(out)
            return
        y = self.aggregate_op(f, x, assign, s, dt, m)
        out, = f.op(f"clus.broadcast {{0}}, {{1}} : {type_str(y[1], dt)}, "
                    f"{type_str(assign[1], 'i32')}",
                    [y, assign], [(["B", "N", "C"], dt, {})])
        f.ret(y, out)

    def aggregate_op(self, f, x, assign, s, dt, clusters):
        r = self.rng
        reduction = r.choice(["", " reduction = sum", " reduction = mean",
                              " reduction = weighted_mean"])
        operands = [x, assign]
        weights = ""
        if "weighted" in reduction:
            w = f.arg([("B", s["B"]), ("N", s["N"])], dt)
            operands.append(w)
            weights = f" weights({{2}} : {type_str(w[1], dt)})"
        eps = (f" eps = {r.choice(['0.0', '1.0e-05', '1.0'])}"
               if r.random() < 0.3 else "")
        y, = f.op(f"clus.aggregate {{0}}, {{1}}{weights} clusters = "
                  f"{clusters}{reduction}{eps} : {type_str(x[1], dt)}, "
                  f"{type_str(assign[1], 'i32')}",
                  operands, [(["B", "M", "C"], dt, {"M": clusters})])
        return y

    def segments(self, f, s, dt):
        """aggregate and broadcast on given assignments (any values)."""
        r = self.rng
        clusters = r.randint(1, self.max_clusters)
        x = f.arg([("B", s["B"]), ("N", s["N"]), ("C", s["C"])], dt)
        assign = f.index_arg([("B", s["B"]), ("N", s["N"])], clusters)
        y = self.aggregate_op(f, x, assign, s, dt, clusters)
        if r.random() < 0.5:
            f.ret(y)
            return
        y2 = f.arg([("B", s["B"]), ("M", s["M"]), ("C", s["C"])], dt)
        out, = f.op(f"clus.broadcast {{0}}, {{1}} : {type_str(y2[1], dt)}, "
                    f"{type_str(assign[1], 'i32')}",
                    [y2, assign], [(["B", "N", "C"], dt, {})])
        f.ret(y, out)

    def dpc_knn(self, f, s, dt):
        r = self.rng
        x = f.arg([("B", s["B"]), ("N", s["N"]), ("C", s["C"])], dt)
        limit = min(s["N"], self.max_clusters)
        clusters = [r.randint(1, limit) for _ in range(r.randint(1, 3))]
        k = f" k = {r.randint(1, self.max_k)}" if r.random() < 0.7 else ""
        assign, centers = f.op(
            f"clus.dpc_knn {{0}} clusters = [{', '.join(map(str, clusters))}]"
            f"{k} : {type_str(x[1], dt)}",
            [x], [(["B", "S", "N"], "i32", {"S": len(clusters)}),
                  (["B", "S", "K"], "i32",
                   {"S": len(clusters), "K": max(clusters)})])
        f.ret(assign, centers)

    def attention(self, f, s, dt):
        r = self.rng
        q = f.arg([("B", s["B"]), ("H", s["H"]), ("N", s["N"]),
                   ("D", s["D"])], dt)
        operands, pairs, types = [q], [], []
        for i in range(r.choice([1, 1, 2, 3])):
            m = r.randint(1, self.max_clusters * 4)
            k = f.arg([("B", s["B"]), ("H", s["H"]), (f"M{i}", m),
                       ("D", s["D"])], dt)
            v = f.arg([("B", s["B"]), ("H", s["H"]), (f"M{i}", m),
                       ("Dv", s["Dv"])], dt)
            operands += [k, v]
            pairs.append(f"[{{{len(operands) - 2}}}, {{{len(operands) - 1}}}]")
            types.append(f"[{type_str(k[1], dt)}, {type_str(v[1], dt)}]")
        o, = f.op(f"clus.attention {{0}}, {', '.join(pairs)}{self.scale()} : "
                  f"{type_str(q[1], dt)}, {', '.join(types)}",
                  operands, [(["B", "H", "N", "Dv"], dt, {})])
        f.ret(o)

    def cast(self, f, s, dt):
        """topk_members -> cluster_attention (CAST), or either alone."""
        r = self.rng
        kappa = r.randint(1, min(s["N"], self.max_clusters * 2))
        exclusive = " exclusive" if r.random() < 0.5 else ""
        if r.random() < 0.7:
            g = f.arg([("B", s["B"]), ("N", s["N"]), ("M", s["M"])], dt)
            members, = f.op(f"clus.topk_members {{0}} capacity = {kappa}"
                            f"{exclusive} : {type_str(g[1], dt)}",
                            [g], [(["B", "M", "K"], "i32", {"K": kappa})])
            if r.random() < 0.2:
                f.ret(members)
                return
        else:
            members = f.index_arg([("B", s["B"]), ("M", s["M"]),
                                   ("K", kappa)], s["N"])
        bhn = [("B", s["B"]), ("H", s["H"]), ("N", s["N"])]
        q = f.arg(bhn + [("D", s["D"])], dt)
        k = f.arg(bhn + [("D", s["D"])], dt)
        v = f.arg(bhn + [("Dv", s["Dv"])], dt)
        aq = f.arg(bhn + [("M", s["M"])], dt)
        ak = f.arg(bhn + [("M", s["M"])], dt)
        summaries = (f" summaries = {r.choice(['true', 'false'])}"
                     if r.random() < 0.4 else "")
        ops = [q, k, v, members, aq, ak]
        o, = f.op("clus.cluster_attention {0}, {1}, {2} members({3}) "
                  f"affinities({{4}}, {{5}}){self.scale()}{summaries} : " +
                  ", ".join(type_str(x[1], x[2]) for x in ops),
                  ops, [(["B", "H", "N", "Dv"], dt, {})])
        f.ret(o)

    def program(self):
        r = self.rng
        chains = [self.paca, self.kmeans, self.segments, self.dpc_knn,
                  self.attention, self.cast]
        funcs = []
        for i in range(min(r.choice([1, 1, 1, 2, 3]), self.max_funcs)):
            f = Func(r, f"f{i}", r.choice([0.0, 0.0, 0.3, 0.6, 1.0]))
            for _ in range(min(r.choice([1, 1, 2]), self.max_chains)):
                r.choice(chains)(f, self.sizes(), r.choice(DTYPES))
            funcs.append(f.text())
        return "\n\n".join(funcs) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--out", help="directory for gen-SEED-I.mlir files "
                        "(default: stdout, programs split by `// -----`)")
    parser.add_argument("--max-clusters", type=int, default=16)
    parser.add_argument("--max-k", type=int, default=8)
    parser.add_argument("--max-funcs", type=int, default=3,
                        help="functions per program (at most)")
    parser.add_argument("--max-chains", type=int, default=2,
                        help="op chains per function (at most)")
    args = parser.parse_args()
    gen = Generator(random.Random(args.seed), args.max_clusters, args.max_k,
                    args.max_funcs, args.max_chains)
    programs = [gen.program() for _ in range(args.count)]
    if not args.out:
        sys.stdout.write("\n// -----\n\n".join(programs))
        return
    os.makedirs(args.out, exist_ok=True)
    for i, text in enumerate(programs):
        path = os.path.join(args.out, f"gen-{args.seed}-{i}.mlir")
        with open(path, "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()
