# What `pip install .` (scikit-build-core, pyproject.toml) and
# `cmake --install` install, all in the component `clusopt`: LLVM's
# add_llvm_library adds install rules of its own for the project's static
# libraries, which pyproject.toml leaves out by installing only this
# component. The layout:
#   bin/          the command-line tools (not the test drivers or fuzzers)
#   lib/          the runtime libraries, and libclusopt_ukernels.a
#   lib/kernels/  the model kernels clusopt-run loads (compiled at build time
#                 for the building machine's CPU, --target=host)
# In a wheel both sit inside the Python package (clusopt/bin, clusopt/lib):
# the tools find lib/ as $ORIGIN/../lib (their RUNPATH, as LLVM sets it for
# installed targets; nothing else is needed, since Debian's libLLVM.so.22.1
# and libomp.so.5 are on the loader's default path), the Python package
# finds both beside itself (toolchain.build_dir()), and console entry points
# (python/clusopt/_cli.py) put the tools on PATH.
if(SKBUILD)
  set(CLUSOPT_INSTALL_DIR clusopt/)
else()
  set(CLUSOPT_INSTALL_DIR "")
endif()

set(CLUSOPT_INSTALLED_TOOLS clusopt-opt clusopt-compile clusopt-tune
  clusopt-run clusopt-safetensors)
install(TARGETS ${CLUSOPT_INSTALLED_TOOLS}
  RUNTIME DESTINATION ${CLUSOPT_INSTALL_DIR}bin COMPONENT clusopt)

# Shared libraries for users: the GPU runtime that GPU kernel libraries
# need, and the runtime's C API for models when it is built.
set(CLUSOPT_INSTALLED_LIBRARIES clusopt_gpu_runtime)
if(TARGET clusopt_runtime)
  list(APPEND CLUSOPT_INSTALLED_LIBRARIES clusopt_runtime)
endif()
install(TARGETS ${CLUSOPT_INSTALLED_LIBRARIES}
  LIBRARY DESTINATION ${CLUSOPT_INSTALL_DIR}lib COMPONENT clusopt)

# The micro-kernel library that clusopt-compile links into every CPU
# kernel library (lib/ beside bin/, as in the build tree).
install(TARGETS clusopt_ukernels
  ARCHIVE DESTINATION ${CLUSOPT_INSTALL_DIR}lib COMPONENT clusopt)

# The GPU runtime needs nothing beyond the loader's default path (it links
# no LLVM library), so it has no RUNPATH, in the build tree (where
# GPU kernel libraries built there find it) as installed.
set_target_properties(clusopt_gpu_runtime PROPERTIES
  BUILD_WITH_INSTALL_RPATH ON INSTALL_RPATH "")

set(CLUSOPT_INSTALLED_KERNELS_DIR lib/kernels)
foreach(family paca cast clustr)
  foreach(extension so json h)
    install(FILES
      ${PROJECT_BINARY_DIR}/runtime/models/${family}_kernels.${extension}
      DESTINATION ${CLUSOPT_INSTALL_DIR}${CLUSOPT_INSTALLED_KERNELS_DIR}
      COMPONENT clusopt)
  endforeach()
endforeach()
# The model registry (clusopt-run, libclusopt_runtime.so) looks there,
# relative to the binary it runs in (bin/ or lib/), before the build tree.
target_compile_definitions(ClusoptModels PRIVATE
  CLUSOPT_INSTALLED_KERNELS_DIR="../${CLUSOPT_INSTALLED_KERNELS_DIR}")
target_compile_definitions(clusopt-run PRIVATE
  CLUSOPT_INSTALLED_KERNELS_DIR="../${CLUSOPT_INSTALLED_KERNELS_DIR}")

# The Python package itself comes from python/clusopt (pyproject.toml);
# this adds what `python -m clusopt --version` prints (lib/Support
# configures it).
if(SKBUILD)
  install(FILES ${PROJECT_BINARY_DIR}/python/clusopt/_build_info.py
    DESTINATION clusopt COMPONENT clusopt)
  # The ImageNet class names clusopt.ray labels results with.
  install(FILES ${PROJECT_SOURCE_DIR}/runtime/data/imagenet-classes.txt
    DESTINATION clusopt/data COMPONENT clusopt)
endif()

# The sanitized runtime builds are for the tests only.
if(NOT CLUSOPT_BUILD_TESTS)
  set_target_properties(ClusoptRuntimeSanitized ClusoptGpuRuntimeSanitized
    PROPERTIES EXCLUDE_FROM_ALL ON)
endif()
