# The sources that decide the generated code: the dialect, the conversions,
# transforms and pipelines, and clusopt-compile. Both the build (to re-run
# CompilerVersion.cmake) and CompilerVersion.cmake (to hash them) use this
# one list. Expects ROOT; sets CLUSOPT_CODEGEN_GLOBS.
set(CLUSOPT_CODEGEN_GLOBS
  ${ROOT}/include/clusopt/Dialect/*.td ${ROOT}/include/clusopt/Dialect/*.h
  ${ROOT}/include/clusopt/Conversion/*.td ${ROOT}/include/clusopt/Conversion/*.h
  ${ROOT}/include/clusopt/Transforms/*.td ${ROOT}/include/clusopt/Transforms/*.h
  ${ROOT}/include/clusopt/Pipelines/*.h
  ${ROOT}/lib/Dialect/*.h ${ROOT}/lib/Dialect/*.cpp
  ${ROOT}/lib/Conversion/*.h ${ROOT}/lib/Conversion/*.cpp
  ${ROOT}/lib/Transforms/*.h ${ROOT}/lib/Transforms/*.cpp
  ${ROOT}/lib/Pipelines/*.cpp
  ${ROOT}/tools/clusopt-compile/*.cpp)
