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
# it none (leave it out in the loop below). Turn it off with -DSAGAFLOW_PCH=OFF, e.g. to check
# that every file includes what it uses.
#
# ccache caches files compiled with it only with CCACHE_SLOPPINESS=pch_defines,time_macros
# (ccache's manual, "Precompiled headers"); without that setting it compiles them every time.
option(SAGAFLOW_PCH "Precompile Boost.JSON and the standard headers once for every target" ON)

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
