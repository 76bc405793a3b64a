//===- CApi.cpp - libclusopt_runtime's C interface ------------------------===//
//
// Wraps runtime/models/Registry and runtime/Image for C callers: every
// llvm::Error becomes a return code and a thread-local message.
//
//===----------------------------------------------------------------------===//

#include "runtime/capi/clusopt_runtime.h"

#include "runtime/Image.h"
#include "runtime/Safetensors.h"
#include "runtime/ThreadPool.h"
#include "runtime/models/Registry.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>
#include <new>
#include <string>

using namespace clusopt::runtime;
using namespace llvm;

struct clusopt_model {
  LoadedModel loaded;
  int threads = 0;
};

namespace {

// Far above any real use (clusopt-run's limits).
constexpr int64_t kMaxBatch = 65536;
constexpr int64_t kMaxSide = 8192;
constexpr int kMaxThreads = 1024;

thread_local std::string lastError;

int fail(int code, const Twine &message) {
  lastError = message.str();
  return code;
}

int fail(int code, Error err) { return fail(code, toString(std::move(err))); }

} // namespace

extern "C" {

const char *clusopt_last_error(void) { return lastError.c_str(); }

int clusopt_model_open(const char *name, const char *weights_path,
                       const clusopt_model_options *options,
                       clusopt_model **model) {
  lastError.clear();
  if (!name || !weights_path || !model)
    return fail(CLUSOPT_ERROR_ARGUMENT, "clusopt_model_open: name, "
                                        "weights_path and model must not be "
                                        "null");
  *model = nullptr;
  if (Expected<ModelFamily> family = modelFamily(name); !family)
    return fail(CLUSOPT_ERROR_ARGUMENT, family.takeError());
  ModelOptions modelOptions;
  int threads = 0;
  if (options) {
    if (options->kernels_path)
      modelOptions.kernelsPath = options->kernels_path;
    modelOptions.allowUnusedWeights = options->allow_unused_weights != 0;
    threads = options->threads;
    if (threads < 0 || threads > kMaxThreads)
      return fail(CLUSOPT_ERROR_ARGUMENT,
                  formatv("threads must be from 0 (the default) to {0}, got "
                          "{1}",
                          kMaxThreads, threads));
  }
  Expected<LoadedModel> loaded = loadModel(name, weights_path, modelOptions);
  if (!loaded)
    return fail(CLUSOPT_ERROR_FILE, loaded.takeError());
  auto *result = new (std::nothrow) clusopt_model{std::move(*loaded), threads};
  if (!result)
    return fail(CLUSOPT_ERROR_RUN, "out of memory");
  *model = result;
  return CLUSOPT_OK;
}

int64_t clusopt_model_num_classes(const clusopt_model *model) {
  return model ? model->loaded.model->numClasses() : 0;
}

int64_t clusopt_model_resolution_multiple(const clusopt_model *model) {
  return model ? model->loaded.model->resolutionMultiple() : 0;
}

int64_t clusopt_model_default_resolution(const clusopt_model *model) {
  return model ? model->loaded.model->defaultResolution() : 0;
}

int clusopt_model_run(clusopt_model *model, const float *images, int64_t batch,
                      int64_t height, int64_t width, float *logits) {
  lastError.clear();
  if (!model || !images || !logits)
    return fail(CLUSOPT_ERROR_ARGUMENT, "clusopt_model_run: model, images "
                                        "and logits must not be null");
  const Model &m = *model->loaded.model;
  if (batch < 1 || batch > kMaxBatch)
    return fail(
        CLUSOPT_ERROR_ARGUMENT,
        formatv("batch must be from 1 to {0}, got {1}", kMaxBatch, batch));
  int64_t multiple = m.resolutionMultiple();
  if (height < 1 || width < 1 || height > kMaxSide || width > kMaxSide ||
      height % multiple || width % multiple)
    return fail(CLUSOPT_ERROR_ARGUMENT,
                formatv("images must be positive multiples of {0} up to {1} "
                        "on each side for {2}, got {3}x{4}",
                        multiple, kMaxSide, m.name(), height, width));
  Expected<Tensor> input = Tensor::empty(DType::F32, {batch, 3, height, width});
  if (!input)
    return fail(CLUSOPT_ERROR_RUN, input.takeError());
  std::memcpy(input->raw(), images, input->numBytes());
  if (std::string bad =
          nonFiniteSummary(input->data<float>(), input->numElements());
      !bad.empty())
    return fail(CLUSOPT_ERROR_ARGUMENT, "images: " + bad);
  if (model->threads > 0)
    ThreadPool::setNumThreads(model->threads);
  Expected<Tensor> output = m.forward(*input);
  if (!output)
    return fail(CLUSOPT_ERROR_ARGUMENT, output.takeError());
  if (int64_t bad = countNonFinite(*output))
    return fail(CLUSOPT_ERROR_RUN,
                formatv("{0} of {1} logits are not finite (NaN or infinite)",
                        bad, output->numElements()));
  std::memcpy(logits, output->raw(), output->numBytes());
  return CLUSOPT_OK;
}

void clusopt_model_close(clusopt_model *model) { delete model; }

int clusopt_image_load(const char *path, int64_t height, int64_t width,
                       double crop_pct, int interpolation, float *out) {
  lastError.clear();
  if (!path || !out)
    return fail(CLUSOPT_ERROR_ARGUMENT,
                "clusopt_image_load: path and out must not be null");
  if (height < 1 || width < 1 || height > kMaxSide || width > kMaxSide)
    return fail(CLUSOPT_ERROR_ARGUMENT,
                formatv("the size must be from 1 to {0} on each side, got "
                        "{1}x{2}",
                        kMaxSide, height, width));
  if (!(crop_pct >= 0.01 && crop_pct <= 1))
    return fail(
        CLUSOPT_ERROR_ARGUMENT,
        formatv("crop_pct must be a number from 0.01 to 1, got {0}", crop_pct));
  if (interpolation != CLUSOPT_BICUBIC && interpolation != CLUSOPT_BILINEAR)
    return fail(CLUSOPT_ERROR_ARGUMENT,
                formatv("interpolation must be CLUSOPT_BICUBIC (0) or "
                        "CLUSOPT_BILINEAR (1), got {0}",
                        interpolation));
  Expected<RgbImage> image = readImage(path);
  if (!image)
    return fail(CLUSOPT_ERROR_FILE, image.takeError());
  PreprocessOptions options;
  options.height = height;
  options.width = width;
  options.cropPct = crop_pct;
  options.interpolation = interpolation == CLUSOPT_BICUBIC
                              ? Interpolation::Bicubic
                              : Interpolation::Bilinear;
  Expected<Tensor> tensor = preprocessImage(*image, options);
  if (!tensor)
    return fail(CLUSOPT_ERROR_RUN,
                Twine(path) + ": " + toString(tensor.takeError()));
  std::memcpy(out, tensor->raw(), tensor->numBytes());
  return CLUSOPT_OK;
}

} // extern "C"
