//===- Artifact.cpp - Compiled model artifacts ----------------------------===//

#include "runtime/models/Artifact.h"

#include "clusopt/Support/CommandLine.h"
#include "clusopt/Support/InputFile.h"
#include "runtime/Json.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <chrono>
#include <cstring>
#include <set>

using namespace llvm;

namespace clusopt::runtime {

namespace {

constexpr StringLiteral kManifestName = "model.json";
/// model.json: a few hundred bytes per weight.
constexpr InputKind kManifestInput{"model manifests", 256ull << 20};

/// A file name inside the artifact: no directories, no "." or "..".
bool isPlainFileName(StringRef name) {
  return !name.empty() && name != "." && name != ".." && !name.contains('/') &&
         !name.contains('\0');
}

class ManifestReader {
public:
  explicit ManifestReader(std::string path) : path_(std::move(path)) {}

  Error fail(const Twine &where, const Twine &problem) const {
    return createStringError(path_ + ": " + where + ": " + problem);
  }

  Expected<std::string> string(const json::Object &obj, StringRef key,
                               const Twine &where) const {
    std::optional<StringRef> value = obj.getString(key);
    if (!value)
      return fail(where, "expected a string '" + key + "'");
    return value->str();
  }

  Expected<TensorSpec> spec(const json::Object &obj, const Twine &where) const {
    std::optional<StringRef> dtypeText = obj.getString("dtype");
    const json::Array *shape = obj.getArray("shape");
    if (!dtypeText || !shape)
      return fail(where, "expected a \"dtype\" and a \"shape\"");
    std::optional<DType> dtype = parseDType(*dtypeText);
    if (!dtype)
      return fail(where, "dtype '" + *dtypeText +
                             "' is not one clusopt-run takes (f32, f16, "
                             "bf16, i32)");
    if (shape->size() > size_t(KernelLibrary::kMaxRank))
      return fail(where, "rank " + Twine(shape->size()) + " exceeds " +
                             Twine(KernelLibrary::kMaxRank));
    TensorSpec result;
    result.dtype = *dtype;
    for (const json::Value &d : *shape) {
      std::optional<int64_t> n = d.getAsInteger();
      if (!n || *n < 0)
        return fail(where, "a dim must be a non-negative integer");
      result.shape.push_back(*n);
    }
    if (Expected<int64_t> count =
            checkedElementCount(result.shape, dtypeSize(result.dtype));
        !count)
      return fail(where, toString(count.takeError()));
    return result;
  }

  Expected<ArtifactArgument> argument(const json::Value &value,
                                      size_t index) const {
    std::string where = "argument " + std::to_string(index);
    const json::Object *obj = value.getAsObject();
    if (!obj)
      return fail(where, "expected an object");
    ArtifactArgument arg;
    std::string role;
    ASSIGN_OR_RETURN(role, string(*obj, "role", where));
    ASSIGN_OR_RETURN(arg.spec, spec(*obj, where));
    if (role == "input") {
      arg.role = ArtifactArgument::Role::Input;
      ASSIGN_OR_RETURN(arg.name, string(*obj, "name", where));
      return arg;
    }
    if (role != "weights")
      return fail(where, "role must be \"input\" or \"weights\", got \"" +
                             role + "\"");
    arg.role = ArtifactArgument::Role::Weights;
    arg.name = "weights." + dtypeName(arg.spec.dtype).str();
    const json::Array *weights = obj->getArray("weights");
    if (!weights || arg.spec.shape.size() != 1)
      return fail(where, "a weights argument is 1-D and lists its "
                         "\"weights\"");
    int64_t size = arg.spec.shape[0];
    for (auto [j, w] : enumerate(*weights)) {
      std::string at = where + " weight " + std::to_string(j);
      const json::Object *wobj = w.getAsObject();
      if (!wobj)
        return fail(at, "expected an object");
      ArtifactWeight weight;
      ASSIGN_OR_RETURN(weight.name, string(*wobj, "name", at));
      ASSIGN_OR_RETURN(weight.spec,
                       spec(*wobj, at + " ('" + weight.name + "')"));
      std::string source;
      ASSIGN_OR_RETURN(source, string(*wobj, "source", at));
      if (source != "state_dict" && source != "constant")
        return fail(at, "source must be \"state_dict\" or \"constant\"");
      weight.constant = source == "constant";
      std::optional<int64_t> offset = wobj->getInteger("offset");
      int64_t count = 1;
      for (int64_t d : weight.spec.shape)
        count *= d; // checked by spec()
      if (!offset || *offset < 0 || *offset > size || count > size - *offset)
        return fail(at, "'" + weight.name +
                            "' does not lie inside its argument of " +
                            Twine(size) + " elements");
      if (weight.spec.dtype != arg.spec.dtype)
        return fail(at, "'" + weight.name + "' is " +
                            dtypeName(weight.spec.dtype) + " in a " +
                            dtypeName(arg.spec.dtype) + " argument");
      weight.offset = *offset;
      arg.weights.push_back(std::move(weight));
    }
    return arg;
  }

private:
  std::string path_;
};

/// The entry point's only f32 [B, 3, H, W] input and f32 [B, C] output, as
/// clusopt-run feeds images and prints logits.
Error checkImageClassifier(const ArtifactManifest &m) {
  const ArtifactArgument *input = nullptr;
  int inputs = 0;
  for (const ArtifactArgument &a : m.arguments)
    if (a.role == ArtifactArgument::Role::Input)
      input = &a, ++inputs;
  auto refuse = [&](const Twine &why) {
    return createStringError(
        Twine(m.dir) +
        ": clusopt-run runs image classifiers (one f32 input [B, 3, H, W], "
        "one f32 output [B, classes]); this artifact " +
        why + " (clusopt.load_model runs it from Python)");
  };
  if (inputs != 1)
    return refuse("takes " + Twine(inputs) + " inputs");
  const TensorSpec &in = input->spec;
  if (in.dtype != DType::F32 || in.shape.size() != 4 || in.shape[1] != 3 ||
      in.shape[0] < 1 || in.shape[2] < 1 || in.shape[3] < 1)
    return refuse("takes " + in.str());
  if (m.outputs.size() != 1)
    return refuse("returns " + Twine(m.outputs.size()) + " outputs");
  const TensorSpec &out = m.outputs[0];
  if (out.dtype != DType::F32 || out.shape.size() != 2 ||
      out.shape[0] != in.shape[0] || out.shape[1] < 1)
    return refuse("returns " + out.str());
  return Error::success();
}

/// An artifact's model: one call of the entry point per compiled batch.
class CompiledModel : public Model {
public:
  CompiledModel(const KernelLibrary &kernels, std::string name,
                std::string entry, std::vector<Tensor> arguments,
                size_t inputIndex, TensorSpec input, int64_t classes)
      : kernels_(kernels), name_(std::move(name)), entry_(std::move(entry)),
        arguments_(std::move(arguments)), inputIndex_(inputIndex),
        input_(std::move(input)), classes_(classes) {}

  const std::string &name() const override { return name_; }
  int64_t resolutionMultiple() const override { return 1; }
  int64_t defaultResolution() const override { return input_.shape[2]; }
  int64_t numClasses() const override { return classes_; }

  Expected<Tensor> forward(const Tensor &images,
                           Profile *profile) const override {
    int64_t batch = input_.shape[0], h = input_.shape[2], w = input_.shape[3];
    if (images.dtype() != DType::F32 || images.rank() != 4 ||
        images.dim(1) != 3 || images.dim(2) != h || images.dim(3) != w)
      return createStringError(
          formatv("{0}: the model was compiled for f32 images [B, 3, {1}, "
                  "{2}] (B = {3} per run); got {4} {5} (compile it again "
                  "for another resolution)",
                  name_, h, w, batch, dtypeName(images.dtype()),
                  shapeString(images.shape()))
              .str());
    int64_t n = images.dim(0);
    Tensor logits;
    ASSIGN_OR_RETURN(logits, Tensor::empty(DType::F32, {n, classes_}));
    std::vector<Tensor> args = arguments_;
    for (int64_t first = 0; first < n; first += batch) {
      int64_t count = std::min(batch, n - first);
      if (count == batch) {
        ASSIGN_OR_RETURN(args[inputIndex_], images.slice(first, first + count));
      } else {
        // The last run's missing images are zeros; their logits are
        // dropped.
        ASSIGN_OR_RETURN(args[inputIndex_],
                         Tensor::zeros(DType::F32, input_.shape));
        Tensor part;
        ASSIGN_OR_RETURN(part, images.slice(first, first + count));
        std::memcpy(args[inputIndex_].raw(), part.raw(), part.numBytes());
      }
      auto start = std::chrono::steady_clock::now();
      std::vector<Tensor> out;
      ASSIGN_OR_RETURN(out, kernels_.call(entry_, args));
      if (profile)
        profile->add("compiled model (" + entry_ + ")",
                     std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count());
      if (out.size() != 1)
        return createStringError(name_ + ": the entry point returned " +
                                 Twine(out.size()) + " results, expected 1");
      std::memcpy(logits.data<float>() + first * classes_, out[0].data<float>(),
                  count * classes_ * sizeof(float));
    }
    return logits;
  }

private:
  const KernelLibrary &kernels_;
  std::string name_, entry_;
  std::vector<Tensor> arguments_; // the bound weights; the input's slot empty
  size_t inputIndex_;
  TensorSpec input_;
  int64_t classes_;
};

/// Copies each weight of `arg` from `file` into `packed`, checked by name,
/// dtype and shape; records the names it used.
Error bindWeights(const ArtifactArgument &arg, bool constants,
                  const SafetensorsFile &file, Tensor &packed,
                  std::set<std::string> &used) {
  size_t size = dtypeSize(arg.spec.dtype);
  for (const ArtifactWeight &w : arg.weights) {
    if (w.constant != constants)
      continue;
    if (Error err = file.expect(w.name, w.spec.dtype, w.spec.shape))
      return err;
    ArrayRef<uint8_t> bytes = file.bytes(*file.find(w.name));
    std::memcpy(static_cast<char *>(packed.raw()) + w.offset * size,
                bytes.data(), bytes.size());
    used.insert(w.name);
  }
  return Error::success();
}

} // namespace

Expected<ArtifactManifest> ArtifactManifest::read(StringRef dir) {
  ArtifactManifest m;
  m.dir = dir.str();
  if (!sys::fs::is_directory(dir))
    return createStringError(dir + ": not a model artifact (a directory "
                                   "with a model.json)");
  SmallString<256> path(dir);
  sys::path::append(path, kManifestName);
  auto text = readInputFile(path, kManifestInput);
  if (!text)
    return createStringError(
        dir + ": not a model artifact: " + toString(text.takeError()));
  Expected<json::Value> json = parseJson((*text)->getBuffer(), 32, 1'000'000);
  if (!json)
    return createStringError(path +
                             ": not valid JSON: " + toString(json.takeError()));
  ManifestReader reader(path.str().str());
  const json::Object *root = json->getAsObject();
  std::optional<StringRef> format =
      root ? root->getString("format") : std::nullopt;
  if (!format || *format != kModelArtifactFormat)
    return createStringError(path + ": not a " + kModelArtifactFormat +
                             " manifest (format " +
                             (format ? "'" + *format + "'" : "missing") + ")");
  const json::Object *compiler = root->getObject("compiler");
  const json::Object *target = root->getObject("target");
  const json::Array *args = root->getArray("arguments");
  const json::Array *outputs = root->getArray("outputs");
  if (!compiler || !target || !args || !outputs)
    return reader.fail("model.json", "expected \"compiler\", \"target\", "
                                     "\"arguments\" and \"outputs\"");
  ASSIGN_OR_RETURN(m.compilerVersion,
                   reader.string(*compiler, "version", "compiler"));
  ASSIGN_OR_RETURN(m.targetName, reader.string(*target, "name", "target"));
  ASSIGN_OR_RETURN(m.targetTriple, reader.string(*target, "triple", "target"));
  if (const json::Array *features = target->getArray("features")) {
    for (const json::Value &f : *features) {
      std::optional<StringRef> name = f.getAsString();
      if (!name)
        return reader.fail("target", "features must be strings");
      m.targetFeatures.push_back(name->str());
    }
  }
  m.name = root->getString("name").value_or(sys::path::filename(dir)).str();
  ASSIGN_OR_RETURN(m.entryPoint, reader.string(*root, "entry_point", "root"));
  ASSIGN_OR_RETURN(m.library, reader.string(*root, "library", "root"));
  ASSIGN_OR_RETURN(m.kernels, reader.string(*root, "kernels", "root"));
  m.constants = root->getString("constants").value_or("").str();
  for (auto [key, value] :
       {std::pair<StringRef, StringRef>{"library", m.library},
        {"kernels", m.kernels}})
    if (!isPlainFileName(value))
      return reader.fail(key, "must name a file in the artifact, got '" +
                                  value + "'");
  if (!m.constants.empty() && !isPlainFileName(m.constants))
    return reader.fail("constants", "must name a file in the artifact");
  for (auto [i, v] : enumerate(*args)) {
    Expected<ArtifactArgument> arg = reader.argument(v, i);
    if (!arg)
      return arg.takeError();
    m.arguments.push_back(std::move(*arg));
  }
  for (auto [i, v] : enumerate(*outputs)) {
    const json::Object *obj = v.getAsObject();
    if (!obj)
      return reader.fail("output " + Twine(i), "expected an object");
    Expected<TensorSpec> spec = reader.spec(*obj, "output " + Twine(i));
    if (!spec)
      return spec.takeError();
    m.outputs.push_back(std::move(*spec));
  }
  return m;
}

Error ArtifactManifest::checkRunsHere() const {
  std::string ours = versionString();
  if (compilerVersion != ours)
    return createStringError(dir + ": built by " + compilerVersion +
                             ", but this is " + ours +
                             "; compile the model again with this clusopt");
  Triple built(targetTriple), host(sys::getProcessTriple());
  if (built.getArch() != host.getArch())
    return createStringError(Twine(dir) + ": built for " + targetName + " (" +
                             targetTriple + "); this machine is " +
                             host.getArchName());
  StringMap<bool> features = sys::getHostCPUFeatures();
  std::vector<std::string> missing;
  for (const std::string &f : targetFeatures)
    if (!features.lookup(f))
      missing.push_back(f);
  if (!missing.empty())
    return createStringError(Twine(dir) + ": built for " + targetName +
                             ", which needs CPU features this machine "
                             "lacks: " +
                             join(missing, ", "));
  return Error::success();
}

Expected<LoadedArtifact> loadArtifact(StringRef dir, StringRef weightsPath) {
  Expected<ArtifactManifest> read = ArtifactManifest::read(dir);
  if (!read)
    return read.takeError();
  const ArtifactManifest &m = *read;
  if (Error err = m.checkRunsHere())
    return std::move(err);
  if (Error err = checkImageClassifier(m))
    return std::move(err);

  auto inDir = [&](StringRef name) {
    SmallString<256> path(dir);
    sys::path::append(path, name);
    return path.str().str();
  };
  LoadedArtifact result;
  LoadedModel &loaded = result.loaded;
  ASSIGN_OR_RETURN(loaded.kernels,
                   KernelLibrary::open(inDir(m.library), inDir(m.kernels)));
  const EntryPoint *entry = loaded.kernels->find(m.entryPoint);
  if (!entry)
    return createStringError(dir + ": the kernel library has no entry point '" +
                             m.entryPoint + "'");
  bool agree = entry->arguments.size() == m.arguments.size() &&
               entry->results.size() == m.outputs.size();
  for (size_t i = 0; agree && i < m.arguments.size(); ++i)
    agree = entry->arguments[i].str() == m.arguments[i].spec.str();
  for (size_t i = 0; agree && i < m.outputs.size(); ++i)
    agree = entry->results[i].str() == m.outputs[i].str();
  if (!agree)
    return createStringError(dir + ": model.json and " + m.kernels +
                             " disagree on the signature of '" + m.entryPoint +
                             "'");

  Expected<SafetensorsFile> weights = SafetensorsFile::open(weightsPath);
  if (!weights)
    return weights.takeError();
  std::optional<SafetensorsFile> constants;
  std::vector<Tensor> arguments;
  size_t inputIndex = 0;
  std::set<std::string> used;
  for (auto [i, arg] : enumerate(m.arguments)) {
    if (arg.role == ArtifactArgument::Role::Input) {
      inputIndex = i;
      result.inputShape.assign(arg.spec.shape.begin(), arg.spec.shape.end());
      arguments.emplace_back();
      continue;
    }
    // Zeros between weights, if any, stay zeros.
    Tensor packed;
    ASSIGN_OR_RETURN(packed, Tensor::zeros(arg.spec.dtype, arg.spec.shape));
    if (Error err =
            bindWeights(arg, /*constants=*/false, *weights, packed, used))
      return createStringError(weightsPath + ": " + toString(std::move(err)));
    if (any_of(arg.weights,
               [](const ArtifactWeight &w) { return w.constant; })) {
      if (!constants) {
        if (m.constants.empty())
          return createStringError(dir + ": model.json lists constants but "
                                         "names no constants file");
        Expected<SafetensorsFile> file =
            SafetensorsFile::open(inDir(m.constants));
        if (!file)
          return file.takeError();
        constants.emplace(std::move(*file));
      }
      std::set<std::string> ignored;
      if (Error err =
              bindWeights(arg, /*constants=*/true, *constants, packed, ignored))
        return createStringError(inDir(m.constants) + ": " +
                                 toString(std::move(err)));
    }
    arguments.push_back(std::move(packed));
  }
  for (const SafetensorsEntry &e : weights->tensors())
    if (!used.count(e.name))
      result.unusedWeights.push_back(e.name);

  TensorSpec input = m.arguments[inputIndex].spec;
  loaded.model = std::make_unique<CompiledModel>(
      *loaded.kernels, m.name, m.entryPoint, std::move(arguments), inputIndex,
      input, m.outputs[0].shape[1]);
  loaded.detail = formatv(" (artifact {0}, compiled for {1}, target {2})", dir,
                          input.str(), m.targetName)
                      .str();
  return result;
}

} // namespace clusopt::runtime
