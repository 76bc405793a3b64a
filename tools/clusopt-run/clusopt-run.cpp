//===- clusopt-run.cpp - Run a model on the runtime and generated kernels -===//
//
// Loads a model's weights (safetensors) and its generated kernels, runs it
// on an image or a random batch, and prints the logits, the top-k classes
// (softmax probabilities, ImageNet names; or JSON with --json),
// the median latency and, with --profile, the time per layer.
//
//===----------------------------------------------------------------------===//

#include "lib/Support/CommandLine.h"
#include "lib/Support/InputFile.h"
#include "lib/Support/OutputFiles.h"
#include "runtime/Image.h"
#include "runtime/KernelLibrary.h"
#include "runtime/Safetensors.h"
#include "runtime/ThreadPool.h"
#include "runtime/models/CastVit.h"
#include "runtime/models/ClusTR.h"
#include "runtime/models/PacaVit.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#ifdef __GLIBC__
#include <malloc.h>
#endif

using namespace clusopt::runtime;
using namespace llvm;

static cl::OptionCategory category("clusopt-run options");

// Limits on the integer flags: far above any real use, low enough that a
// typo fails at once instead of in an allocation or inside libomp. Every
// integer flag is parsed as int64_t and range-checked (cl's unsigned parser
// rejects "-1" with a generic message, and an int64_t option mixed with an
// int in `?:` narrows to int: --batch 4294967297 used to run with batch 1).
constexpr int64_t kMaxBatch = 65536;
constexpr int64_t kMaxResolution = 8192;
constexpr int64_t kMaxRuns = 100000;
constexpr int64_t kMaxThreads = 1024;
static cl::opt<std::string>
    modelName("model",
              cl::desc("Model: paca_tiny, paca_small, paca_base, each also "
                       "as *_dense (clusters [0, 0, 0, 0]); clustr_b1, "
                       "clustr_b2 or clustr_b3; cast_vit or vit_dense (depth "
                       "and resolution from the weights)"),
              cl::init("paca_tiny"), cl::cat(category));
static cl::opt<std::string> weightsPath(
    "weights",
    cl::desc("Weights (safetensors, f32, PyTorch state_dict names); every "
             "tensor is checked against the model's config (name, dtype, "
             "shape, finite values), and tensors the model does not use are "
             "an error"),
    cl::Required, cl::cat(category));
static cl::opt<bool> allowUnusedWeights(
    "allow-unused-weights",
    cl::desc("Ignore tensors in --weights that the model does not use"),
    cl::cat(category));
static cl::opt<std::string> imagePath(
    "image",
    cl::desc("Input images: a PNG (any bit depth and colour type) or JPEG "
             "(baseline or progressive; gray, colour or CMYK), by the "
             "signature, decoded, alpha dropped, preprocessed as timm "
             "evaluates (resized, aspect kept, to cover --resolution / "
             "--crop-pct with PIL's antialiased --interpolation, centre "
             "crop to --resolution, ImageNet mean and std), then "
             "replicated --batch times; or, already preprocessed, a .npy of "
             "float32 or float64 [B, 3, H, W] or [3, H, W] (C order), or a "
             ".bin of raw little-endian float32 NCHW whose shape is --batch "
             "x 3 x --resolution x --resolution"),
    cl::cat(category));
static cl::opt<bool>
    randomImage("random",
                cl::desc("Run on seeded standard-normal images instead"),
                cl::cat(category));
static cl::opt<int64_t> seed("seed", cl::desc("Seed for --random (0)"),
                             cl::init(0), cl::cat(category));
static cl::opt<int64_t> batch("batch",
                              cl::desc("Batch size for --random and "
                                       ".bin, copies of a PNG (default "
                                       "1; a .npy gives its own)"),
                              cl::init(1), cl::cat(category));
static cl::opt<std::string> resolution(
    "resolution",
    cl::desc("Image size, N (square) or HxW (height x width), each a "
             "multiple of 32 for PaCa, the weights' resolution for CAST/ViT "
             "(default 224 for PaCa, the weights' for CAST/ViT; for "
             "--random, .bin and images, which are cropped to it; for a "
             ".npy, checked against the file)"),
    cl::value_desc("N|HxW"), cl::cat(category));
static cl::opt<double> cropPct(
    "crop-pct",
    cl::desc("Fraction of the resized image the centre crop keeps: images "
             "are resized to cover floor(--resolution / crop-pct), as "
             "timm's crop_pct (0.01 to 1, default 0.875)"),
    cl::init(0.875), cl::cat(category));
static cl::opt<Interpolation> interpolation(
    "interpolation", cl::desc("Resampling for images (as PIL's, antialiased)"),
    cl::values(clEnumValN(Interpolation::Bicubic, "bicubic",
                          "Bicubic, a = -0.5 (default, as timm)"),
               clEnumValN(Interpolation::Bilinear, "bilinear", "Bilinear")),
    cl::init(Interpolation::Bicubic), cl::cat(category));
// --resolution, parsed: height and width, 0 when not given.
static int64_t resolutionHeight = 0, resolutionWidth = 0;
// libLLVM.so already registers a "threads" option, so --threads is taken
// out of argv before cl parses it (and documented in the overview).
static int threads = 0;

// Removes --threads N / --threads=N (one or two dashes) from argv; false on
// a missing or bad value.
static bool extractThreads(std::vector<char *> &args, std::string &error) {
  int given = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    StringRef arg = args[i];
    if (arg == "--")
      break;
    if (!arg.consume_front("--") && !arg.consume_front("-"))
      continue;
    if (!arg.consume_front("threads"))
      continue;
    size_t count = 1;
    if (arg.empty()) {
      if (i + 1 >= args.size()) {
        error = "--threads needs a value";
        return false;
      }
      arg = args[i + 1];
      count = 2;
    } else if (!arg.consume_front("=")) {
      continue;
    }
    if (++given > 1) {
      error = "--threads may be given only once";
      return false;
    }
    if (arg.getAsInteger(10, threads) || threads < 1 || threads > kMaxThreads) {
      error = formatv("--threads must be an integer from 1 to {0}, got '{1}'",
                      kMaxThreads, arg)
                  .str();
      return false;
    }
    args.erase(args.begin() + i, args.begin() + i + count);
    --i;
  }
  return true;
}
static cl::opt<int64_t>
    topk("topk",
         cl::desc("Classes printed per image, by softmax probability, with "
                  "the ImageNet class name for 1000-class models (1 to "
                  "1000, default 5)"),
         cl::init(5), cl::cat(category));
static cl::opt<bool>
    jsonOutput("json",
               cl::desc("Print one JSON object per image (its top classes, "
                        "probabilities, logits and names, and the median "
                        "latency) instead of the text report"),
               cl::cat(category));
static cl::opt<int64_t> runs("runs",
                             cl::desc("Timed runs after one warm-up; "
                                      "the median is reported (default "
                                      "5)"),
                             cl::init(5), cl::cat(category));
static cl::opt<bool>
    profile("profile",
            cl::desc("Also print wall time per layer kind and stage (one "
                     "extra run)"),
            cl::cat(category));
static cl::opt<std::string>
    dumpLogits("dump-logits",
               cl::desc("Write the logits to this .npy (float32 [B, C])"),
               cl::cat(category));
static cl::opt<std::string> dumpAssignments(
    "dump-assignments",
    cl::desc("ClusTR only: write each clustered block's dpc_knn results "
             "of the last timed run to DIR/block<i>.<j>.assign.npy (int32 "
             "[B, 2, N]) and .centers.npy (int32 [B, 2, 4*M1])"),
    cl::value_desc("DIR"), cl::cat(category));
static cl::opt<std::string> kernelsPath(
    "kernels",
    cl::desc("The model's kernel library (.so with its .json manifest; "
             "default: $CLUSOPT_PACA_KERNELS, $CLUSOPT_CLUSTR_KERNELS or "
             "$CLUSOPT_CAST_KERNELS, else the one installed with clusopt "
             "(" CLUSOPT_INSTALLED_KERNELS_DIR " from this tool's directory) "
             "or built with it: " CLUSOPT_PACA_KERNELS_PATH
             ", " CLUSOPT_CLUSTR_KERNELS_PATH " or " CLUSOPT_CAST_KERNELS_PATH
             ")"),
    cl::cat(category));

/// The model kernels of an installed clusopt (cmake/Install.cmake: lib/kernels
/// beside bin/) when they are there, else `builtPath`, where the build
/// compiled them.
static std::string defaultKernels(StringRef builtPath) {
  SmallString<256> exe, installed;
  if (sys::fs::real_path("/proc/self/exe", exe))
    return builtPath.str();
  installed = sys::path::parent_path(exe);
  sys::path::append(installed, CLUSOPT_INSTALLED_KERNELS_DIR,
                    sys::path::filename(builtPath));
  sys::path::remove_dots(installed, /*remove_dot_dot=*/true);
  return sys::fs::exists(installed) ? installed.str().str() : builtPath.str();
}

static int fail(const Twine &message) {
  errs() << "clusopt-run: error: " << message << "\n";
  return 1;
}

/// "--batch must be an integer from 1 to 65536, got 0" when out of range.
static Error checkRange(const cl::opt<int64_t> &flag, int64_t min,
                        int64_t max) {
  if (flag >= min && flag <= max)
    return Error::success();
  return createStringError(formatv("--{0} must be an integer from {1} to {2}, "
                                   "got {3}",
                                   flag.ArgStr, min, max, flag.getValue())
                               .str());
}

#include "ImageNetClasses.inc"

/// The ImageNet-1k class names, class 0 first.
static ArrayRef<StringRef> imageNetClasses() {
  static const std::vector<StringRef> classes = [] {
    SmallVector<StringRef, 0> lines;
    StringRef(kImageNetClassesText).rtrim('\n').split(lines, '\n');
    return std::vector<StringRef>(lines.begin(), lines.end());
  }();
  return classes;
}

/// Parses --resolution N or HxW into resolutionHeight/Width.
static Error parseResolution() {
  if (!resolution.getNumOccurrences())
    return Error::success();
  StringRef text = resolution;
  auto [h, w] = text.split('x');
  bool square = !text.contains('x');
  if (square)
    w = h;
  int64_t height = 0, width = 0;
  if (h.getAsInteger(10, height) || w.getAsInteger(10, width) || height < 1 ||
      height > kMaxResolution || width < 1 || width > kMaxResolution)
    return createStringError(
        formatv("--resolution must be {0} from 1 to {1}, got {2}",
                square ? "an integer" : "HxW (height x width), integers",
                kMaxResolution, text)
            .str());
  resolutionHeight = height;
  resolutionWidth = width;
  return Error::success();
}

// Reads a .npy of little-endian f4/f8 in C order into an f32 tensor.
static Expected<Tensor> readNpy(StringRef path) {
  auto buffer = clusopt::readInputFile(path, clusopt::kImageInput);
  if (!buffer)
    return buffer.takeError();
  StringRef data = (*buffer)->getBuffer();
  auto bad = [&](const Twine &why) {
    return createStringError((path + ": not a supported .npy: " + why).str());
  };
  if (data.size() < 10 || !data.starts_with("\x93NUMPY"))
    return bad("missing the \\x93NUMPY magic");
  uint8_t major = data[6];
  size_t headerLen, start;
  if (major == 1) {
    headerLen = uint8_t(data[8]) | uint8_t(data[9]) << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12)
      return bad("truncated header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= size_t(uint8_t(data[8 + i])) << (8 * i);
    start = 12;
  } else {
    return bad("unknown version " + Twine(major));
  }
  if (headerLen > data.size() - start)
    return bad("header runs past the end of the file (truncated?)");
  StringRef header = data.substr(start, headerLen);
  size_t elementSize;
  if (header.contains("'descr': '<f4'"))
    elementSize = 4;
  else if (header.contains("'descr': '<f8'"))
    elementSize = 8;
  else
    return bad("dtype must be float32 or float64 little-endian ('<f4', "
               "'<f8')");
  if (!header.contains("'fortran_order': False"))
    return bad("Fortran order is not supported");
  size_t open = header.find("'shape': ("), close;
  if (open == StringRef::npos ||
      (close = header.find(')', open)) == StringRef::npos)
    return bad("no shape");
  SmallVector<StringRef> parts;
  header.slice(open + 10, close).split(parts, ',', -1, false);
  SmallVector<int64_t> shape;
  for (StringRef p : parts)
    if (p.trim().getAsInteger(10, shape.emplace_back()))
      return bad("bad shape");
  Expected<int64_t> count = checkedElementCount(shape, elementSize);
  if (!count)
    return count.takeError();
  size_t offset = start + headerLen;
  if (data.size() - offset != size_t(*count) * elementSize)
    return createStringError(
        formatv("{0}: expected {1} bytes of data for shape {2}, found {3} "
                "(truncated?)",
                path, *count * elementSize, shapeString(shape),
                data.size() - offset)
            .str());
  auto t = Tensor::empty(DType::F32, shape);
  if (!t)
    return t.takeError();
  const char *src = data.data() + offset;
  float *dst = t->data<float>();
  for (int64_t i = 0; i < *count; ++i) {
    if (elementSize == 4) {
      std::memcpy(&dst[i], src + 4 * i, 4);
    } else {
      double d;
      std::memcpy(&d, src + 8 * i, 8);
      dst[i] = static_cast<float>(d);
    }
  }
  return t;
}

// Writes an f32 or i32 tensor as a .npy.
static Error writeNpy(StringRef path, const Tensor &t) {
  std::string header = "{'descr': '";
  header += t.dtype() == DType::I32 ? "<i4" : "<f4";
  header += "', 'fortran_order': False, 'shape': (";
  for (int64_t d : t.shape())
    header += std::to_string(d) + ", ";
  header += "), }";
  // Pad so the data starts 64-byte aligned, ending the header in '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  return clusopt::writeOutput(path, [&](raw_pwrite_stream &os) {
    os << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
       << char(header.size() >> 8) << header;
    os.write(static_cast<const char *>(t.raw()), t.numBytes());
    return Error::success();
  });
}

static Expected<Tensor> loadImages(const Model &model) {
  if (randomImage == !imagePath.empty())
    return createStringError("give exactly one of --image and --random");
  int64_t multiple = model.resolutionMultiple();
  int64_t b = batch.getValue();
  int64_t h = resolutionHeight ? resolutionHeight : model.defaultResolution();
  int64_t w = resolutionWidth ? resolutionWidth : model.defaultResolution();
  StringRef path = imagePath;
  // .npy and .bin by the name; anything else is decoded as a PNG or JPEG
  // (by the signature).
  bool encoded =
      !randomImage && !path.ends_with(".bin") && !path.ends_with(".npy");
  if (randomImage || encoded || path.ends_with(".bin")) {
    if (h < multiple || h % multiple || w < multiple || w % multiple)
      return createStringError(
          formatv("--resolution {0} is not a positive multiple of {1}",
                  h == w ? std::to_string(h) : formatv("{0}x{1}", h, w).str(),
                  multiple)
              .str());
    if (encoded) {
      Expected<RgbImage> image = readImage(path);
      if (!image)
        return image.takeError();
      PreprocessOptions options;
      options.height = h;
      options.width = w;
      options.cropPct = cropPct;
      options.interpolation = interpolation;
      return preprocessImage(*image, options, b);
    }
    auto t = Tensor::empty(DType::F32, {b, 3, h, w});
    if (!t)
      return t.takeError();
    if (randomImage) {
      std::mt19937 rng(static_cast<uint32_t>(seed.getValue()));
      std::normal_distribution<float> normal;
      float *p = t->data<float>();
      for (int64_t i = 0; i < t->numElements(); ++i)
        p[i] = normal(rng);
      return t;
    }
    auto buffer = clusopt::readInputFile(imagePath, clusopt::kImageInput);
    if (!buffer)
      return buffer.takeError();
    if ((*buffer)->getBufferSize() != t->numBytes())
      return createStringError(
          formatv("{0}: {1} bytes, expected {2} for float32 {3} (set "
                  "--batch and --resolution; truncated?)",
                  imagePath, (*buffer)->getBufferSize(), t->numBytes(),
                  shapeString(t->shape()))
              .str());
    std::memcpy(t->raw(), (*buffer)->getBufferStart(), t->numBytes());
    return t;
  }
  auto t = readNpy(imagePath);
  if (!t)
    return t.takeError();
  if (t->rank() == 3) {
    auto r4 = t->reshape({1, t->dim(0), t->dim(1), t->dim(2)});
    if (!r4)
      return r4.takeError();
    *t = std::move(*r4);
  }
  if (t->rank() != 4 || t->dim(1) != 3)
    return createStringError(imagePath +
                             ": images must be [B, 3, H, W] or "
                             "[3, H, W], got " +
                             shapeString(t->shape()));
  if (t->dim(2) % multiple || t->dim(3) % multiple || t->dim(2) == 0 ||
      t->dim(3) == 0)
    return createStringError(
        formatv("{0}: resolution {1}x{2} is not a multiple of {3}", imagePath,
                t->dim(2), t->dim(3), multiple)
            .str());
  if (resolutionHeight &&
      (t->dim(2) != resolutionHeight || t->dim(3) != resolutionWidth))
    return createStringError(
        formatv("{0}: images are {1}x{2}, --resolution says {3}", imagePath,
                t->dim(2), t->dim(3), resolution.getValue())
            .str());
  if (batch.getNumOccurrences() && t->dim(0) != batch)
    return createStringError(formatv("{0}: batch is {1}, --batch says {2}",
                                     imagePath, t->dim(0), batch.getValue())
                                 .str());
  return t;
}

/// Fails early when --dump-assignments' directory cannot be written: an
/// existing one must be a writable directory, a new one needs the first
/// existing directory above it to be writable. (Files go through
/// clusopt::checkOutputPath.)
static Error checkOutputDirectory(StringRef flag, StringRef path) {
  auto error = [&](const Twine &problem) {
    return createStringError((flag + "=" + path + ": " + problem).str());
  };
  if (sys::fs::exists(path)) {
    if (!sys::fs::is_directory(path))
      return error("exists and is not a directory");
    if (!sys::fs::can_write(path))
      return error("not writable");
    return Error::success();
  }
  SmallString<256> parent(path);
  do {
    sys::path::remove_filename(parent);
    StringRef dir = parent.empty() ? StringRef(".") : StringRef(parent);
    if (!sys::fs::exists(dir))
      continue;
    if (!sys::fs::is_directory(dir))
      return error(dir + " is not a directory");
    if (!sys::fs::can_write(dir))
      return error("directory " + dir + " is not writable");
    return Error::success();
  } while (!parent.empty());
  return Error::success();
}

/// The median of `v` (not empty).
static double medianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
#ifdef __GLIBC__
  // Activations of up to 32 MB come from the heap and freed ones stay
  // there for the next layer: glibc's defaults mmap and unmap them per
  // tensor, and faulting their pages in again cost about 5% of a PaCa run.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
  std::vector<char *> args(argv, argv + argc);
  std::string threadsError;
  if (!extractThreads(args, threadsError))
    return fail(threadsError);
  if (!clusopt::parseCommandLine(
          static_cast<int>(args.size()), args.data(),
          "Run a model on the clusopt runtime and its generated kernels\n\n"
          "Prints the logits' summary, each image's top-k classes and the "
          "median "
          "latency;\nwith --profile, the time per layer kind and stage.\n\n"
          "  --threads=<N>   threads for the runtime's layers and the kernels "
          "(one libomp\n                  pool; default: OMP_NUM_THREADS, else "
          "every core)\n\n"
          "Example:\n  clusopt-run --model paca_tiny --weights w.safetensors "
          "--random --batch 1 \\\n      --resolution 224 --threads 2 "
          "--profile\n",
          category))
    return 1;

  for (auto [flag, min, max] :
       {std::tuple(&seed, int64_t(0), int64_t(UINT32_MAX)),
        std::tuple(&batch, int64_t(1), kMaxBatch),
        std::tuple(&topk, int64_t(1), int64_t(1000)),
        std::tuple(&runs, int64_t(1), kMaxRuns)})
    if (Error err = checkRange(*flag, min, max))
      return fail(toString(std::move(err)));
  if (Error err = parseResolution())
    return fail(toString(std::move(err)));
  if (!(cropPct >= 0.01 && cropPct <= 1))
    return fail(formatv("--crop-pct must be a number from 0.01 to 1, got {0}",
                        cropPct.getValue())
                    .str());

  // The family picks the config and the default kernel library.
  bool cast = modelName == "cast_vit" || modelName == "vit_dense";
  bool clustr = StringRef(modelName).starts_with("clustr");
  std::optional<PacaConfig> pacaConfig;
  std::optional<ClusTRConfig> clustrConfig;
  if (clustr) {
    Expected<ClusTRConfig> config = ClusTRConfig::byName(modelName);
    if (!config)
      return fail(toString(config.takeError()));
    clustrConfig = std::move(*config);
  } else if (!cast) {
    Expected<PacaConfig> config = PacaConfig::byName(modelName);
    if (!config) {
      consumeError(config.takeError());
      return fail("unknown model '" + modelName +
                  "' (known: paca_tiny, paca_small, paca_base, each also as "
                  "*_dense; clustr_b1, clustr_b2, clustr_b3; cast_vit, "
                  "vit_dense)");
    }
    pacaConfig = std::move(*config);
  }
  if (jsonOutput && profile)
    return fail("--json and --profile cannot be combined (the profile is a "
                "text table)");
  if (!dumpAssignments.empty() && !clustr)
    return fail("--dump-assignments needs a ClusTR model");
  if (threads > 0)
    ThreadPool::setNumThreads(threads);
  else if (ThreadPool::numThreads() > kMaxThreads)
    // libomp aborts when it cannot start that many threads.
    return fail(formatv("OMP_NUM_THREADS asks for {0} threads, more than "
                        "the limit of {1} (set it lower, or pass --threads)",
                        ThreadPool::numThreads(), kMaxThreads)
                    .str());
  // Input and output paths are checked before minutes of loading and
  // running.
  if (!imagePath.empty())
    if (Error err = clusopt::checkInputFile(imagePath, clusopt::kImageInput))
      return fail(toString(std::move(err)));
  if (!dumpLogits.empty())
    if (Error err = clusopt::checkOutputPath(dumpLogits, "--dump-logits"))
      return fail(toString(std::move(err)));
  if (!dumpAssignments.empty())
    if (Error err = checkOutputDirectory("--dump-assignments", dumpAssignments))
      return fail(toString(std::move(err)));

  std::string kernels = kernelsPath;
  if (kernels.empty())
    if (const char *env = std::getenv(cast     ? "CLUSOPT_CAST_KERNELS"
                                      : clustr ? "CLUSOPT_CLUSTR_KERNELS"
                                               : "CLUSOPT_PACA_KERNELS"))
      kernels = env;
  if (kernels.empty())
    kernels = defaultKernels(cast     ? CLUSOPT_CAST_KERNELS_PATH
                             : clustr ? CLUSOPT_CLUSTR_KERNELS_PATH
                                      : CLUSOPT_PACA_KERNELS_PATH);
  auto library = KernelLibrary::open(kernels);
  if (!library)
    return fail(toString(library.takeError()));
  Expected<SafetensorsFile> weights = SafetensorsFile::open(weightsPath);
  if (!weights)
    return fail(toString(weights.takeError()));
  std::unique_ptr<Model> model;
  const ClusTR *clustrModel = nullptr; // for --dump-assignments
  std::string detail;                  // what the weights decided
  WeightShapes shapes;                 // the tensors the model uses
  if (cast) {
    Expected<CastConfig> config = CastConfig::byName(modelName);
    if (config)
      config = config->fitTo(*weights);
    if (!config)
      return fail(weightsPath + ": " + toString(config.takeError()));
    detail =
        formatv(" (depth {0}, {1} tokens", config->depth, config->tokens)
            .str() +
        (config->dense ? std::string(")")
                       : formatv(", capacity {0})", config->capacity()).str());
    shapes = config->weightShapes();
    auto loaded = CastVit::load(*config, *weights, **library);
    if (!loaded)
      return fail(weightsPath + ": " + toString(loaded.takeError()));
    model = std::move(*loaded);
  } else if (clustr) {
    shapes = clustrConfig->weightShapes();
    auto loaded = ClusTR::load(*clustrConfig, *weights, **library);
    if (!loaded)
      return fail(weightsPath + ": " + toString(loaded.takeError()));
    clustrModel = loaded->get();
    model = std::move(*loaded);
  } else {
    shapes = pacaConfig->weightShapes();
    auto loaded = PacaVit::load(*pacaConfig, *weights, **library);
    if (!loaded)
      return fail(weightsPath + ": " + toString(loaded.takeError()));
    model = std::move(*loaded);
  }

  // Tensors of another model (paca_small's run as paca_tiny) or a
  // mistyped name would otherwise be ignored.
  std::vector<std::string> unused = unusedWeights(*weights, shapes);
  if (!unused.empty() && !allowUnusedWeights) {
    std::string names;
    for (size_t i = 0; i < std::min<size_t>(unused.size(), 5); ++i)
      names += (i ? ", '" : "'") + unused[i] + "'";
    return fail(formatv("{0}: {1} of its {2} tensors are not used by {3}: "
                        "{4}{5} (another model's weights? "
                        "--allow-unused-weights ignores them)",
                        weightsPath, unused.size(), weights->tensors().size(),
                        model->name(), names, unused.size() > 5 ? ", ..." : "")
                    .str());
  }

  // Images after the model: their resolution rules are the model's.
  Expected<Tensor> images = loadImages(*model);
  if (!images)
    return fail(toString(images.takeError()));
  if (std::string bad =
          nonFiniteSummary(images->data<float>(), images->numElements());
      !bad.empty())
    return fail(imagePath + ": " + bad);

  // One warm-up run (page faults, first-touch), then the timed ones.
  Expected<Tensor> logits = model->forward(*images);
  if (!logits)
    return fail(toString(logits.takeError()));
  // Finite weights and inputs can still overflow; a top-5 of NaNs is no
  // result.
  if (int64_t bad = countNonFinite(*logits)) {
    std::string where = "; --profile names the first layer whose output "
                        "is not finite";
    if (profile) {
      Profile check;
      check.enableOutputChecks();
      if (Expected<Tensor> again = model->forward(*images, &check); !again)
        return fail(toString(again.takeError()));
      const std::optional<Profile::NonFinite> &first = check.firstNonFinite();
      where = first ? formatv("; the first layer whose output is not finite "
                              "is '{0}' ({1} of {2} values)",
                              first->layer, first->count, first->total)
                          .str()
                    : "; the first layer whose output is not finite is the "
                      "head";
    }
    return fail(formatv("{0} of {1} logits are not finite (NaN or "
                        "infinite){2}",
                        bad, logits->numElements(), where)
                    .str());
  }
  std::vector<double> times;
  std::vector<ClusTR::Clustering> clusterings;
  for (int64_t i = 0; i < runs; ++i) {
    bool last = i + 1 == runs && !dumpAssignments.empty();
    if (last)
      clusterings.clear();
    auto start = std::chrono::steady_clock::now();
    logits = clustrModel ? clustrModel->forwardWithClusterings(
                               *images, nullptr, last ? &clusterings : nullptr)
                         : model->forward(*images);
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
    if (!logits)
      return fail(toString(logits.takeError()));
  }
  std::sort(times.begin(), times.end());
  double median = medianOf(times);

  int64_t b = logits->dim(0), classes = logits->dim(1);
  const float *l = logits->data<float>();
  double sum = 0, sq = 0;
  float lo = l[0], hi = l[0];
  for (int64_t i = 0; i < logits->numElements(); ++i) {
    sum += l[i], sq += double(l[i]) * l[i];
    lo = std::min(lo, l[i]), hi = std::max(hi, l[i]);
  }
  double mean = sum / logits->numElements();
  // Each image's classes by softmax probability (computed in double, after
  // subtracting the largest logit).
  ArrayRef<StringRef> names = classes == int64_t(imageNetClasses().size())
                                  ? imageNetClasses()
                                  : ArrayRef<StringRef>();
  int64_t k = std::min<int64_t>(topk, classes);
  struct Ranked {
    int64_t index;
    double probability;
    float logit;
  };
  auto rank = [&](int64_t image) {
    const float *row = l + image * classes;
    float top = *std::max_element(row, row + classes);
    double total = 0;
    for (int64_t c = 0; c < classes; ++c)
      total += std::exp(double(row[c]) - top);
    std::vector<int64_t> order(classes);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int64_t x, int64_t y) { return row[x] > row[y]; });
    std::vector<Ranked> ranked;
    for (int64_t j = 0; j < k; ++j)
      ranked.push_back({order[j], std::exp(double(row[order[j]]) - top) / total,
                        row[order[j]]});
    return ranked;
  };

  if (jsonOutput) {
    std::string source = randomImage ? std::string("random")
                                     : json::fixUTF8(imagePath.getValue());
    for (int64_t i = 0; i < b; ++i) {
      json::OStream js(outs());
      js.object([&] {
        js.attribute("image", i);
        js.attribute("source", source);
        js.attribute("model", model->name());
        js.attributeArray("top", [&] {
          for (const Ranked &r : rank(i))
            js.object([&] {
              js.attribute("class", r.index);
              if (!names.empty())
                js.attribute("label", names[r.index]);
              js.attribute("probability", r.probability);
              js.attribute("logit", double(r.logit));
            });
        });
        js.attribute("latency_ms", median * 1e3);
      });
      outs() << "\n";
    }
    return 0;
  }

  outs() << "model " << model->name() << detail << ", images "
         << shapeString(images->shape()) << ", threads "
         << ThreadPool::numThreads() << ", kernels " << (*library)->path()
         << " (" << (*library)->target() << ")\n";
  outs() << "logits " << shapeString(logits->shape())
         << format(": mean %.6g, std %.6g, min %.6g, max %.6g\n", mean,
                   std::sqrt(
                       std::max(0.0, sq / logits->numElements() - mean * mean)),
                   lo, hi);
  for (int64_t i = 0; i < b; ++i) {
    outs() << "image " << i << " top-" << k << " (class, probability, logit"
           << (names.empty() ? "" : ", name") << "):\n";
    for (const Ranked &r : rank(i)) {
      outs() << format("  %4lld  %.4f  %9.4f", (long long)r.index,
                       r.probability, r.logit);
      if (!names.empty())
        outs() << "  " << names[r.index];
      outs() << "\n";
    }
  }
  outs() << format("latency: median %.2f ms over %lld runs (min %.2f, max "
                   "%.2f)\n",
                   median * 1e3, (long long)runs.getValue(),
                   times.front() * 1e3, times.back() * 1e3);

  if (profile) {
    // As many profiled runs as timed ones, and each layer's median over
    // them: one run's figures move with the machine's noise.
    std::vector<std::string> labels;
    std::map<std::string, std::vector<double>> perLabel;
    std::vector<double> totals;
    for (int64_t i = 0; i < runs; ++i) {
      Profile prof;
      auto start = std::chrono::steady_clock::now();
      auto again = model->forward(*images, &prof);
      totals.push_back(std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count());
      if (!again)
        return fail(toString(again.takeError()));
      for (const auto &[label, seconds] : prof.entries()) {
        auto [it, inserted] = perLabel.try_emplace(label);
        if (inserted)
          labels.push_back(label);
        it->second.push_back(seconds);
      }
    }
    double total = medianOf(totals);
    outs() << format("\n%-34s %10s %7s   (medians over %zu profiled run%s)\n",
                     "layer", "ms", "%", totals.size(),
                     totals.size() == 1 ? "" : "s");
    for (const std::string &label : labels) {
      double seconds = medianOf(perLabel[label]);
      outs() << format("%-34s %10.3f %6.1f%%\n", label.c_str(), seconds * 1e3,
                       100 * seconds / total);
    }
    outs() << format("%-34s %10.3f\n", "total (profiled runs)", total * 1e3);
  }

  if (!dumpLogits.empty())
    if (Error err = writeNpy(dumpLogits, *logits))
      return fail(toString(std::move(err)));
  if (!dumpAssignments.empty()) {
    if (std::error_code ec = sys::fs::create_directories(dumpAssignments))
      return fail(dumpAssignments + ": cannot create: " + ec.message());
    // forward() appends one result per block with clusters, in order.
    size_t next = 0;
    for (int i = 0; i < 4; ++i) {
      if (clustrConfig->srRatios[i] == 1)
        continue;
      for (int64_t j = 0; j < clustrConfig->depths[i]; ++j, ++next) {
        if (next >= clusterings.size())
          return fail("internal error: fewer clusterings than blocks");
        std::string stem =
            formatv("{0}/block{1}.{2}.", dumpAssignments.getValue(), i + 1, j);
        if (Error err = writeNpy(stem + "assign.npy", clusterings[next].assign))
          return fail(toString(std::move(err)));
        if (Error err =
                writeNpy(stem + "centers.npy", clusterings[next].centers))
          return fail(toString(std::move(err)));
      }
    }
  }
  return 0;
}
