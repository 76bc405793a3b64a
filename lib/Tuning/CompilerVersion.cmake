# Writes CompilerVersion.inc: the compiler version of every tuning key. It
# hashes the sources that decide the generated code (the dialect, the
# conversions, transforms and pipelines, clusopt-compile), so rebuilding the
# same tree keeps the tuning records and any change to those sources retires
# them. Run as: cmake -DROOT=<src> -DOUTPUT=<file> -DLLVM_VERSION=<v> -P ...
include(${CMAKE_CURRENT_LIST_DIR}/CodegenSources.cmake)
file(GLOB_RECURSE sources RELATIVE ${ROOT} ${CLUSOPT_CODEGEN_GLOBS})
list(SORT sources)
set(manifest "")
foreach(source IN LISTS sources)
  file(SHA256 ${ROOT}/${source} digest)
  string(APPEND manifest "${source} ${digest}\n")
endforeach()
string(SHA256 digest "${manifest}")
string(SUBSTRING ${digest} 0 16 digest)
set(text "#define CLUSOPT_COMPILER_VERSION \"clusopt+src.${digest} llvm-${LLVM_VERSION}\"\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUTPUT} "${text}")
endif()
