//===- SanitizerDefaults.cpp - ASan defaults of the checked build ---------===//
//
// Linked into every target of a build with CLUSOPT_SANITIZERS=address.
//
// The checked build instruments the project's code but not the prebuilt
// LLVM/MLIR libraries. llvm::BumpPtrAllocator poisons the unused part of
// each slab when its inline code is compiled with ASan, and unpoisons what
// it hands out; the prebuilt copies of that code hand memory out without
// unpoisoning it, so MLIR's own allocations from a slab the project's code
// started would be reported as use-after-poison. Manual poisoning is
// therefore off; what ASan detects by itself (heap, stack and global bounds,
// use after free) stays on. ASAN_OPTIONS still overrides it.
//
//===----------------------------------------------------------------------===//

extern "C" __attribute__((visibility("default"), used)) const char *
__asan_default_options() {
  return "allow_user_poisoning=0";
}
