//===- clusopt-run.cpp - Run a model on the runtime and generated kernels -===//
//
// Loads a model's weights (safetensors) and its generated kernels (a named
// model, or a compiled model artifact with --artifact), runs it
// on an image, a folder or list of images (in batches), or a random batch,
// and prints the logits, the top-k classes
// (softmax probabilities, ImageNet names; or JSON with --json),
// the median latency and, with --profile, the time per layer.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Support/CommandLine.h"
#include "clusopt/Support/InputFile.h"
#include "clusopt/Support/OutputFiles.h"
#include "runtime/Image.h"
#include "runtime/KernelLibrary.h"
#include "runtime/Safetensors.h"
#include "runtime/ThreadPool.h"
#include "runtime/models/Artifact.h"
#include "runtime/models/CastVit.h"
#include "runtime/models/ClusTR.h"
#include "runtime/models/PacaVit.h"
#include "runtime/models/Registry.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
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
static cl::opt<std::string> artifactPath(
    "artifact",
    cl::desc("Run a compiled model artifact instead of --model: the "
             "directory `python -m clusopt compile-model` or "
             "CompiledModel.save writes (kernel library, manifests). Its "
             "weights are bound from --weights by state_dict name, each "
             "checked for dtype and shape (tensors it does not use get a "
             "warning); it must come from this clusopt version and suit "
             "this CPU. Images are taken at the compiled resolution and run "
             "in batches of the compiled size (default --batch)"),
    cl::value_desc("DIR"), cl::cat(category));
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
    cl::desc("Input: a PNG (any bit depth and colour type) or JPEG "
             "(baseline or progressive; gray, colour or CMYK), by the "
             "signature, decoded, alpha dropped, preprocessed as timm "
             "evaluates (resized, aspect kept, to cover --resolution / "
             "--crop-pct with PIL's antialiased --interpolation, centre "
             "crop to --resolution, ImageNet mean and std), then "
             "replicated --batch times; or a folder: its .png, .jpg and "
             ".jpeg files (any case), sorted by name, run in batches of "
             "--batch (other files are skipped with a note; a "
             "subfolder or a folder without images is an error); or, "
             "already preprocessed, a .npy of float32 or float64 [B, 3, H, "
             "W] or [3, H, W] (C order), or a .bin of raw little-endian "
             "float32 NCHW whose shape is --batch x 3 x --resolution x "
             "--resolution"),
    cl::cat(category));
// Image paths as arguments (photos/*.jpg): the overview describes them.
static cl::list<std::string> imageArgs(cl::Positional,
                                       cl::desc("<image or folder>..."),
                                       cl::cat(category));
static cl::opt<std::string> imageListPath(
    "image-list",
    cl::desc("A text file naming the images (or folders) to run, one path "
             "per line, relative to the current directory; blank lines and "
             "lines starting with # are skipped"),
    cl::value_desc("FILE"), cl::cat(category));
static cl::opt<bool>
    randomImage("random",
                cl::desc("Run on seeded standard-normal images instead"),
                cl::cat(category));
static cl::opt<int64_t> seed("seed", cl::desc("Seed for --random (0)"),
                             cl::init(0), cl::cat(category));
static cl::opt<int64_t>
    batch("batch",
          cl::desc("Batch size: images per run for a folder or list (the "
                   "last batch may be smaller); for --random and .bin; "
                   "copies of a single image (default 1; a .npy gives its "
                   "own)"),
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

/// The ImageNet names when `classes` is ImageNet-1k's count, else none.
static ArrayRef<StringRef> classNames(int64_t classes) {
  return classes == int64_t(imageNetClasses().size()) ? imageNetClasses()
                                                      : ArrayRef<StringRef>();
}

struct Ranked {
  int64_t index;
  double probability;
  float logit;
};

/// Image `image`'s top --topk classes by softmax probability (computed in
/// double, after subtracting the largest logit).
static std::vector<Ranked> rankClasses(const Tensor &logits, int64_t image) {
  int64_t classes = logits.dim(1);
  int64_t k = std::min<int64_t>(topk, classes);
  const float *row = logits.data<float>() + image * classes;
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
}

/// One JSON object per image, one per line; `sources[i]` names image i.
static void printJson(const Tensor &logits, ArrayRef<std::string> sources,
                      StringRef modelName, double latencySeconds) {
  ArrayRef<StringRef> names = classNames(logits.dim(1));
  for (int64_t i = 0; i < logits.dim(0); ++i) {
    json::OStream js(outs());
    js.object([&] {
      js.attribute("image", i);
      js.attribute("source", json::fixUTF8(sources[i]));
      js.attribute("model", modelName);
      js.attributeArray("top", [&] {
        for (const Ranked &r : rankClasses(logits, i))
          js.object([&] {
            js.attribute("class", r.index);
            if (!names.empty())
              js.attribute("label", names[r.index]);
            js.attribute("probability", r.probability);
            js.attribute("logit", double(r.logit));
          });
      });
      js.attribute("latency_ms", latencySeconds * 1e3);
    });
    outs() << "\n";
  }
}

/// "logits [B, C]: mean ..., std ..., min ..., max ..."
static void printLogitsSummary(const Tensor &logits) {
  const float *l = logits.data<float>();
  double sum = 0, sq = 0;
  float lo = l[0], hi = l[0];
  for (int64_t i = 0; i < logits.numElements(); ++i) {
    sum += l[i], sq += double(l[i]) * l[i];
    lo = std::min(lo, l[i]), hi = std::max(hi, l[i]);
  }
  double mean = sum / logits.numElements();
  outs() << "logits " << shapeString(logits.shape())
         << format(": mean %.6g, std %.6g, min %.6g, max %.6g\n", mean,
                   std::sqrt(
                       std::max(0.0, sq / logits.numElements() - mean * mean)),
                   lo, hi);
}

/// Image `image`'s top-k as a table; `source` (may be empty) follows the
/// heading.
static void printTopText(const Tensor &logits, int64_t image,
                         StringRef source) {
  ArrayRef<StringRef> names = classNames(logits.dim(1));
  std::vector<Ranked> ranked = rankClasses(logits, image);
  outs() << "image " << image << " top-" << ranked.size()
         << " (class, probability, logit" << (names.empty() ? "" : ", name")
         << "):" << (source.empty() ? "" : " ") << source << "\n";
  for (const Ranked &r : ranked) {
    outs() << format("  %4lld  %.4f  %9.4f", (long long)r.index, r.probability,
                     r.logit);
    if (!names.empty())
      outs() << "  " << names[r.index];
    outs() << "\n";
  }
}

/// Whether a folder's file is taken as an image, by its extension.
static bool hasImageExtension(StringRef name) {
  StringRef ext = sys::path::extension(name);
  return ext.equals_insensitive(".png") || ext.equals_insensitive(".jpg") ||
         ext.equals_insensitive(".jpeg");
}

/// Appends the images of folder `dir` to `paths`: its .png, .jpg and .jpeg
/// files (any case), sorted by name. Other files and hidden ones are
/// skipped with a note on stderr (a folder of photos often holds a README
/// or a .DS_Store); a subfolder is an error, as folders are not searched
/// recursively, and so is a folder without images.
static Error appendFolder(StringRef dir, std::vector<std::string> &paths) {
  std::vector<std::string> images, skipped;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    std::string name = sys::path::filename(it->path()).str();
    ErrorOr<sys::fs::basic_file_status> status = it->status();
    if (!status)
      return createStringError(formatv("{0}: cannot read '{1}': {2}", dir, name,
                                       status.getError().message())
                                   .str());
    if (status->type() == sys::fs::file_type::directory_file)
      return createStringError(
          formatv("{0}: holds a subfolder, '{1}'; folders are not searched "
                  "recursively (give the subfolders, or list the images "
                  "with --image-list)",
                  dir, name)
              .str());
    if (StringRef(name).starts_with(".") || !hasImageExtension(name))
      skipped.push_back(name);
    else
      images.push_back(it->path());
  }
  if (ec)
    return createStringError(dir + ": cannot list the folder: " + ec.message());
  if (images.empty())
    return createStringError(
        formatv("{0}: no images in the folder (.png, .jpg or .jpeg files){1}",
                dir,
                skipped.empty()
                    ? std::string()
                    : formatv(", only {0} other file{1}", skipped.size(),
                              skipped.size() == 1 ? "" : "s")
                          .str())
            .str());
  std::sort(images.begin(), images.end());
  if (!skipped.empty()) {
    std::sort(skipped.begin(), skipped.end());
    errs() << "clusopt-run: note: " << dir << ": skipped " << skipped.size()
           << " file" << (skipped.size() == 1 ? "" : "s")
           << " that are not .png, .jpg or .jpeg images: ";
    for (size_t i = 0; i < std::min<size_t>(skipped.size(), 3); ++i)
      errs() << (i ? ", '" : "'") << skipped[i] << "'";
    errs() << (skipped.size() > 3 ? ", ...\n" : "\n");
  }
  paths.insert(paths.end(), images.begin(), images.end());
  return Error::success();
}

/// The images of a folder or list input, in order, each checked to be a
/// readable regular file; empty when the input is one --image file (or
/// .npy/.bin) or --random.
static Expected<std::vector<std::string>> collectImagePaths() {
  int inputs = !imagePath.empty() + !imageArgs.empty() +
               !imageListPath.empty() + randomImage;
  if (inputs != 1)
    return createStringError(
        formatv("give exactly one input: --image PATH, images as "
                "arguments, --image-list FILE or --random ({0} given)",
                inputs)
            .str());
  std::vector<std::string> given;
  if (!imagePath.empty()) {
    if (!sys::fs::is_directory(imagePath))
      return std::vector<std::string>();
    given.push_back(imagePath);
  } else if (!imageArgs.empty()) {
    given.assign(imageArgs.begin(), imageArgs.end());
  } else if (!imageListPath.empty()) {
    auto list = clusopt::readInputFile(imageListPath, clusopt::kImageInput);
    if (!list)
      return list.takeError();
    SmallVector<StringRef, 0> lines;
    (*list)->getBuffer().split(lines, '\n');
    for (StringRef line : lines) {
      line = line.rtrim("\r");
      if (!line.trim().empty() && !line.starts_with("#"))
        given.push_back(line.str());
    }
    if (given.empty())
      return createStringError(imageListPath + ": names no images (one path "
                                               "per line)");
  } else {
    return std::vector<std::string>();
  }
  std::vector<std::string> paths;
  for (const std::string &path : given) {
    if (sys::fs::is_directory(path)) {
      if (Error err = appendFolder(path, paths))
        return std::move(err);
      continue;
    }
    if (StringRef(path).ends_with(".npy") || StringRef(path).ends_with(".bin"))
      return createStringError(path + ": a .npy or .bin input holds its own "
                                      "batch; give it alone, with --image");
    paths.push_back(path);
  }
  for (const std::string &path : paths)
    if (Error err = clusopt::checkInputFile(path, clusopt::kImageInput))
      return std::move(err);
  return paths;
}

/// "12/40 images" on stderr, rewritten in place, when stderr is a terminal;
/// nothing otherwise (logs and pipes get no carriage returns).
class Progress {
public:
  explicit Progress(size_t total)
      : total_(total), shown_(sys::Process::StandardErrIsDisplayed()) {}
  void update(size_t done) {
    if (shown_)
      errs() << "\rclusopt-run: " << done << "/" << total_ << " images";
  }
  /// Clears the line (before an error message, or at the end).
  void clear() {
    if (shown_)
      errs() << "\r\x1b[K";
    shown_ = false;
  }
  ~Progress() { clear(); }

private:
  size_t total_;
  bool shown_;
};

/// Runs every image of `paths` through `model` in batches of --batch (the
/// last may be smaller), then prints each image's result in order. Nothing
/// is printed or written until every image has run: an image that fails to
/// decode stops the run with its name.
static int runImages(const Model &model, const LoadedModel &loaded,
                     ArrayRef<std::string> paths) {
  int64_t h = resolutionHeight ? resolutionHeight : model.defaultResolution();
  int64_t w = resolutionWidth ? resolutionWidth : model.defaultResolution();
  PreprocessOptions options;
  options.height = h;
  options.width = w;
  options.cropPct = cropPct;
  options.interpolation = interpolation;
  int64_t count = paths.size(), size = batch.getValue();
  std::optional<Tensor> all; // [count, classes], once the first batch ran
  std::vector<double> times;
  auto start = std::chrono::steady_clock::now();
  {
    Progress progress(count);
    progress.update(0);
    // Errors go on a line of their own.
    auto stop = [&](const Twine &message) {
      progress.clear();
      return fail(message);
    };
    for (int64_t first = 0; first < count; first += size) {
      int64_t n = std::min(size, count - first);
      Expected<Tensor> images = Tensor::empty(DType::F32, {n, 3, h, w});
      if (!images)
        return stop(toString(images.takeError()));
      int64_t perImage = 3 * h * w;
      for (int64_t i = 0; i < n; ++i) {
        Expected<RgbImage> image = readImage(paths[first + i]);
        if (!image)
          return stop(toString(image.takeError()));
        Expected<Tensor> one = preprocessImage(*image, options);
        if (!one)
          return stop(paths[first + i] + ": " + toString(one.takeError()));
        std::memcpy(images->data<float>() + i * perImage, one->data<float>(),
                    perImage * sizeof(float));
      }
      auto batchStart = std::chrono::steady_clock::now();
      Expected<Tensor> logits = model.forward(*images);
      times.push_back(std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - batchStart)
                          .count());
      if (!logits)
        return stop(toString(logits.takeError()));
      if (int64_t bad = countNonFinite(*logits))
        return stop(formatv("{0} of {1} logits of images {2} to {3} ({4} to "
                            "{5}) are not finite (NaN or infinite){6}",
                            bad, logits->numElements(), first, first + n - 1,
                            paths[first], paths[first + n - 1],
                            artifactPath.empty()
                                ? "; run one of them with --image and "
                                  "--profile to find the first such layer"
                                : "")
                        .str());
      int64_t classes = logits->dim(1);
      if (!all) {
        Expected<Tensor> t = Tensor::empty(DType::F32, {count, classes});
        if (!t)
          return stop(toString(t.takeError()));
        all = std::move(*t);
      }
      std::memcpy(all->data<float>() + first * classes, logits->data<float>(),
                  n * classes * sizeof(float));
      progress.update(first + n);
    }
  }
  double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  double median = medianOf(times);
  if (!dumpLogits.empty())
    if (Error err = writeNpy(dumpLogits, *all))
      return fail(toString(std::move(err)));
  if (jsonOutput) {
    printJson(*all, paths, model.name(), median);
    return 0;
  }
  outs() << "model " << model.name() << loaded.detail << ", " << count
         << " images in " << times.size() << " batch"
         << (times.size() == 1 ? "" : "es") << " of up to " << size << " (" << h
         << "x" << w << "), threads " << ThreadPool::numThreads()
         << ", kernels " << loaded.kernels->path() << " ("
         << loaded.kernels->target() << ")\n";
  printLogitsSummary(*all);
  for (int64_t i = 0; i < count; ++i)
    printTopText(*all, i, paths[i]);
  outs() << format("throughput: %lld images in %.2f s, %.1f images/s "
                   "(decoding included); batch latency: median %.2f ms over "
                   "%zu batches (min %.2f, max %.2f)\n",
                   (long long)count, wall, count / wall, median * 1e3,
                   times.size(),
                   *std::min_element(times.begin(), times.end()) * 1e3,
                   *std::max_element(times.begin(), times.end()) * 1e3);
  return 0;
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
          "Inputs (exactly one): --image FILE|FOLDER, image files and "
          "folders as\narguments (run in the order given; folders as "
          "--image's), --image-list FILE\n(one path per line) or --random. "
          "Several images run in batches of --batch\nand each gets its "
          "result, in order; on a terminal, stderr shows the progress.\n\n"
          "Examples:\n  clusopt-run --model paca_tiny --weights w.safetensors "
          "--random --batch 1 \\\n      --resolution 224 --threads 2 "
          "--profile\n"
          "  clusopt-run --weights w.safetensors --batch 8 --json "
          "photos/*.jpg\n"
          "  clusopt-run --artifact tiny_vit/ --weights tiny_vit.safetensors "
          "--image cat.jpg\n",
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

  bool artifact = !artifactPath.empty();
  if (artifact)
    for (const cl::Option *other :
         std::initializer_list<cl::Option *>{&modelName, &kernelsPath})
      if (other->getNumOccurrences())
        return fail("--" + other->ArgStr +
                    " and --artifact cannot be combined (an artifact holds "
                    "its model and kernels)");
  bool clustr = false;
  if (!artifact) {
    Expected<ModelFamily> family = modelFamily(modelName);
    if (!family)
      return fail(toString(family.takeError()));
    clustr = *family == ModelFamily::ClusTR;
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
  Expected<std::vector<std::string>> imageList = collectImagePaths();
  if (!imageList)
    return fail(toString(imageList.takeError()));
  if (!imageList->empty()) {
    // Each batch runs once: there is no one batch to time or profile.
    for (const cl::Option *single :
         std::initializer_list<cl::Option *>{&runs, &profile, &dumpAssignments})
      if (single->getNumOccurrences())
        return fail("--" + single->ArgStr +
                    " needs a single input (an image, .npy, .bin or "
                    "--random), not a folder or list, whose batches each "
                    "run once");
  } else if (!imagePath.empty()) {
    if (Error err = clusopt::checkInputFile(imagePath, clusopt::kImageInput))
      return fail(toString(std::move(err)));
  }
  if (!dumpLogits.empty())
    if (Error err = clusopt::checkOutputPath(dumpLogits, "--dump-logits"))
      return fail(toString(std::move(err)));
  if (!dumpAssignments.empty())
    if (Error err = checkOutputDirectory("--dump-assignments", dumpAssignments))
      return fail(toString(std::move(err)));

  std::optional<LoadedModel> loadedModel;
  if (artifact) {
    Expected<LoadedArtifact> compiled = loadArtifact(artifactPath, weightsPath);
    if (!compiled)
      return fail(toString(compiled.takeError()));
    ArrayRef<int64_t> shape = compiled->inputShape; // [B, 3, H, W]
    if (resolutionHeight &&
        (resolutionHeight != shape[2] || resolutionWidth != shape[3]))
      return fail(formatv("--resolution {0} does not match the artifact, "
                          "which was compiled for {1}x{2} images (compile "
                          "it again for another resolution)",
                          resolution.getValue(), shape[2], shape[3])
                      .str());
    resolutionHeight = shape[2];
    resolutionWidth = shape[3];
    if (!batch.getNumOccurrences())
      batch = shape[0];
    const std::vector<std::string> &unused = compiled->unusedWeights;
    if (!unused.empty() && !allowUnusedWeights) {
      errs() << "clusopt-run: warning: " << weightsPath << ": " << unused.size()
             << " tensor" << (unused.size() == 1 ? "" : "s")
             << " not used by the artifact: ";
      for (size_t i = 0; i < std::min<size_t>(unused.size(), 5); ++i)
        errs() << (i ? ", '" : "'") << unused[i] << "'";
      errs() << (unused.size() > 5 ? ", ..." : "")
             << " (--allow-unused-weights silences this)\n";
    }
    loadedModel = std::move(compiled->loaded);
  } else {
    ModelOptions modelOptions;
    modelOptions.kernelsPath = kernelsPath;
    modelOptions.allowUnusedWeights = allowUnusedWeights;
    Expected<LoadedModel> named =
        loadModel(modelName, weightsPath, modelOptions);
    if (!named)
      return fail(toString(named.takeError()));
    loadedModel = std::move(*named);
  }
  const LoadedModel *loaded = &*loadedModel;
  const Model *model = loaded->model.get();
  const KernelLibrary *library = loaded->kernels.get();
  const ClusTR *clustrModel = loaded->clustr; // for --dump-assignments

  if (!imageList->empty()) {
    int64_t multiple = model->resolutionMultiple();
    int64_t h =
        resolutionHeight ? resolutionHeight : model->defaultResolution();
    int64_t w = resolutionWidth ? resolutionWidth : model->defaultResolution();
    if (h < multiple || h % multiple || w < multiple || w % multiple)
      return fail(
          formatv("--resolution {0} is not a positive multiple of {1}",
                  h == w ? std::to_string(h) : formatv("{0}x{1}", h, w).str(),
                  multiple)
              .str());
    return runImages(*model, *loaded, *imageList);
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
    if (artifact)
      where = "; an artifact runs as one call, so no layer can be named "
              "(are its weights finite?)";
    else if (profile) {
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

  if (jsonOutput) {
    std::string source = randomImage ? std::string("random")
                                     : json::fixUTF8(imagePath.getValue());
    printJson(*logits, std::vector<std::string>(logits->dim(0), source),
              model->name(), median);
    return 0;
  }

  outs() << "model " << model->name() << loaded->detail << ", images "
         << shapeString(images->shape()) << ", threads "
         << ThreadPool::numThreads() << ", kernels " << library->path() << " ("
         << library->target() << ")\n";
  printLogitsSummary(*logits);
  for (int64_t i = 0; i < logits->dim(0); ++i)
    printTopText(*logits, i, "");
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
      if (clustrModel->config().srRatios[i] == 1)
        continue;
      for (int64_t j = 0; j < clustrModel->config().depths[i]; ++j, ++next) {
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
