// clusopt._native: the call path of a `clusopt-compile` entry point.
//
// Per call it checks the arguments (NumPy arrays or torch tensors) against
// the entry point's specs, builds their strided memref descriptors on the
// stack, calls the kernel and wraps its result buffers without a copy. The
// Python side (clusopt/library.py) prepares one EntryPoint per kernel.
//
// torch is never linked: tensors are read through their Python methods, and
// results become tensors through DLPack (the `from_dlpack` callable the
// Python side hands over once torch is in use).

#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#define NPY_TARGET_VERSION NPY_1_22_API_VERSION
#include <numpy/arrayobject.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace nb = nanobind;

namespace {

// Element types, in the order library.py lists them.
enum class Element : int { F32, F16, BF16, I32, I64 };

struct ElementInfo {
  int numpyType;
  uint8_t dlpackCode; // 0 int, 2 float, 4 bfloat
  uint8_t bits;
};

ElementInfo elementInfo(Element e) {
  switch (e) {
  case Element::F32:
    return {NPY_FLOAT32, 2, 32};
  case Element::F16:
    return {NPY_FLOAT16, 2, 16};
  case Element::BF16:
    return {NPY_UINT16, 4, 16};
  case Element::I32:
    return {NPY_INT32, 0, 32};
  case Element::I64:
    break;
  }
  return {NPY_INT64, 0, 64};
}

constexpr size_t kMaxArguments = 24;
constexpr size_t kMaxRank = 16;

// What the Python side hands over once: the error class, and torch's
// pieces (only after torch is imported; plain NumPy users never import it).
struct Globals {
  nb::object argumentError;
  nb::object resolveTorch; // () -> (Tensor type, dtypes, from_dlpack) | None
  PyTypeObject *tensorType = nullptr;
  nb::object torchDtypes[5];
  nb::object fromDlpack;
  bool torchResolved = false;
};
Globals *globals = nullptr;

// Interned attribute names of torch.Tensor.
PyObject *sDtype, *sIsCpu, *sIsCuda, *sShape, *sIsContiguous, *sContiguous,
    *sDataPtr, *sDevice, *sRequiresGrad, *sDetach;

[[noreturn]] void raiseArgumentError(const std::string &message) {
  PyErr_SetString(globals->argumentError.ptr(), message.c_str());
  throw nb::python_error();
}

std::string str(PyObject *o) {
  nb::str s = nb::str(nb::handle(o));
  return s.c_str();
}

// The torch type, resolved on first sight of a non-NumPy argument.
PyTypeObject *tensorType() {
  if (!globals->torchResolved) {
    nb::object info = globals->resolveTorch();
    if (info.is_none())
      return nullptr;
    globals->tensorType = (PyTypeObject *)info[0].ptr();
    nb::object dtypes = info[1];
    for (int i = 0; i < 5; ++i)
      globals->torchDtypes[i] = dtypes[i];
    globals->fromDlpack = info[2];
    globals->torchResolved = true;
  }
  return globals->tensorType;
}

nb::object callMethod(PyObject *self, PyObject *name) {
  PyObject *args[] = {self};
  PyObject *r = PyObject_VectorcallMethod(
      name, args, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
  if (!r)
    throw nb::python_error();
  return nb::steal(r);
}

nb::object getAttr(PyObject *self, PyObject *name) {
  PyObject *r = PyObject_GetAttr(self, name);
  if (!r)
    throw nb::python_error();
  return nb::steal(r);
}

struct Spec {
  Element element;
  std::vector<int64_t> shape; // -1: dynamic
  std::string name;
  std::string typeText;    // e.g. 1x?x4xf32
  std::vector<int> groups; // per axis: dims with one group id are equal
};

// A kernel's result buffer, shared by the results over it and freed (with
// libc's free, like the kernel's malloc) when the last of them dies; safe
// to release from any thread (torch frees tensors without the GIL).
struct SharedBuffer {
  std::atomic<int> references{1};
  void *allocated;
  void release() {
    if (references.fetch_sub(1) == 1) {
      free(allocated);
      delete this;
    }
  }
};

// DLPack's ABI (v0.8 unversioned capsule, which every torch accepts).
struct DLDevice {
  int32_t type, id;
};
struct DLDataType {
  uint8_t code, bits;
  uint16_t lanes;
};
struct DLTensor {
  void *data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t *shape, *strides;
  uint64_t byteOffset;
};
struct DLManagedTensor {
  DLTensor tensor;
  void *managerContext;
  void (*deleter)(DLManagedTensor *);
};
struct ManagedResult {
  DLManagedTensor managed;
  SharedBuffer *buffer;
  int64_t shape[kMaxRank], strides[kMaxRank];
};

void deleteManaged(DLManagedTensor *managed) {
  auto *result = static_cast<ManagedResult *>(managed->managerContext);
  if (result->buffer)
    result->buffer->release();
  delete result;
}

void destroyUnusedCapsule(PyObject *capsule) {
  if (PyCapsule_IsValid(capsule, "dltensor")) {
    auto *managed = static_cast<DLManagedTensor *>(
        PyCapsule_GetPointer(capsule, "dltensor"));
    managed->deleter(managed);
  }
}

void releaseBufferCapsule(PyObject *capsule) {
  static_cast<SharedBuffer *>(PyCapsule_GetPointer(capsule, nullptr))
      ->release();
}

template <size_t... I>
void invoke(void *fn, void *const *pointers, std::index_sequence<I...>) {
  using Fn = void (*)(decltype((void)I, (void *)nullptr)...);
  reinterpret_cast<Fn>(fn)(pointers[I]...);
}

template <size_t N = 0>
void callWith(void *fn, size_t count, void *const *pointers) {
  if constexpr (N <= kMaxArguments + 1) {
    if (count == N)
      return invoke(fn, pointers, std::make_index_sequence<N>());
    callWith<N + 1>(fn, count, pointers);
  }
}

// One argument of a call, checked.
struct Prepared {
  nb::object keep; // the array or tensor passed (a contiguous copy if needed)
  void *data = nullptr;
  int64_t shape[kMaxRank];
  bool isTorch = false;
};

class EntryPoint {
public:
  EntryPoint(std::string name, uintptr_t function, bool gpu,
             std::vector<std::tuple<int, std::vector<int64_t>, std::string,
                                    std::string, std::vector<int>>>
                 arguments,
             std::vector<std::pair<int, int>> results,
             std::vector<std::pair<int, int64_t>> groupMinimums)
      : name(std::move(name)), function(function), gpu(gpu),
        groupMinimums(std::move(groupMinimums)) {
    if (arguments.size() > kMaxArguments)
      throw nb::value_error("clusopt: an entry point takes at most 24 "
                            "arguments");
    int groupCount = 0;
    for (auto &[element, shape, argName, typeText, groups] : arguments) {
      if (shape.size() > kMaxRank)
        throw nb::value_error("clusopt: rank above 16");
      if (!groups.empty() && groups.size() != shape.size())
        throw nb::value_error("clusopt: one group per axis");
      for (int g : groups)
        groupCount = std::max(groupCount, g + 1);
      this->arguments.push_back(
          {Element(element), shape, argName, typeText, groups});
      argumentWords += 3 + 2 * shape.size();
    }
    for (auto &[g, minimum] : this->groupMinimums)
      groupCount = std::max(groupCount, g + 1);
    this->groupCount = groupCount;
    for (auto [element, rank] : results) {
      if (rank < 0 || size_t(rank) > kMaxRank)
        throw nb::value_error("clusopt: rank above 16");
      this->results.push_back({Element(element), rank});
      resultWords += 3 + 2 * rank;
    }
  }

  // Runs the kernel; raises ArgumentError (naming the argument) when the
  // arguments don't fit its specs.
  nb::object call(nb::args args) { return run(args, /*strict=*/true); }

  // The same call, but NotImplemented instead of an error when the
  // arguments don't fit (clusopt.ops then checks them itself).
  nb::object tryCall(nb::handle args) { return run(args, /*strict=*/false); }

  // A GPU library's arguments, checked: [(value, data pointer, shape,
  // is_torch)], for its Python call path.
  nb::list prepare(nb::args args) {
    Prepared prepared[kMaxArguments];
    checkCount(args);
    nb::list out;
    for (size_t i = 0; i < arguments.size(); ++i) {
      prepareOne(i, args[i].ptr(), prepared[i], true);
      nb::list shape;
      for (size_t a = 0; a < arguments[i].shape.size(); ++a)
        shape.append(prepared[i].shape[a]);
      out.append(nb::make_tuple(prepared[i].keep, uintptr_t(prepared[i].data),
                                nb::tuple(shape), prepared[i].isTorch));
    }
    return out;
  }

  uintptr_t address() const { return function; }

private:
  struct ResultSpec {
    Element element;
    int rank;
  };

  std::string name;
  uintptr_t function;
  bool gpu;
  std::vector<Spec> arguments;
  std::vector<ResultSpec> results;
  std::vector<std::pair<int, int64_t>> groupMinimums;
  int groupCount = 0;
  size_t argumentWords = 0, resultWords = 0;

  void checkCount(nb::handle args) {
    size_t count = PyTuple_GET_SIZE(args.ptr());
    if (count != arguments.size())
      raiseArgumentError(name + ": takes " + std::to_string(arguments.size()) +
                         " arguments, got " + std::to_string(count));
  }

  [[noreturn]] void fail(size_t index, const std::string &what) {
    raiseArgumentError(name + ": argument " + std::to_string(index) + " (" +
                       arguments[index].name + ") " + what);
  }

  static std::string shapeText(const int64_t *shape, size_t rank) {
    std::string text = "[";
    for (size_t a = 0; a < rank; ++a)
      text += (a ? ", " : "") + std::to_string(shape[a]);
    return text + "]";
  }

  // Checks one argument; false (strict: raises) when it doesn't fit.
  bool prepareOne(size_t index, PyObject *value, Prepared &out, bool strict) {
    const Spec &spec = arguments[index];
    ElementInfo info = elementInfo(spec.element);
    size_t rank;
    if (PyArray_Check(value)) {
      auto *array = reinterpret_cast<PyArrayObject *>(value);
      if (PyArray_TYPE(array) != info.numpyType ||
          !PyArray_ISNOTSWAPPED(array)) {
        if (!strict)
          return false;
        std::string hint = spec.element == Element::BF16
                               ? " (NumPy has no bf16: pass its bits as uint16)"
                               : "";
        fail(index, "must be " + dtypeName(spec.element) + ", got " +
                        str((PyObject *)PyArray_DESCR(array)) + hint);
      }
      if (!PyArray_IS_C_CONTIGUOUS(array)) {
        PyObject *copy = (PyObject *)PyArray_GETCONTIGUOUS(array);
        if (!copy)
          throw nb::python_error();
        out.keep = nb::steal(copy);
        array = reinterpret_cast<PyArrayObject *>(copy);
      } else {
        out.keep = nb::borrow(value);
      }
      rank = PyArray_NDIM(array);
      if (rank <= kMaxRank)
        for (size_t a = 0; a < rank; ++a)
          out.shape[a] = PyArray_DIMS(array)[a];
      out.data = PyArray_DATA(array);
      out.isTorch = false;
    } else if (PyTypeObject *tensor = tensorType();
               tensor && PyObject_TypeCheck(value, tensor)) {
      nb::object dtype = getAttr(value, sDtype);
      if (!dtype.is(globals->torchDtypes[int(spec.element)])) {
        if (!strict)
          return false;
        fail(index, "must be " + dtypeName(spec.element) + " (torch." +
                        torchName(spec.element) + "), got " + str(dtype.ptr()));
      }
      if (!checkDevice(index, value, strict))
        return false;
      nb::object keep = nb::borrow(value);
      if (gpu && getAttr(value, sRequiresGrad).is(Py_True))
        keep = callMethod(value, sDetach); // .numpy() refuses grad tensors
      if (!callMethod(keep.ptr(), sIsContiguous).is(Py_True))
        keep = callMethod(keep.ptr(), sContiguous);
      nb::object shape = getAttr(keep.ptr(), sShape);
      rank = PyTuple_GET_SIZE(shape.ptr());
      if (rank <= kMaxRank)
        for (size_t a = 0; a < rank; ++a)
          out.shape[a] = PyLong_AsLongLong(PyTuple_GET_ITEM(shape.ptr(), a));
      nb::object data = callMethod(keep.ptr(), sDataPtr);
      out.data = PyLong_AsVoidPtr(data.ptr());
      out.keep = std::move(keep);
      out.isTorch = true;
    } else {
      if (!strict)
        return false;
      fail(index, std::string("must be a NumPy array or a torch tensor, got ") +
                      Py_TYPE(value)->tp_name);
    }
    if (rank != spec.shape.size()) {
      if (!strict)
        return false;
      fail(index, "must have rank " + std::to_string(spec.shape.size()) + " (" +
                      spec.typeText + "), got shape " +
                      shapeText(out.shape, std::min(rank, kMaxRank)));
    }
    for (size_t a = 0; a < rank; ++a) {
      if (spec.shape[a] >= 0 && spec.shape[a] != out.shape[a]) {
        if (!strict)
          return false;
        fail(index, "must have dim " + std::to_string(a) + " = " +
                        std::to_string(spec.shape[a]) + " (" + spec.typeText +
                        "), got shape " + shapeText(out.shape, rank));
      }
    }
    return true;
  }

  bool checkDevice(size_t index, PyObject *value, bool strict) {
    if (getAttr(value, sIsCpu).is(Py_True))
      return true;
    if (gpu && getAttr(value, sIsCuda).is(Py_True))
      return true;
    if (!strict)
      return false;
    std::string device = str(getAttr(value, sDevice).ptr());
    fail(index, "is on device '" + device + "'; " +
                    (gpu ? "a GPU library takes CPU or CUDA tensors"
                         : "this library runs on the CPU: pass a CPU tensor"));
  }

  static std::string dtypeName(Element e) {
    static const char *names[] = {"f32", "f16", "bf16", "i32", "i64"};
    return names[int(e)];
  }
  static std::string torchName(Element e) {
    static const char *names[] = {"float32", "float16", "bfloat16", "int32",
                                  "int64"};
    return names[int(e)];
  }

  nb::object run(nb::handle args, bool strict) {
    if (!PyTuple_Check(args.ptr()))
      throw nb::type_error("clusopt: arguments must be a tuple");
    if (gpu)
      throw nb::type_error("clusopt: a GPU entry point runs through prepare");
    if (!strict && size_t(PyTuple_GET_SIZE(args.ptr())) != arguments.size())
      return nb::borrow(Py_NotImplemented);
    checkCount(args);
    Prepared prepared[kMaxArguments];
    bool asTorch = false;
    for (size_t i = 0; i < arguments.size(); ++i) {
      if (!prepareOne(i, PyTuple_GET_ITEM(args.ptr(), i), prepared[i], strict))
        return nb::borrow(Py_NotImplemented);
      asTorch |= prepared[i].isTorch;
    }
    if (groupCount && !checkGroups(prepared))
      return nb::borrow(Py_NotImplemented);

    // Descriptors {allocated, aligned, offset, sizes, strides}, all 64-bit:
    // the arguments' back to back, and the results' as one struct.
    int64_t stackWords[256];
    std::vector<int64_t> heapWords;
    int64_t *words = stackWords;
    size_t total = argumentWords + resultWords;
    if (total > 256) {
      heapWords.resize(total);
      words = heapWords.data();
    }
    int64_t *resultDescriptors = words;
    std::memset(resultDescriptors, 0, resultWords * sizeof(int64_t));
    void *pointers[kMaxArguments + 1];
    size_t count = 0;
    if (!results.empty())
      pointers[count++] = resultDescriptors;
    int64_t *at = words + resultWords;
    for (size_t i = 0; i < arguments.size(); ++i) {
      size_t rank = arguments[i].shape.size();
      pointers[count++] = at;
      at[0] = at[1] = int64_t(uintptr_t(prepared[i].data));
      at[2] = 0;
      int64_t stride = 1;
      for (size_t a = rank; a-- > 0;) {
        at[3 + a] = prepared[i].shape[a];
        at[3 + rank + a] = stride;
        stride *= prepared[i].shape[a];
      }
      at += 3 + 2 * rank;
    }
    {
      nb::gil_scoped_release released;
      callWith(reinterpret_cast<void *>(function), count, pointers);
    }
    return wrapResults(resultDescriptors, prepared, asTorch);
  }

  bool checkGroups(const Prepared *prepared) {
    int64_t bound[64];
    if (groupCount > 64)
      return false;
    for (int g = 0; g < groupCount; ++g)
      bound[g] = -1;
    for (size_t i = 0; i < arguments.size(); ++i) {
      const std::vector<int> &groups = arguments[i].groups;
      for (size_t a = 0; a < groups.size(); ++a) {
        int g = groups[a];
        if (g < 0)
          continue;
        if (bound[g] < 0)
          bound[g] = prepared[i].shape[a];
        else if (bound[g] != prepared[i].shape[a])
          return false;
      }
    }
    for (auto [g, minimum] : groupMinimums)
      if (bound[g] < minimum)
        return false;
    return true;
  }

  nb::object wrapResults(int64_t *words, const Prepared *prepared,
                         bool asTorch) {
    size_t n = results.size();
    if (n == 0)
      return nb::none();
    nb::object outs[kMaxArguments];
    SharedBuffer *buffers[kMaxArguments];
    void *owners[kMaxArguments]; // allocated pointer of buffers[i]
    size_t bufferCount = 0;
    int64_t *at = words;
    for (size_t r = 0; r < n; ++r) {
      const ResultSpec &spec = results[r];
      ElementInfo info = elementInfo(spec.element);
      size_t itemsize = info.bits / 8;
      void *allocated = reinterpret_cast<void *>(at[0]);
      char *data = reinterpret_cast<char *>(at[1]) + at[2] * itemsize;
      const int64_t *shape = at + 3, *strides = at + 3 + spec.rank;
      at += 3 + 2 * spec.rank;
      bool aliasesInput = false;
      for (size_t i = 0; i < arguments.size(); ++i)
        aliasesInput |= allocated && allocated == prepared[i].data;
      SharedBuffer *buffer = nullptr;
      int64_t contiguous[kMaxRank];
      if (aliasesInput) {
        // The function returned an argument's buffer: copy it, and leave
        // the caller's memory alone.
        data = copyContiguous(data, shape, strides, spec.rank, itemsize,
                              contiguous);
        strides = contiguous;
        buffer = new SharedBuffer;
        buffer->allocated = data;
      } else if (allocated) {
        // Two results over one buffer share one owner (freed once).
        for (size_t b = 0; b < bufferCount && !buffer; ++b)
          if (owners[b] == allocated)
            buffer = buffers[b];
        if (buffer) {
          buffer->references.fetch_add(1);
        } else {
          buffer = new SharedBuffer;
          buffer->allocated = allocated;
          buffers[bufferCount] = buffer;
          owners[bufferCount++] = allocated;
        }
      }
      // From here `buffer` holds one reference, handed to the result.
      try {
        outs[r] = asTorch
                      ? torchResult(spec, info, data, shape, strides, buffer)
                      : numpyResult(info, data, shape, strides, spec.rank,
                                    itemsize, buffer);
      } catch (...) {
        // Results not yet wrapped still own their kernel buffers.
        for (size_t rest = r + 1; rest < n; ++rest) {
          int64_t *later = at;
          void *p = reinterpret_cast<void *>(later[0]);
          bool seen = false;
          for (size_t b = 0; b < bufferCount; ++b)
            seen |= owners[b] == p;
          for (size_t i = 0; i < arguments.size(); ++i)
            seen |= p == prepared[i].data;
          if (!seen && p) {
            free(p);
            buffers[bufferCount] = nullptr;
            owners[bufferCount++] = p;
          }
          at += 3 + 2 * results[rest].rank;
        }
        throw;
      }
    }
    if (n == 1)
      return outs[0];
    PyObject *tuple = PyTuple_New(Py_ssize_t(n));
    if (!tuple)
      throw nb::python_error();
    for (size_t r = 0; r < n; ++r)
      PyTuple_SET_ITEM(tuple, r, outs[r].release().ptr());
    return nb::steal(tuple);
  }

  // A malloc'ed C-contiguous copy of a strided buffer.
  static char *copyContiguous(const char *data, const int64_t *shape,
                              const int64_t *strides, int rank, size_t itemsize,
                              int64_t *contiguous) {
    int64_t elements = 1;
    for (int a = rank; a-- > 0;) {
      contiguous[a] = elements;
      elements *= shape[a];
    }
    char *copy = static_cast<char *>(malloc(elements * itemsize + 1));
    if (!copy)
      throw std::bad_alloc();
    int64_t index[kMaxRank] = {};
    for (int64_t e = 0; e < elements; ++e) {
      int64_t offset = 0;
      for (int a = 0; a < rank; ++a)
        offset += index[a] * strides[a];
      std::memcpy(copy + e * itemsize, data + offset * itemsize, itemsize);
      for (int a = rank; a-- > 0;) {
        if (++index[a] < shape[a])
          break;
        index[a] = 0;
      }
    }
    return copy;
  }

  static nb::object numpyResult(ElementInfo info, char *data,
                                const int64_t *shape, const int64_t *strides,
                                int rank, size_t itemsize,
                                SharedBuffer *buffer) {
    npy_intp dims[kMaxRank], byteStrides[kMaxRank];
    for (int a = 0; a < rank; ++a) {
      dims[a] = shape[a];
      byteStrides[a] = strides[a] * itemsize;
    }
    PyObject *owner = nullptr;
    if (buffer) {
      owner = PyCapsule_New(buffer, nullptr, releaseBufferCapsule);
      if (!owner) {
        buffer->release();
        throw nb::python_error();
      }
    }
    PyObject *array = PyArray_NewFromDescr(
        &PyArray_Type, PyArray_DescrFromType(info.numpyType), rank, dims,
        data ? byteStrides : nullptr, data, data ? NPY_ARRAY_WRITEABLE : 0,
        nullptr);
    if (!array) {
      Py_XDECREF(owner);
      throw nb::python_error();
    }
    if (owner && data &&
        PyArray_SetBaseObject(reinterpret_cast<PyArrayObject *>(array), owner) <
            0) {
      Py_DECREF(array);
      throw nb::python_error();
    }
    if (owner && !data)
      Py_DECREF(owner);
    return nb::steal(array);
  }

  static nb::object torchResult(const ResultSpec &spec, ElementInfo info,
                                char *data, const int64_t *shape,
                                const int64_t *strides, SharedBuffer *buffer) {
    auto *result = new ManagedResult;
    result->buffer = buffer;
    for (int a = 0; a < spec.rank; ++a) {
      result->shape[a] = shape[a];
      result->strides[a] = strides[a];
    }
    DLTensor &t = result->managed.tensor;
    t.data = data;
    t.device = {1, 0}; // kDLCPU
    t.ndim = spec.rank;
    t.dtype = {info.dlpackCode, info.bits, 1};
    t.shape = result->shape;
    t.strides = result->strides;
    t.byteOffset = 0;
    result->managed.managerContext = result;
    result->managed.deleter = deleteManaged;
    PyObject *capsule =
        PyCapsule_New(&result->managed, "dltensor", destroyUnusedCapsule);
    if (!capsule) {
      deleteManaged(&result->managed);
      throw nb::python_error();
    }
    PyObject *argv[] = {nullptr, capsule};
    PyObject *tensor =
        PyObject_Vectorcall(globals->fromDlpack.ptr(), argv + 1,
                            1 | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
    Py_DECREF(capsule);
    if (!tensor)
      throw nb::python_error();
    return nb::steal(tensor);
  }
};

void configure(nb::object argumentError, nb::object resolveTorch) {
  globals->argumentError = std::move(argumentError);
  globals->resolveTorch = std::move(resolveTorch);
}

} // namespace

NB_MODULE(_native, m) {
  m.doc() = "clusopt's call path for compiled kernels (see library.py)";
  if (_import_array() < 0)
    throw nb::python_error();
  globals = new Globals; // lives as long as the process: no teardown order
  // Kernels stay cached in module globals until the interpreter exits.
  nb::set_leak_warnings(false);
  for (auto [slot, text] : {std::pair{&sDtype, "dtype"},
                            {&sIsCpu, "is_cpu"},
                            {&sIsCuda, "is_cuda"},
                            {&sShape, "shape"},
                            {&sIsContiguous, "is_contiguous"},
                            {&sContiguous, "contiguous"},
                            {&sDataPtr, "data_ptr"},
                            {&sDevice, "device"},
                            {&sRequiresGrad, "requires_grad"},
                            {&sDetach, "detach"}})
    *slot = PyUnicode_InternFromString(text);
  m.def("configure", &configure, nb::arg("argument_error"),
        nb::arg("resolve_torch"),
        "Hands over clusopt.ArgumentError and a () -> (torch.Tensor, "
        "dtypes by element, from_dlpack) | None callable.");
  nb::class_<EntryPoint>(m, "EntryPoint")
      .def(nb::init<
               std::string, uintptr_t, bool,
               std::vector<std::tuple<int, std::vector<int64_t>, std::string,
                                      std::string, std::vector<int>>>,
               std::vector<std::pair<int, int>>,
               std::vector<std::pair<int, int64_t>>>(),
           nb::arg("name"), nb::arg("function"), nb::arg("gpu"),
           nb::arg("arguments"), nb::arg("results"),
           nb::arg("group_minimums") = std::vector<std::pair<int, int64_t>>())
      .def("__call__", &EntryPoint::call)
      .def("try_call", &EntryPoint::tryCall, nb::arg("args"))
      .def("prepare", &EntryPoint::prepare)
      .def_prop_ro("function", &EntryPoint::address);
}
