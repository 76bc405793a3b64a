//===- Registry.cpp - Models by name, loaded from their weights -----------===//

#include "runtime/models/Registry.h"

#include "runtime/models/CastVit.h"
#include "runtime/models/PacaVit.h"

#include "llvm/Support/FormatVariadic.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>

using namespace llvm;

namespace clusopt::runtime {

Expected<ModelFamily> modelFamily(StringRef name) {
  if (name == "cast_vit" || name == "vit_dense")
    return ModelFamily::Cast;
  if (name.starts_with("clustr")) {
    if (Expected<ClusTRConfig> config = ClusTRConfig::byName(name); !config)
      return config.takeError();
    return ModelFamily::ClusTR;
  }
  if (Expected<PacaConfig> config = PacaConfig::byName(name); !config) {
    consumeError(config.takeError());
    return createStringError(
        "unknown model '" + name +
        "' (known: paca_tiny, paca_small, paca_base, each also as *_dense; "
        "clustr_b1, clustr_b2, clustr_b3; cast_vit, vit_dense)");
  }
  return ModelFamily::Paca;
}

std::string defaultKernelsPath(ModelFamily family) {
  const char *env = family == ModelFamily::Cast     ? "CLUSOPT_CAST_KERNELS"
                    : family == ModelFamily::ClusTR ? "CLUSOPT_CLUSTR_KERNELS"
                                                    : "CLUSOPT_PACA_KERNELS";
  if (const char *value = std::getenv(env); value && *value)
    return value;
  StringRef builtPath = family == ModelFamily::Cast ? CLUSOPT_CAST_KERNELS_PATH
                        : family == ModelFamily::ClusTR
                            ? CLUSOPT_CLUSTR_KERNELS_PATH
                            : CLUSOPT_PACA_KERNELS_PATH;
  // An installed clusopt (cmake/Install.cmake) keeps the kernels in
  // lib/kernels, beside bin/ (clusopt-run) and lib/ (libclusopt_runtime.so):
  // look there relative to the file this code was loaded from, which is
  // not /proc/self/exe when the C API runs inside Python.
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&defaultKernelsPath), &info) &&
      info.dli_fname) {
    SmallString<256> module, installed;
    if (!sys::fs::real_path(info.dli_fname, module)) {
      installed = sys::path::parent_path(module);
      sys::path::append(installed, CLUSOPT_INSTALLED_KERNELS_DIR,
                        sys::path::filename(builtPath));
      sys::path::remove_dots(installed, /*remove_dot_dot=*/true);
      if (sys::fs::exists(installed))
        return installed.str().str();
    }
  }
  return builtPath.str();
}

Expected<LoadedModel> loadModel(StringRef name, StringRef weightsPath,
                                const ModelOptions &options) {
  Expected<ModelFamily> family = modelFamily(name);
  if (!family)
    return family.takeError();
  LoadedModel loaded;
  std::string kernelsPath = options.kernelsPath.empty()
                                ? defaultKernelsPath(*family)
                                : options.kernelsPath;
  ASSIGN_OR_RETURN(loaded.kernels, KernelLibrary::open(kernelsPath));
  Expected<SafetensorsFile> weights = SafetensorsFile::open(weightsPath);
  if (!weights)
    return weights.takeError();
  auto fail = [&](Error err) {
    return createStringError(
        (weightsPath + ": " + toString(std::move(err))).str());
  };
  WeightShapes shapes; // the tensors the model uses
  switch (*family) {
  case ModelFamily::Cast: {
    Expected<CastConfig> config = CastConfig::byName(name);
    if (config)
      config = config->fitTo(*weights);
    if (!config)
      return fail(config.takeError());
    loaded.detail =
        formatv(" (depth {0}, {1} tokens", config->depth, config->tokens)
            .str() +
        (config->dense ? std::string(")")
                       : formatv(", capacity {0})", config->capacity()).str());
    shapes = config->weightShapes();
    auto model = CastVit::load(*config, *weights, *loaded.kernels);
    if (!model)
      return fail(model.takeError());
    loaded.model = std::move(*model);
    break;
  }
  case ModelFamily::ClusTR: {
    Expected<ClusTRConfig> config = ClusTRConfig::byName(name);
    if (!config)
      return config.takeError();
    shapes = config->weightShapes();
    auto model = ClusTR::load(*config, *weights, *loaded.kernels);
    if (!model)
      return fail(model.takeError());
    loaded.clustr = model->get();
    loaded.model = std::move(*model);
    break;
  }
  case ModelFamily::Paca: {
    Expected<PacaConfig> config = PacaConfig::byName(name);
    if (!config)
      return config.takeError();
    shapes = config->weightShapes();
    auto model = PacaVit::load(*config, *weights, *loaded.kernels);
    if (!model)
      return fail(model.takeError());
    loaded.model = std::move(*model);
    break;
  }
  }

  // Tensors of another model (paca_small's run as paca_tiny) or a
  // mistyped name would otherwise be ignored.
  std::vector<std::string> unused = unusedWeights(*weights, shapes);
  if (!unused.empty() && !options.allowUnusedWeights) {
    std::string names;
    for (size_t i = 0; i < std::min<size_t>(unused.size(), 5); ++i)
      names += (i ? ", '" : "'") + unused[i] + "'";
    return createStringError(
        formatv("{0}: {1} of its {2} tensors are not used by {3}: {4}{5} "
                "(another model's weights? --allow-unused-weights ignores "
                "them)",
                weightsPath, unused.size(), weights->tensors().size(),
                loaded.model->name(), names, unused.size() > 5 ? ", ..." : "")
            .str());
  }
  return loaded;
}

} // namespace clusopt::runtime
