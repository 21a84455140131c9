# One precompiled header shared by every C++ library and executable of the build.
#
# Nearly every source includes sagaflow/json.hpp, that is all of Boost.JSON (2-4 s of parsing per
# file, most of a small file's compile time); parsed once here and loaded from the .gch by each
# file instead. Only headers that do not depend on anything a file defines first: doctest stays
# out (tests/unit/main.cpp defines DOCTEST_CONFIG_IMPLEMENT before including it), and so do Asio
# and Beast (a handful of files; they would make the header every file loads twice as large).
#
# The header is built once, by sagaflow_pch, and reused (REUSE_FROM) by every other target, which
# works because every target compiles with the same options (add_compile_options above, also the
# fuzz build's sanitizers); only the definitions differ (the tests' SAGAFLOW_SOURCE_DIR), which
# neither GCC nor clang minds as long as the precompiled headers do not use them. A target
# compiled with other options would fail on -Winvalid-pch (GCC) or refuse the .pch (clang): give
# it none (leave it out in the loop below). With it, a file that misses an include of its own
# may still compile: build without it before relying on that.
#
# Off by default, on with -DSAGAFLOW_PCH=ON: not yet checked on a whole build. With GCC 12 at
# -O2 one file (tests/flows/order_cancellation_test.cpp) fails on a false -Warray-bounds inside
# std::string's operator+ when the header comes from the .gch, and compiles when the same
# header is read as text; other files may do the same. Measured on a sample of a tenth of the
# build's files: about a fifth less compile time than without it (README.md, "Build time").
#
# ccache caches files compiled with it only with CCACHE_SLOPPINESS=pch_defines,time_macros
# (ccache's manual, "Precompiled headers"); without that setting it compiles them every time.
option(SAGAFLOW_PCH "Precompile Boost.JSON and the standard headers once for every target" OFF)

function(sagaflow_precompiled_headers)
  if(NOT SAGAFLOW_PCH OR NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang)$")
    return()
  endif()
  add_library(sagaflow_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch/pch.cpp)
  target_link_libraries(sagaflow_pch PRIVATE Boost::json Boost::headers)
  target_precompile_headers(sagaflow_pch PRIVATE
    <algorithm> <chrono> <cstdint> <functional> <map> <memory> <optional> <set> <string>
    <string_view> <unordered_map> <utility> <variant> <vector>
    <boost/json.hpp>)
  set(pending ${PROJECT_SOURCE_DIR})
  while(pending)
    list(POP_FRONT pending dir)
    get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    list(APPEND pending ${subdirs})
    get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target ${targets})
      get_target_property(type ${target} TYPE)
      if(target STREQUAL "sagaflow_pch" OR NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE)$")
        continue()
      endif()
      target_precompile_headers(${target} REUSE_FROM sagaflow_pch)
    endforeach()
  endwhile()
endfunction()
