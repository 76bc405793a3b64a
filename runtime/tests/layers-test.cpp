//===- layers-test.cpp - The runtime's layers against plain loops ---------===//
//
// Every layer in runtime/Layers.h on random inputs, compared with the
// obvious loops (in double), on odd sizes that leave partial GEMM tiles and
// conv borders; then the errors for bad shapes. Prints one line per check
// for FileCheck (test/Runtime/layers.test). Linked with ASan/UBSan.
//
//===----------------------------------------------------------------------===//

#include "Check.h"
#include "runtime/Layers.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <random>
#include <vector>

using namespace clusopt::runtime;

static std::mt19937 rng(7);

static Tensor randomTensor(llvm::ArrayRef<int64_t> shape, float scale = 1.0f) {
  Tensor t = checkOk(Tensor::empty(DType::F32, shape), "empty");
  std::normal_distribution<float> normal(0.0f, scale);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = normal(rng);
  return t;
}

// Max |got - want| / (1 + |want|): prints it and fails above `tol`.
static void compare(const char *what, const Tensor &got,
                    const std::vector<double> &want, double tol = 1e-4) {
  CHECK(got.numElements() == static_cast<int64_t>(want.size()));
  double err = 0;
  for (size_t i = 0; i < want.size(); ++i)
    err = std::max(err, std::abs(got.data<float>()[i] - want[i]) /
                            (1.0 + std::abs(want[i])));
  llvm::outs() << what << ": " << (err <= tol ? "ok" : "MISMATCH") << "\n";
  if (err > tol) {
    llvm::errs() << what << ": error " << err << " > " << tol << "\n";
    std::exit(1);
  }
}

static double geluDouble(double v) {
  return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
}

static void testLinear(int64_t rows, int64_t in, int64_t out, bool bias) {
  Tensor x = randomTensor({rows, in}), w = randomTensor({out, in});
  std::optional<Tensor> b;
  if (bias)
    b = randomTensor({out});
  Linear layer = checkOk(Linear::create(w, b), "linear");
  Tensor y = checkOk(layer(x), "linear call");
  CHECK(y.dim(0) == rows && y.dim(1) == out);
  std::vector<double> want(rows * out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = bias ? b->data<float>()[o] : 0.0;
      for (int64_t k = 0; k < in; ++k)
        s += double(x.data<float>()[r * in + k]) * w.data<float>()[o * in + k];
      want[r * out + o] = s;
    }
  std::string name = llvm::formatv("linear {0}x{1}->{2}{3}", rows, in, out,
                                   bias ? " bias" : "")
                         .str();
  compare(name.c_str(), y, want);

  // The fused epilogues: GELU, and an add into what y holds.
  Tensor g = checkOk(layer(x, /*gelu=*/true), "linear gelu");
  std::vector<double> wantG(want.size());
  for (size_t i = 0; i < want.size(); ++i)
    wantG[i] = geluDouble(want[i]);
  compare((name + " gelu").c_str(), g, wantG);
  Tensor acc = randomTensor({rows, out});
  std::vector<double> wantAcc(want.size());
  for (size_t i = 0; i < want.size(); ++i)
    wantAcc[i] = want[i] + acc.data<float>()[i];
  checkOk(layer.accumulate(x, acc), "linear accumulate");
  compare((name + " accumulate").c_str(), acc, wantAcc);
}

// The head-split forms against the plain loops: toHeads writes
// [B, heads, N, out/heads], fromHeads reads attention's [B, H, N, in/H]
// and adds a shortcut. Head sizes that straddle the GEMM's 32-column
// panels and images that straddle its row blocks.
static void testLinearHeads(int64_t b, int64_t n, int64_t in, int64_t out,
                            int64_t heads) {
  Tensor w = randomTensor({out, in}), bias = randomTensor({out});
  Linear layer = checkOk(Linear::create(w, bias), "linear");
  auto dot = [&](const float *row, int64_t o, int64_t stride, int64_t d) {
    // row's feature k sits at row[(k / d) * stride + k % d].
    double s = bias.data<float>()[o];
    for (int64_t k = 0; k < in; ++k)
      s += double(row[(k / d) * stride + k % d]) * w.data<float>()[o * in + k];
    return s;
  };
  Tensor x = randomTensor({b, n, in});
  Tensor y = checkOk(layer.toHeads(x, heads), "to heads");
  int64_t d = out / heads;
  CHECK(y.dim(0) == b && y.dim(1) == heads && y.dim(2) == n && y.dim(3) == d);
  std::vector<double> want(b * n * out);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t o = 0; o < out; ++o)
        want[((bi * heads + o / d) * n + t) * d + o % d] =
            dot(x.data<float>() + (bi * n + t) * in, o, in, in);
  std::string name = llvm::formatv("linear {0}x{1}x{2}->{3} to {4} heads", b, n,
                                   in, out, heads)
                         .str();
  compare(name.c_str(), y, want);

  int64_t din = in / heads;
  Tensor o = randomTensor({b, heads, n, din}),
         shortcut = randomTensor({b, n, out});
  Tensor z = checkOk(layer.fromHeads(o, shortcut), "from heads");
  CHECK(z.dim(0) == b && z.dim(1) == n && z.dim(2) == out);
  std::vector<double> wantZ(b * n * out);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < out; ++c)
        wantZ[(bi * n + t) * out + c] =
            shortcut.data<float>()[(bi * n + t) * out + c] +
            dot(o.data<float>() + (bi * heads * n + t) * din, c, n * din, din);
  name = llvm::formatv("linear {0} heads x{1}x{2}->{3} from heads + shortcut",
                       heads, n, in, out)
             .str();
  compare(name.c_str(), z, wantZ);
}

static void testConv(int64_t b, int64_t cin, int64_t cout, int64_t h, int64_t w,
                     int64_t k, int64_t s, int64_t p, int64_t groups,
                     bool bias) {
  Tensor x = randomTensor({b, cin, h, w});
  Tensor wt = randomTensor({cout, cin / groups, k, k});
  std::optional<Tensor> bt;
  if (bias)
    bt = randomTensor({cout});
  Conv2d conv = checkOk(Conv2d::create(wt, bt, s, p, groups), "conv");
  Tensor y = checkOk(conv(x), "conv call");
  int64_t ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
  CHECK(y.dim(0) == b && y.dim(1) == cout && y.dim(2) == ho && y.dim(3) == wo);
  int64_t cg = cin / groups, og = cout / groups;
  std::vector<double> want(b * cout * ho * wo);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t oy = 0; oy < ho; ++oy)
        for (int64_t ox = 0; ox < wo; ++ox) {
          double acc = bias ? bt->data<float>()[o] : 0.0;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                int64_t iy = oy * s + ky - p, ix = ox * s + kx - p;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                int64_t c = (o / og) * cg + ci;
                acc +=
                    double(
                        x.data<float>()[((bi * cin + c) * h + iy) * w + ix]) *
                    wt.data<float>()[((o * cg + ci) * k + ky) * k + kx];
              }
          want[((bi * cout + o) * ho + oy) * wo + ox] = acc;
        }
  std::string name =
      llvm::formatv("conv2d {0}->{1} k{2} s{3} p{4} groups {5}{6}", cin, cout,
                    k, s, p, groups, bias ? " bias" : "")
          .str();
  compare(name.c_str(), y, want);

  // The same convolution on tokens [B, H·W, C], then with GELU fused, and
  // for depthwise ones that keep the size, with the input added back (the
  // MLP shortcut).
  Tensor tokens = checkOk(imageToTokens(x), "to tokens");
  Tensor yt = checkOk(conv.onTokens(tokens, h, w), "on tokens");
  std::vector<double> wantT(want.size());
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t c = 0; c < cout; ++c)
      for (int64_t px = 0; px < ho * wo; ++px)
        wantT[(bi * ho * wo + px) * cout + c] =
            want[(bi * cout + c) * ho * wo + px];
  compare((name + " on tokens").c_str(), yt, wantT);
  Tensor yg = checkOk(conv.onTokens(tokens, h, w, false, true), "gelu");
  std::vector<double> wantG(wantT.size());
  for (size_t i = 0; i < wantT.size(); ++i)
    wantG[i] = geluDouble(wantT[i]);
  compare((name + " on tokens, gelu").c_str(), yg, wantG);
  if (groups == 1 || ho != h || wo != w) {
    llvm::outs() << "shortcut: "
                 << errorOf(conv.onTokens(tokens, h, w, true), "shortcut")
                 << "\n";
    return;
  }
  Tensor ys = checkOk(conv.onTokens(tokens, h, w, true), "shortcut");
  for (size_t i = 0; i < wantT.size(); ++i)
    wantT[i] += tokens.data<float>()[i];
  compare((name + " on tokens + shortcut").c_str(), ys, wantT);
  Tensor ysg = checkOk(conv.onTokens(tokens, h, w, true, true), "both");
  for (size_t i = 0; i < wantT.size(); ++i)
    wantG[i] = geluDouble(wantT[i]);
  compare((name + " on tokens + shortcut, gelu").c_str(), ysg, wantG);
}

static void testNorms() {
  // 37 channels: a vector block of 32 and a remainder; 96 and 100: whole
  // 16-lane vectors (PaCa's 96), then a remainder after them.
  for (int64_t c : {37, 96, 100}) {
    Tensor x = randomTensor({2, 5, c}, 3.0f), g = randomTensor({c}),
           be = randomTensor({c});
    Tensor y = checkOk(layerNorm(x, g, be, 1e-6f), "layer_norm");
    std::vector<double> want(x.numElements());
    for (int64_t r = 0; r < 10; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < c; ++i)
        mean += x.data<float>()[r * c + i] / double(c);
      for (int64_t i = 0; i < c; ++i)
        var += std::pow(x.data<float>()[r * c + i] - mean, 2) / double(c);
      for (int64_t i = 0; i < c; ++i)
        want[r * c + i] = (x.data<float>()[r * c + i] - mean) /
                              std::sqrt(var + 1e-6) * g.data<float>()[i] +
                          be.data<float>()[i];
    }
    compare(("layer_norm over " + std::to_string(c)).c_str(), y, want);
  }
  Tensor g = randomTensor({37}), be = randomTensor({37});

  // LN2d on [2, 37, 9, 11]: 99 pixels, a full strip of 64 and a partial one.
  Tensor img = randomTensor({2, 37, 9, 11}, 2.0f);
  Tensor y2 = checkOk(layerNorm2d(img, g, be, 1e-6f), "layer_norm_2d");
  std::vector<double> want2(img.numElements());
  for (int64_t bi = 0; bi < 2; ++bi)
    for (int64_t px = 0; px < 99; ++px) {
      auto at = [&](int64_t c) { return (bi * 37 + c) * 99 + px; };
      double mean = 0, var = 0;
      for (int64_t c = 0; c < 37; ++c)
        mean += img.data<float>()[at(c)] / 37.0;
      for (int64_t c = 0; c < 37; ++c)
        var += std::pow(img.data<float>()[at(c)] - mean, 2) / 37.0;
      for (int64_t c = 0; c < 37; ++c)
        want2[at(c)] = (img.data<float>()[at(c)] - mean) /
                           std::sqrt(var + 1e-6) * g.data<float>()[c] +
                       be.data<float>()[c];
    }
  compare("layer_norm_2d", y2, want2);
}

static void testElementwise() {
  // erf against libm's, over [-6, 6] and beyond.
  double erfErr = 0;
  for (int i = -8000; i <= 8000; ++i) {
    float v = i * 1e-3f;
    erfErr = std::max(erfErr, std::abs(double(erfApprox(v)) - std::erf(v)));
  }
  llvm::outs() << "erf: " << (erfErr < 1e-6 ? "ok" : "MISMATCH") << "\n";
  CHECK(erfErr < 1e-6);

  Tensor x = randomTensor({3, 1000}, 3.0f), g = x.clone();
  geluInPlace(g);
  std::vector<double> want(x.numElements());
  for (int64_t i = 0; i < x.numElements(); ++i) {
    double v = x.data<float>()[i];
    want[i] = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  }
  compare("gelu", g, want, 1e-6);

  Tensor t = randomTensor({2, 7, 5});
  Tensor m = checkOk(meanTokens(t), "mean");
  std::vector<double> wantMean(10, 0.0);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t n = 0; n < 7; ++n)
      for (int64_t c = 0; c < 5; ++c)
        wantMean[b * 5 + c] += t.data<float>()[(b * 7 + n) * 5 + c] / 7.0;
  compare("mean_tokens", m, wantMean, 1e-6);

  Tensor a = randomTensor({4, 9}), b = randomTensor({4, 9}), s = a.clone();
  checkOk(addInPlace(s, b), "add");
  std::vector<double> wantAdd(36);
  for (int i = 0; i < 36; ++i)
    wantAdd[i] = double(a.data<float>()[i]) + b.data<float>()[i];
  compare("add", s, wantAdd, 1e-6);
}

// x [B, R, C] with its last two axes swapped, [B, C, R], as doubles.
static std::vector<double> transposedLast(const Tensor &x) {
  int64_t b = x.dim(0), r = x.dim(1), c = x.dim(2);
  std::vector<double> want(x.numElements());
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        want[(bi * c + j) * r + i] = x.data<float>()[(bi * r + i) * c + j];
  return want;
}

static void testLayouts() {
  // [B, C, H, W] -> tokens -> image is the identity; tokens[b][p][c] =
  // image[b][c][p]. Sizes past one 32x32 transpose tile.
  Tensor img = randomTensor({2, 45, 5, 9});
  Tensor tok = checkOk(imageToTokens(img), "to tokens");
  CHECK(tok.dim(0) == 2 && tok.dim(1) == 45 && tok.dim(2) == 45);
  compare("image_to_tokens", tok,
          transposedLast(checkOk(img.reshape({2, 45, 45}), "reshape")), 0);
  Tensor back = checkOk(tokensToImage(tok, 5, 9), "to image");
  std::vector<double> same(img.data<float>(),
                           img.data<float>() + img.numElements());
  compare("tokens_to_image", back, same, 0);
  // The clustering logits' transpose: full 8x8 blocks, ragged rows and
  // columns, more than one 32x32 tile each way.
  Tensor logits = randomTensor({2, 70, 44});
  Tensor logitsT = checkOk(transposeLast(logits), "transpose");
  CHECK(logitsT.dim(0) == 2 && logitsT.dim(1) == 44 && logitsT.dim(2) == 70);
  compare("transpose_last", logitsT, transposedLast(logits), 0);

  Tensor x = randomTensor({2, 3, 12});
  Tensor heads = checkOk(splitHeads(x, 4), "split");
  CHECK(heads.dim(1) == 4 && heads.dim(2) == 3 && heads.dim(3) == 3);
  std::vector<double> wantHeads(x.numElements());
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t d = 0; d < 3; ++d)
          wantHeads[((b * 4 + h) * 3 + n) * 3 + d] =
              x.data<float>()[(b * 3 + n) * 12 + h * 3 + d];
  compare("split_heads", heads, wantHeads, 0);
  std::vector<double> xs(x.data<float>(), x.data<float>() + x.numElements());
  compare("merge_heads", checkOk(mergeHeads(heads), "merge"), xs, 0);
}

static void testErrors() {
  Tensor w = randomTensor({4, 3});
  Linear layer = checkOk(Linear::create(w, std::nullopt), "linear");
  llvm::outs() << "linear-shape: "
               << errorOf(layer(randomTensor({2, 5})), "linear") << "\n";
  llvm::outs() << "linear-bias: "
               << errorOf(Linear::create(w, randomTensor({3})), "bias") << "\n";
  llvm::outs() << "conv-groups: "
               << errorOf(Conv2d::create(randomTensor({6, 2, 3, 3}),
                                         std::nullopt, 1, 1, 3),
                          "groups")
               << "\n";
  Conv2d conv = checkOk(
      Conv2d::create(randomTensor({4, 3, 3, 3}), std::nullopt, 1, 1, 1), "c");
  llvm::outs() << "conv-channels: "
               << errorOf(conv(randomTensor({1, 2, 4, 4})), "channels") << "\n";
  llvm::outs() << "dense-shortcut: "
               << errorOf(conv.onTokens(randomTensor({1, 16, 3}), 4, 4, true),
                          "d")
               << "\n";
  Tensor wrongAcc = randomTensor({2, 5});
  llvm::outs() << "accumulator: "
               << errorOf(layer.accumulate(randomTensor({2, 3}), wrongAcc),
                          "acc")
               << "\n";
  llvm::outs() << "to-heads: "
               << errorOf(layer.toHeads(randomTensor({1, 2, 3}), 3), "heads")
               << "\n";
  llvm::outs() << "from-heads: "
               << errorOf(layer.fromHeads(randomTensor({1, 2, 2, 2}),
                                          randomTensor({1, 2, 4})),
                          "heads")
               << "\n";
  llvm::outs() << "from-heads-shortcut: "
               << errorOf(layer.fromHeads(randomTensor({1, 3, 2, 1}),
                                          randomTensor({1, 3, 4})),
                          "shortcut")
               << "\n";
  Conv2d dw = checkOk(
      Conv2d::create(randomTensor({3, 1, 3, 3}), std::nullopt, 1, 1, 3), "dw");
  llvm::outs() << "tokens-shape: "
               << errorOf(dw.onTokens(randomTensor({1, 15, 3}), 4, 4), "shape")
               << "\n";
  llvm::outs() << "layer-norm: "
               << errorOf(layerNorm(randomTensor({2, 5}), randomTensor({4}),
                                    randomTensor({4}), 1e-6f),
                          "norm")
               << "\n";
  Tensor a = randomTensor({2, 3});
  llvm::outs() << "add: " << errorOf(addInPlace(a, randomTensor({3, 2})), "add")
               << "\n";
  llvm::outs() << "heads: "
               << errorOf(splitHeads(randomTensor({1, 2, 10}), 3), "heads")
               << "\n";
}

int main() {
  ThreadPool::setNumThreads(2);
  // Rows that leave partial 6-row micro tiles and 48-row tasks, columns
  // that leave partial 16-wide panels, a single row (the head).
  testLinear(7, 5, 3, true);
  testLinear(100, 37, 50, false);
  testLinear(1, 64, 33, true);
  testLinear(49, 96, 384, true);
  testLinearHeads(2, 13, 40, 60, 4);
  testLinearHeads(1, 50, 96, 96, 2);
  testLinearHeads(3, 17, 24, 72, 3);
  testConv(2, 3, 8, 11, 13, 3, 2, 1, 1, true); // the stem's shape
  testConv(1, 6, 4, 7, 7, 1, 1, 0, 1, false);  // 1x1
  testConv(2, 5, 5, 9, 8, 3, 1, 1, 5, true);   // MLP dwconv
  testConv(1, 4, 4, 10, 9, 7, 1, 3, 4, true);  // clustering dw7
  testConv(1, 3, 3, 9, 9, 3, 2, 1, 3, false);  // strided depthwise
  // Channels that take the 64-, 16- and 1-wide depthwise paths.
  testConv(1, 83, 83, 5, 6, 3, 1, 1, 83, true);
  // 3x3 stride 1 on a multiple of 16 channels: the interior goes 4 pixels
  // at a time (5 interior columns leave a partial block), the border per
  // pixel.
  testConv(2, 32, 32, 6, 7, 3, 1, 1, 32, true);
  // 7x7 likewise, 4 pixels at a time: 13 interior columns leave a
  // partial block.
  testConv(1, 32, 32, 9, 19, 7, 1, 3, 32, true);
  // 7x7 over more channels than its chunk of 64 (AVX-512).
  testConv(1, 80, 80, 8, 9, 7, 1, 3, 80, true);
  // 3x3 over more channels than one chunk of 256: a full chunk, then a
  // partial one.
  testConv(1, 272, 272, 6, 11, 3, 1, 1, 272, true);
  testConv(2, 7, 5, 8, 8, 3, 2, 1, 1, false); // a transition, no bias
  // Window rows of 32 floats or more: the GEMM reads them in place
  // (implicit im2col), gathering only the windows on the border.
  testConv(2, 16, 20, 9, 7, 3, 2, 1, 1, true);
  testConv(1, 12, 40, 6, 5, 3, 1, 1, 1, false);
  testConv(1, 32, 8, 8, 8, 2, 2, 0, 1, true); // a patch embedding
  testNorms();
  testElementwise();
  testLayouts();
  testErrors();
  return 0;
}
