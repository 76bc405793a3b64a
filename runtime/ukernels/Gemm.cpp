//===- Gemm.cpp - The packed-panel GEMM: micro-kernels and driver ---------===//
//
// One GEMM for the runtime's layers (Linear, the dense convolutions'
// implicit im2col) and for generated code (clusopt_ukernel_gemm_f32, which
// clus-linalg-to-ukernel emits for linalg's matmuls): B packed into panels
// of kPanel columns, register-tiled micro-kernels per ISA, bias, residual
// and GELU epilogues applied as the tile is stored.
//
//===----------------------------------------------------------------------===//

#include "runtime/ukernels/UKernels.h"
#include "runtime/ukernels/clusopt_ukernels.h"

#include <cstdlib>
#include <utility>

using namespace clusopt::ukernel;

namespace {

// Rows of x per GEMM micro-kernel call, over a 48-wide panel. FMA has a
// latency of 4 cycles on two ports, so a micro-kernel needs 8 or more
// independent accumulators, and each k step should load few values per
// FMA: on a shared VM the loads, not the FMAs, set the pace (a
// load-bound kernel ran at half speed while a pure FMA loop kept its
// peak). AVX-512 (32 registers): 8 rows of 3 vectors are 24
// accumulators, with 3 weight loads and 8 broadcasts per 24 FMAs (0.46
// loads per FMA; 6 rows of 32 columns took 0.67 and reached 86% of the
// FMA peak in L1 against this kernel's 100%). AVX2 (16 registers): 6 rows
// of 2 vectors per third of a panel, 8 loads per 12 FMAs; 4 rows of 3
// vectors, which loads less, left clang one register short and it spilled
// in the loop (half the speed).
constexpr int64_t kMicroRows = 6, kWideMicroRows = 8;
constexpr int64_t kNarrowWidth = 16;
// The deepest GEMM whose tiles prefetch the next tile's rows.
constexpr int64_t kMaxPrefetchDepth = 384;
// Rows per parallel task (a multiple of both): the panel (in · 48 floats)
// stays in L2 while these rows stream past it.
constexpr int64_t kTaskRows = 48;

// A micro-tile's rows of x. A row's features come in `segments` runs of
// `depth` (one run for plain rows; one per head, or per window row of a
// convolution): run s of row r starts at start[r] + s·stride[r] and meets
// panel rows [s·depth, (s + 1)·depth).
struct TileRows {
  const float *start[kWideMicroRows];
  int64_t stride[kWideMicroRows];
  int64_t segments, depth;
};

// Where a micro-kernel puts its tile. Direct: straight from registers to
// dst[r] (the panel's full width), plus bias, plus add[r] when given
// (a residual, or dst[r] itself to accumulate); that skips a round trip
// through memory and a call per tile, which cost the shallow GEMMs
// (depth 96) a fifth of their time. Otherwise the raw sums go to acc
// (row stride kPanel) for storeTile.
struct TileStore {
  bool direct = false, withAdd = false;
  float *dst[kWideMicroRows];
  const float *add[kWideMicroRows];
  const float *bias;
  float *acc;
};

// x[r] · panel for Rows rows and Width columns of a panel (vectors of
// Lanes), over all segments with the sums in registers, stored as `store`
// says (from column `col` of the panel on). (Prefetching the next panel
// during a task's first tile, for the late stages whose weights come from
// memory, was 1-3% slower overall in interleaved runs: dropped.)
template <int64_t Rows, int64_t Width, int64_t Lanes>
[[gnu::always_inline]] inline void
microKernelBody(const TileRows &x, const float *panel, const TileStore &store,
                int64_t col) {
  using Vec = VecOf<Lanes>;
  constexpr int64_t kVecs = Width / Lanes;
  Vec sum[Rows][kVecs];
  for (int64_t r = 0; r < Rows; ++r)
    for (int64_t v = 0; v < kVecs; ++v)
      sum[r][v] = 0.0f;
  for (int64_t seg = 0; seg < x.segments; ++seg) {
    const float *ar[Rows];
    for (int64_t r = 0; r < Rows; ++r)
      ar[r] = x.start[r] + seg * x.stride[r];
    const float *segPanel = panel + seg * x.depth * kPanel;
    // Unrolled by 4, fewer loop uops between the FMAs: the GEMM parts of
    // PaCa-tiny took 0.94-0.99x the time (20 alternating rounds, both
    // orders).
#pragma clang loop unroll_count(4)
    for (int64_t k = 0; k < x.depth; ++k) {
      const float *wp = segPanel + k * kPanel;
      Vec w[kVecs];
      for (int64_t v = 0; v < kVecs; ++v)
        w[v] = loadVec<Lanes>(wp + v * Lanes);
      for (int64_t r = 0; r < Rows; ++r) {
        Vec a = ar[r][k];
        for (int64_t v = 0; v < kVecs; ++v)
          sum[r][v] += a * w[v];
      }
    }
  }
  if (!store.direct) {
    for (int64_t r = 0; r < Rows; ++r)
      for (int64_t v = 0; v < kVecs; ++v)
        storeVec<Lanes>(store.acc + r * kPanel + col + v * Lanes, sum[r][v]);
    return;
  }
  // add[r] may be dst[r]: each vector is loaded before it is stored.
  for (int64_t r = 0; r < Rows; ++r)
    for (int64_t v = 0; v < kVecs; ++v) {
      int64_t c = col + v * Lanes;
      Vec t = sum[r][v] + loadVec<Lanes>(store.bias + c);
      if (store.withAdd)
        t = loadVec<Lanes>(store.add[r] + c) + t;
      storeVec<Lanes>(store.dst[r] + c, t);
    }
}

// The 6-row kernel, a third of a panel at a time, cloned for AVX2+FMA and
// the x86-64 baseline and picked at load time: one portable binary that
// still uses FMA where it can.
#ifdef CLUSOPT_WIDE_GEMM
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void microKernel(const TileRows &x, const float *panel,
                 const TileStore &store) {
  for (int64_t col = 0; col < kPanel; col += kNarrowWidth)
    microKernelBody<kMicroRows, kNarrowWidth, 8>(x, panel + col, store, col);
}

#ifdef CLUSOPT_WIDE_GEMM
// The AVX-512 kernels, called only where the CPU has it: 8 rows of a full
// panel, and narrower ones for a task's last tile when it has 4 rows or
// fewer (stage 4's 49 tokens leave a 1-row tile, stage 3's 196 a 4-row
// one) and for a GEMM's last panel when it has 32 or 16 columns or fewer
// (320, 1280, 100 and 1000 outputs), which would otherwise spend FMAs on
// repeated rows and zero columns. no-prefer-256-bit lets clang use zmm
// registers, which x86-64-v4 alone does not.
template <int64_t Rows, int64_t Width>
__attribute__((target("arch=x86-64-v4,no-prefer-256-bit"))) void
wideMicroKernel(const TileRows &x, const float *panel, const TileStore &store) {
  microKernelBody<Rows, Width, 16>(x, panel, store, 0);
}

using WideKernel = void (*)(const TileRows &, const float *, const TileStore &);

// The kernel for a tile of `rows` rows and `cols` columns.
WideKernel pickWideKernel(int64_t rows, int64_t cols) {
  constexpr int64_t kHalf = kWideMicroRows / 2;
  if (rows <= kHalf)
    return cols <= 16   ? &wideMicroKernel<kHalf, 16>
           : cols <= 32 ? &wideMicroKernel<kHalf, 32>
                        : &wideMicroKernel<kHalf, kPanel>;
  return cols <= 16   ? &wideMicroKernel<kWideMicroRows, 16>
         : cols <= 32 ? &wideMicroKernel<kWideMicroRows, 32>
                      : &wideMicroKernel<kWideMicroRows, kPanel>;
}
#endif

enum class StoreMode { Plain, Gelu, Accumulate, Residual };

// Stores `rows` rows of a micro-kernel's accumulators (row stride
// kPanel), `cols` of them, plus bias, to dst[r]: as they are, through
// GELU, added to what dst[r] holds, or added to a residual row
// add[r] + col. The modes are separate loops so that each vectorises
// without runtime alias checks (dst may be the residual itself).
CLUSOPT_VECTOR_CLONES void storeTile(const float *acc, int64_t rows,
                                     int64_t cols, const float *bias,
                                     float *const *dst, const float *const *add,
                                     int64_t col, StoreMode mode) {
  for (int64_t r = 0; r < rows; ++r) {
    float *__restrict d = dst[r];
    const float *__restrict a = acc + r * kPanel;
    switch (mode) {
    case StoreMode::Plain:
      for (int64_t c = 0; c < cols; ++c)
        d[c] = a[c] + bias[c];
      break;
    case StoreMode::Gelu:
      for (int64_t c = 0; c < cols; ++c)
        d[c] = a[c] + bias[c];
      geluSpan(d, cols);
      break;
    case StoreMode::Accumulate:
      for (int64_t c = 0; c < cols; ++c)
        d[c] += a[c] + bias[c];
      break;
    case StoreMode::Residual: {
      const float *__restrict s = add[r] + col;
      for (int64_t c = 0; c < cols; ++c)
        d[c] = s[c] + (a[c] + bias[c]);
      break;
    }
    }
  }
}

// Row addressing of GemmOperands for one GEMM of a batch.
struct Rows {
  const GemmOperands &io;
  const float *x;
  float *y;
  const float *add;
  int64_t in, out, xRowStride, yRowStride, addRowStride;

  // Distance from one segment of a row to the next.
  int64_t segmentStride() const {
    if (io.hasWindow)
      return io.window.w * io.window.cin;
    return io.xHeads == 1 ? 0 : io.tokens * (in / io.xHeads);
  }
  // Where row r's first segment starts, or null for a window that crosses
  // the image's border (gathered by gather).
  const float *rowStart(int64_t r) const {
    if (io.hasWindow) {
      const GemmOperands::Window &c = io.window;
      int64_t pixels = c.ho * c.wo, b = r / pixels, oy = r % pixels / c.wo,
              ox = r % c.wo;
      int64_t iy0 = oy * c.s - c.p, ix0 = ox * c.s - c.p;
      if (iy0 < 0 || iy0 + c.k > c.h || ix0 < 0 || ix0 + c.k > c.w)
        return nullptr;
      return x + ((b * c.h + iy0) * c.w + ix0) * c.cin;
    }
    if (io.xHeads == 1)
      return x + r * xRowStride;
    return x + ((r / io.tokens) * io.xHeads * io.tokens + r % io.tokens) *
                   (in / io.xHeads);
  }
  // Row r's whole window, zero-padded, gathered into `scratch`.
  const float *gather(int64_t r, float *scratch) const {
    const GemmOperands::Window &c = io.window;
    int64_t pixels = c.ho * c.wo;
    gatherWindow(x + r / pixels * c.h * c.w * c.cin, scratch, r % pixels / c.wo,
                 r % c.wo, c.h, c.w, c.cin, c.k, c.s, c.p);
    return scratch;
  }
  // Where row r's results start in y (its first head's, when split).
  float *resultStart(int64_t r) const {
    if (io.yHeads == 1)
      return y + r * yRowStride;
    return y + ((r / io.tokens) * io.yHeads * io.tokens + r % io.tokens) *
                   (out / io.yHeads);
  }
};

} // namespace

void clusopt::ukernel::gatherWindow(const float *img, float *dst, int64_t oy,
                                    int64_t ox, int64_t h, int64_t w,
                                    int64_t cin, int64_t k, int64_t s,
                                    int64_t p) {
  // Away from the left and right edges a window row is one copy of k
  // neighbouring pixels.
  int64_t ix0 = ox * s - p;
  bool inside = ix0 >= 0 && ix0 + k <= w;
  for (int64_t ky = 0; ky < k; ++ky, dst += k * cin) {
    int64_t iy = oy * s + ky - p;
    if (iy < 0 || iy >= h) {
      std::memset(dst, 0, k * cin * sizeof(float));
      continue;
    }
    const float *row = img + iy * w * cin;
    if (inside) {
      std::memcpy(dst, row + ix0 * cin, k * cin * sizeof(float));
      continue;
    }
    for (int64_t kx = 0; kx < k; ++kx) {
      int64_t ix = ix0 + kx;
      if (ix < 0 || ix >= w)
        std::memset(dst + kx * cin, 0, cin * sizeof(float));
      else
        std::memcpy(dst + kx * cin, row + ix * cin, cin * sizeof(float));
    }
  }
}

#ifdef CLUSOPT_WIDE_GEMM
namespace {

// Swaps the off-diagonal H×H blocks of each 2H×2H block of the 16×16
// matrix whose rows are r[i] and r[i + H]: after the steps for H = 8, 4,
// 2 and 1, the 16 rows hold the transpose (64 two-source shuffles).
template <int64_t H, size_t... J>
[[gnu::always_inline]] inline void swapBlocks(VecOf<16> &lo, VecOf<16> &hi,
                                              std::index_sequence<J...>) {
  VecOf<16> a =
      __builtin_shufflevector(lo, hi, ((J & H) == 0 ? J : 16 + J - H)...);
  VecOf<16> b =
      __builtin_shufflevector(lo, hi, ((J & H) == 0 ? J + H : 16 + J)...);
  lo = a;
  hi = b;
}

template <int64_t H>
[[gnu::always_inline]] inline void transposeStep(VecOf<16> *r) {
  for (int64_t i = 0; i < 16; ++i)
    if ((i & H) == 0)
      swapBlocks<H>(r[i], r[i + H], std::make_index_sequence<16>());
}

// One full panel of B from Bᵀ (kPanel rows of k floats, ld apart): B's
// weights as PyTorch stores them, [N, K]. The scalar packing gathered
// each panel row from 48 rows of Bᵀ, and cost generated code (which packs
// on every call) up to half a deep GEMM's time; this moves 16×16 blocks
// through registers.
__attribute__((target("arch=x86-64-v4,no-prefer-256-bit"))) void
packTransposedPanel(const float *bt, int64_t k, int64_t ld, float *dst) {
  int64_t i = 0;
  for (; i + 16 <= k; i += 16)
    for (int64_t c0 = 0; c0 < kPanel; c0 += 16) {
      VecOf<16> r[16];
      for (int64_t j = 0; j < 16; ++j)
        std::memcpy(&r[j], bt + (c0 + j) * ld + i, sizeof(r[j]));
      transposeStep<8>(r);
      transposeStep<4>(r);
      transposeStep<2>(r);
      transposeStep<1>(r);
      for (int64_t j = 0; j < 16; ++j)
        std::memcpy(dst + (i + j) * kPanel + c0, &r[j], sizeof(r[j]));
    }
  for (; i < k; ++i)
    for (int64_t c = 0; c < kPanel; ++c)
      dst[i * kPanel + c] = bt[c * ld + i];
}

} // namespace
#endif

void clusopt::ukernel::packPanels(const float *b, int64_t k, int64_t n,
                                  int64_t rowStride, int64_t colStride,
                                  float *dst) {
  int64_t panels = (n + kPanel - 1) / kPanel;
#ifdef CLUSOPT_WIDE_GEMM
  // Full panels of a B with a contiguous reduction axis, where AVX-512 is.
  if (rowStride == 1 && colStride != 1 && hasAvx512()) {
    for (; panels > 0 && n >= kPanel; --panels, n -= kPanel) {
      packTransposedPanel(b, k, colStride, dst);
      b += kPanel * colStride;
      dst += k * kPanel;
    }
  }
#endif
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t i = 0; i < k; ++i) {
      float *d = dst + (p * k + i) * kPanel;
      const float *s = b + i * rowStride;
      int64_t c0 = p * kPanel, cols = std::min(kPanel, n - c0);
      for (int64_t c = 0; c < cols; ++c)
        d[c] = s[(c0 + c) * colStride];
      for (int64_t c = cols; c < kPanel; ++c)
        d[c] = 0.0f;
    }
}

void clusopt::ukernel::gemm(const GemmOperands &io, int64_t rows, int64_t in,
                            int64_t out, const float *packed,
                            const float *bias) {
  int64_t panels = (out + kPanel - 1) / kPanel;
  int64_t rowTasks = (rows + kTaskRows - 1) / kTaskRows;
  if (panels == 0 || rowTasks == 0 || io.batch < 1)
    return;
  // No bias adds zeros, so the epilogue has one form.
  static const float kNoBias[kPanel] = {};
  int64_t segments = io.hasWindow ? io.window.k : io.xHeads,
          depth = in / segments;
  // Split results: head h of a row sits h·headStride after its first.
  int64_t headDim = out / io.yHeads, headStride = io.tokens * headDim;
  int64_t xRowStride = io.xRowStride != kDenseRows ? io.xRowStride : in;
  int64_t yRowStride = io.yRowStride != kDenseRows ? io.yRowStride : out;
  int64_t addRowStride = io.addRowStride != kDenseRows ? io.addRowStride : out;
#ifdef CLUSOPT_WIDE_GEMM
  bool wide = hasAvx512();
#else
  bool wide = false;
#endif
  int64_t step = wide ? kWideMicroRows : kMicroRows;
  // Tasks are (row block, panel) pairs, so small-row GEMMs (late stages,
  // the head) still spread over the threads. Consecutive tasks share the
  // operand that is the larger one to reload: a row block of x while the
  // weights are the smaller (early stages, many tokens), else a panel, so
  // that late stages read each weight panel from memory once per GEMM
  // instead of once per row block.
  bool panelMajor = out > rows;
  // Shallow GEMMs prefetch the next tile's rows of y while the
  // micro-kernel runs (without it, stage 1's and 2's MLPs took 1.01-1.02x
  // the time). They prefetched its rows of x too while x came from L3;
  // since parallelFor's owned shares keep a thread's rows of x in its own
  // L2, stage 1's GEMMs took 0.96-0.98x the time without that (16 rounds,
  // both orders). For deeper GEMMs the extra lines cost more than they
  // saved (1.04-1.07x), their x rows being reused across many panels.
  bool prefetchNext = in <= kMaxPrefetchDepth && !io.hasWindow;
  // The epilogue of tiles that storeTile stores (GELU after a residual is
  // a separate pass over the stored rows).
  bool accumulate = io.add && io.add == io.y && addRowStride == yRowStride &&
                    io.addBatchStride == io.yBatchStride;
  StoreMode mode = accumulate ? StoreMode::Accumulate
                   : io.add   ? StoreMode::Residual
                   : io.gelu  ? StoreMode::Gelu
                              : StoreMode::Plain;
  bool geluAfterStore = io.gelu && mode != StoreMode::Gelu;
  int64_t tasksPerGemm = rowTasks * panels;
  parallelFor(0, io.batch * tasksPerGemm, [&](int64_t task) {
    int64_t g = task / tasksPerGemm;
    task %= tasksPerGemm;
    Rows at{io,
            io.x + g * io.xBatchStride,
            io.y + g * io.yBatchStride,
            io.add ? io.add + g * io.addBatchStride : nullptr,
            in,
            out,
            xRowStride,
            yRowStride,
            addRowStride};
    int64_t segmentStride = at.segmentStride();
    int64_t p = panelMajor ? task / rowTasks : task % panels;
    int64_t rowBlock = panelMajor ? task % rowTasks : task / panels;
    const float *panel = packed + g * io.panelsBatchStride + p * in * kPanel;
    int64_t col0 = p * kPanel, colEnd = std::min(out, col0 + kPanel);
    const float *panelBias = bias ? bias + col0 : kNoBias;
    int64_t rowEnd = std::min(rows, (rowBlock + 1) * kTaskRows);
    // Direct stores need the whole panel inside one head of y.
    int64_t firstHead = col0 / headDim;
    bool direct =
        colEnd - col0 == kPanel && (colEnd - 1) / headDim == firstHead;
    // Where the rows past a tile's last go.
    float junk[kPanel] = {};
    // Border windows, gathered: one window per micro-kernel row, in a
    // buffer made (uninitialised) when a task first meets one: zeroing one
    // per task had cost about 7 MB of memset per PaCa forward.
    float *scratch = nullptr;
    for (int64_t r0 = rowBlock * kTaskRows; r0 < rowEnd; r0 += step) {
      int64_t n = std::min(step, rowEnd - r0);
      // Rows past `n` repeat the last one; their results are dropped.
      TileRows tile;
      tile.segments = segments;
      tile.depth = depth;
      for (int64_t r = 0; r < step; ++r) {
        int64_t row = r0 + std::min(r, n - 1);
        tile.start[r] = at.rowStart(row);
        tile.stride[r] = segmentStride;
        if (!tile.start[r]) {
          if (!scratch)
            scratch =
                static_cast<float *>(std::malloc(step * in * sizeof(float)));
          tile.start[r] = at.gather(row, scratch + r * in);
          tile.stride[r] = depth;
        }
      }
      float *result[kWideMicroRows];
      const float *add[kWideMicroRows];
      for (int64_t r = 0; r < n; ++r) {
        result[r] = at.resultStart(r0 + r);
        if (at.add)
          add[r] = at.add + (r0 + r) * addRowStride;
      }
      float acc[kWideMicroRows][kPanel];
      TileStore store;
      store.bias = panelBias;
      store.acc = acc[0];
      store.direct = direct;
      if (direct) {
        store.withAdd = at.add;
        for (int64_t r = 0; r < step; ++r) {
          // Rows past `n` go to a scratch row.
          store.dst[r] = r < n ? result[r] + firstHead * headStride +
                                     (col0 - firstHead * headDim)
                               : junk;
          store.add[r] = at.add && r < n ? add[r] + col0 : junk;
        }
      }
      if (prefetchNext && direct)
        for (int64_t row = r0 + step; row < std::min(rowEnd, r0 + 2 * step);
             ++row) {
          float *dst = at.resultStart(row) + firstHead * headStride +
                       (col0 - firstHead * headDim);
          for (int64_t c = 0; c < kPanel; c += 16)
            __builtin_prefetch(dst + c, 1, 3);
        }
#ifdef CLUSOPT_WIDE_GEMM
      if (wide)
        pickWideKernel(n, colEnd - col0)(tile, panel, store);
      else
#endif
        microKernel(tile, panel, store);
      if (store.direct) {
        if (io.gelu)
          for (int64_t r = 0; r < n; ++r)
            geluSpan(store.dst[r], kPanel);
        continue;
      }
      // Stores per run of columns inside one head of y.
      float *dst[kWideMicroRows];
      for (int64_t c = col0, cEnd; c < colEnd; c = cEnd) {
        int64_t head = c / headDim, within = c - head * headDim;
        cEnd = std::min(colEnd, (head + 1) * headDim);
        for (int64_t r = 0; r < n; ++r)
          dst[r] = result[r] + head * headStride + within;
        storeTile(acc[0] + (c - col0), n, cEnd - c, panelBias + (c - col0), dst,
                  add, c, mode);
        if (geluAfterStore)
          for (int64_t r = 0; r < n; ++r)
            geluSpan(dst[r], cEnd - c);
      }
    }
    std::free(scratch);
  });
}

//===----------------------------------------------------------------------===//
// C ABI
//===----------------------------------------------------------------------===//

namespace {

// Floats aligned for the kernels' vector loads; null when `count` is 0.
float *allocateFloats(int64_t count) {
  if (count <= 0)
    return nullptr;
  size_t bytes = (static_cast<size_t>(count) * sizeof(float) + 63) / 64 * 64;
  return static_cast<float *>(std::aligned_alloc(64, bytes));
}

// Copies of fewer floats than this run on the calling thread: waking the
// pool (a futex wake per thread when libomp's threads sleep between
// regions) costs more than they do.
constexpr int64_t kSerialCopyFloats = 1 << 16;

// body(i) for i in [0, tasks), in parallel when the tasks move `floats`
// floats or more in all.
template <typename Body>
void forEach(int64_t tasks, int64_t floats, const Body &body) {
  if (floats < kSerialCopyFloats) {
    for (int64_t i = 0; i < tasks; ++i)
      body(i);
    return;
  }
  parallelFor(0, tasks, body);
}

} // namespace

extern "C" void clusopt_ukernel_gemm_f32(
    const float *a, const float *b, float *c, const float *bias,
    const float *residual, int64_t batch, int64_t m, int64_t n, int64_t k,
    int64_t aBatchStride, int64_t aRowStride, int64_t aColStride,
    int64_t bBatchStride, int64_t bRowStride, int64_t bColStride,
    int64_t cBatchStride, int64_t cRowStride, int64_t residualBatchStride,
    int64_t residualRowStride, int64_t flags) {
  if (batch <= 0 || m <= 0 || n <= 0)
    return;
  // Rows of A must be contiguous for the micro-kernels: a transposed or
  // strided A is copied into rows first (O(m·k), against the O(m·n·k)
  // GEMM).
  float *rowsOfA = nullptr;
  if (aColStride != 1 && k > 1) {
    rowsOfA = allocateFloats(batch * m * k);
    forEach(batch * m, batch * m * k, [&](int64_t row) {
      const float *src = a + row / m * aBatchStride + row % m * aRowStride;
      float *dst = rowsOfA + row * k;
      for (int64_t i = 0; i < k; ++i)
        dst[i] = src[i * aColStride];
    });
    a = rowsOfA;
    aRowStride = k;
    aBatchStride = m * k;
  }
  int64_t panelsSize = packedPanelsSize(k, n);
  int64_t packedBatches = bBatchStride == 0 ? 1 : batch;
  int64_t panelCount = (n + kPanel - 1) / kPanel;
  // Fewer rows than columns and a large B: each weight is used by few
  // rows, so packing all of B first (written to memory, read back by the
  // GEMM) cost up to half the call. Each task instead packs one panel
  // into a buffer that stays in its core's cache and runs its rows
  // against it. With fewer panels than threads the rows are split too
  // (each part packs its panel again, and packing took a third as long as
  // the micro-kernels at 49x1536x384, so not just to even out, say, 7
  // panels on 2 threads).
  if (m < n && batch == packedBatches &&
      packedBatches * panelsSize >= kSerialCopyFloats) {
    int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    int64_t tasks = batch * panelCount,
            parts = tasks >= threads
                        ? 1
                        : std::min((2 * threads + tasks - 1) / tasks,
                                   (m + kTaskRows - 1) / kTaskRows);
    int64_t partRows = (m + parts - 1) / parts;
    parallelFor(0, tasks * parts, [&](int64_t task) {
      int64_t g = task / parts / panelCount, p = task / parts % panelCount;
      int64_t row0 = task % parts * partRows,
              rows = std::min(m - row0, partRows);
      int64_t c0 = p * kPanel, cols = std::min(kPanel, n - c0);
      if (rows <= 0)
        return;
      float *panel = allocateFloats(k * kPanel);
      packPanels(b + g * bBatchStride + c0 * bColStride, k, cols, bRowStride,
                 bColStride, panel);
      GemmOperands io;
      io.x = a + g * aBatchStride + row0 * aRowStride;
      io.xRowStride = aRowStride;
      io.y = c + g * cBatchStride + row0 * cRowStride + c0;
      io.yRowStride = cRowStride;
      io.add = residual ? residual + g * residualBatchStride +
                              row0 * residualRowStride + c0
                        : nullptr;
      io.addRowStride = residualRowStride;
      io.gelu = flags & CLUSOPT_UKERNEL_GELU;
      // Inside the parallel region: on this thread.
      gemm(io, rows, k, cols, panel, bias ? bias + c0 : nullptr);
      std::free(panel);
    });
    std::free(rowsOfA);
    return;
  }
  // B once per batch (once in all when it is shared), in panels.
  float *panels = allocateFloats(packedBatches * panelsSize);
  forEach(packedBatches * panelCount, packedBatches * panelsSize,
          [&](int64_t task) {
            int64_t g = task / panelCount, p = task % panelCount;
            int64_t c0 = p * kPanel;
            packPanels(b + g * bBatchStride + c0 * bColStride, k,
                       std::min(kPanel, n - c0), bRowStride, bColStride,
                       panels + g * panelsSize + p * k * kPanel);
          });
  GemmOperands io;
  io.x = a;
  io.xRowStride = aRowStride;
  io.xBatchStride = aBatchStride;
  io.y = c;
  io.yRowStride = cRowStride;
  io.yBatchStride = cBatchStride;
  io.add = residual;
  io.addRowStride = residualRowStride;
  io.addBatchStride = residualBatchStride;
  io.gelu = flags & CLUSOPT_UKERNEL_GELU;
  io.batch = batch;
  io.panelsBatchStride = bBatchStride == 0 ? 0 : panelsSize;
  gemm(io, m, k, n, panels, bias);
  std::free(rowsOfA);
  std::free(panels);
}
