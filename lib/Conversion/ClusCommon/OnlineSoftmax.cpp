//===- OnlineSoftmax.cpp - the online-softmax step of clus kernels --------===//

#include "lib/Conversion/ClusCommon/OnlineSoftmax.h"

#include <limits>

using namespace mlir;
using namespace clusopt;

static constexpr double kInf = std::numeric_limits<double>::infinity();

SmallVector<OnlineSoftmaxStep> clusopt::onlineSoftmaxStep(
    KernelBuilder &k, ArrayRef<SoftmaxStats> running,
    function_ref<SmallVector<Value>()> tileMaxes,
    function_ref<SmallVector<Value>(ArrayRef<Value>,
                                    function_ref<Value(int64_t)>)>
        addExps,
    function_ref<void(ArrayRef<Value>)> rescale) {
  SmallVector<Value> tile = tileMaxes();
  size_t rows = running.size();
  SmallVector<OnlineSoftmaxStep> steps(rows);
  SmallVector<Value> maxes, corrections;
  for (size_t r = 0; r < rows; ++r) {
    steps[r].max = k.maxf(running[r].max, tile[r]);
    maxes.push_back(steps[r].max);
  }
  for (size_t r = 0; r < rows; ++r) {
    steps[r].correction = k.exp(k.subf(running[r].max, steps[r].max));
    corrections.push_back(steps[r].correction);
  }
  SmallVector<Value> sums = addExps(maxes, [&](int64_t r) {
    return k.mulf(running[r].sum, steps[r].correction);
  });
  for (size_t r = 0; r < rows; ++r)
    steps[r].sum = sums[r];
  if (rescale)
    rescale(corrections);
  return steps;
}

OnlineSoftmaxStep
clusopt::onlineSoftmaxScore(KernelBuilder &k, SoftmaxStats running, Value score,
                            Value &p,
                            function_ref<void(ArrayRef<Value>)> rescale) {
  return onlineSoftmaxStep(
      k, {running}, [&] { return SmallVector<Value>{score}; },
      [&](ArrayRef<Value> maxes, function_ref<Value(int64_t)> scaledSum) {
        p = k.exp(k.subf(score, maxes[0]));
        return SmallVector<Value>{k.addf(scaledSum(0), p)};
      },
      rescale)[0];
}

//===----------------------------------------------------------------------===//
// The vector form
//===----------------------------------------------------------------------===//

Value clusopt::maxForExp(KernelBuilder &k, Value a, Value b) {
  return k.select(k.cmpf(arith::CmpFPredicate::OGT, a, b), a, b);
}

Value clusopt::laneMax(KernelBuilder &k, Value lanes) {
  for (int64_t half = k.width / 2; half >= 1; half /= 2) {
    SmallVector<int64_t> mask;
    for (int64_t i = 0; i < k.width; ++i)
      mask.push_back((i + half) % k.width);
    lanes = maxForExp(
        k, lanes, vector::ShuffleOp::create(k.b, k.loc, lanes, lanes, mask));
  }
  return vector::ExtractOp::create(k.b, k.loc, lanes, ArrayRef<int64_t>{0});
}

Value clusopt::laneSum(KernelBuilder &k, Value lanes) {
  auto sum = vector::ReductionOp::create(k.b, k.loc, vector::CombiningKind::ADD,
                                         lanes);
  sum.setFastmath(arith::FastMathFlags::reassoc);
  return sum;
}

SmallVector<Value>
clusopt::maxLanesOfRows(KernelBuilder &k, int64_t rows, Value len,
                        function_ref<Value(int64_t, Value)> at) {
  return k.loop(k.idx(0), len, k.idx(k.width),
                SmallVector<Value>(rows, k.splat(-kInf)),
                [&](Value j, ValueRange a) -> SmallVector<Value> {
                  SmallVector<Value> next;
                  for (int64_t r = 0; r < rows; ++r)
                    next.push_back(maxForExp(k, a[r], at(r, j)));
                  return next;
                });
}

SmallVector<Value>
clusopt::sumExpLanesOfRows(KernelBuilder &k, int64_t rows, Value len,
                           ArrayRef<Value> maxes,
                           function_ref<Value(int64_t, Value)> at,
                           function_ref<void(int64_t, Value, Value)> store) {
  SmallVector<Value> maxVecs;
  for (Value max : maxes)
    maxVecs.push_back(k.splat(max));
  return k.loop(k.idx(0), len, k.idx(k.width),
                SmallVector<Value>(rows, k.splat(0.0)),
                [&](Value j, ValueRange a) -> SmallVector<Value> {
                  SmallVector<Value> next;
                  for (int64_t r = 0; r < rows; ++r) {
                    Value e = k.exp(k.subf(at(r, j), maxVecs[r]));
                    if (store)
                      store(r, j, e);
                    next.push_back(k.addf(a[r], e));
                  }
                  return next;
                });
}

Value clusopt::maxOverVectors(KernelBuilder &k, Value len,
                              function_ref<Value(Value)> at) {
  return laneMax(
      k, maxLanesOfRows(k, 1, len, [&](int64_t, Value j) { return at(j); })[0]);
}

Value clusopt::sumExpOverVectors(KernelBuilder &k, Value len, Value max,
                                 function_ref<Value(Value)> at,
                                 function_ref<void(Value, Value)> store) {
  auto storeRow = [&](int64_t, Value j, Value e) { store(j, e); };
  return laneSum(k,
                 sumExpLanesOfRows(
                     k, 1, len, {max}, [&](int64_t, Value j) { return at(j); },
                     store ? function_ref<void(int64_t, Value, Value)>(storeRow)
                           : nullptr)[0]);
}

SmallVector<OnlineSoftmaxStep>
clusopt::onlineSoftmaxRows(KernelBuilder &k, int64_t rows,
                           function_ref<Value(int64_t, Value)> scoresAt,
                           Value p, Value len, ValueRange state) {
  SmallVector<SoftmaxStats> running;
  for (int64_t r = 0; r < rows; ++r)
    running.push_back({state[2 * r], state[2 * r + 1]});
  return onlineSoftmaxStep(
      k, running,
      [&] {
        SmallVector<Value> maxes;
        for (Value lanes : maxLanesOfRows(k, rows, len, scoresAt))
          maxes.push_back(laneMax(k, lanes));
        return maxes;
      },
      [&](ArrayRef<Value> maxes, function_ref<Value(int64_t)> scaledSum) {
        SmallVector<Value> sumLanes = sumExpLanesOfRows(
            k, rows, len, maxes, scoresAt, [&](int64_t r, Value j, Value e) {
              k.writeVec(e, p, {k.idx(r), j}, true);
            });
        SmallVector<Value> out;
        for (int64_t r = 0; r < rows; ++r)
          out.push_back(k.addf(scaledSum(r), laneSum(k, sumLanes[r])));
        return out;
      });
}
