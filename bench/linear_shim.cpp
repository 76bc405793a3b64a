//===- linear_shim.cpp - runtime::Linear for bench/linalg_kernels.py ------===//
//
// A C entry to the runtime's Linear (packed once, then applied), so that the
// benchmark times it in the same process as the compiled matmul and
// PyTorch. bench/linalg_kernels.py builds it against build/lib.
//
//===----------------------------------------------------------------------===//

#include "runtime/Layers.h"

using namespace clusopt::runtime;

extern "C" {

/// Packs weight [out, in] (PyTorch's layout) and bias [out]; null on error.
void *shim_linear_create(const float *weight, const float *bias, int64_t out,
                         int64_t in) {
  auto w = Tensor::empty(DType::F32, {out, in});
  auto b = Tensor::empty(DType::F32, {out});
  if (!w || !b) {
    llvm::consumeError(w.takeError());
    llvm::consumeError(b.takeError());
    return nullptr;
  }
  std::copy(weight, weight + out * in, w->data<float>());
  std::copy(bias, bias + out, b->data<float>());
  auto linear = Linear::create(*w, std::move(*b));
  if (!linear) {
    llvm::consumeError(linear.takeError());
    return nullptr;
  }
  return new Linear(std::move(*linear));
}

/// y [rows, out] = x [rows, in] · Wᵀ + b.
void shim_linear_apply(void *linear, const float *x, int64_t rows, float *y) {
  static_cast<Linear *>(linear)->apply(x, rows, y);
}

void shim_linear_destroy(void *linear) { delete static_cast<Linear *>(linear); }
}
