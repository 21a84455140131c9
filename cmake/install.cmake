# Installs the embeddable worker library (component sagaflow_development; examples/README.md
# gives the commands) so that a service outside this tree can write
#
#   find_package(sagaflow REQUIRED)
#   target_link_libraries(app PRIVATE sagaflow::worker sagaflow::rabbitmq)
#
# Exported: sagaflow::ports (headers: the envelope, the ports, json), sagaflow::worker and
# sagaflow::rabbitmq. The engine, the stores and the example participants are not installed:
# a service embeds a participant, never the orchestrator. Included last by the top-level
# CMakeLists.txt, when every target it names exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SAGAFLOW_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/sagaflow)

# The same names in-tree as for users of the installed package, so that examples/ reads like an
# outside service.
foreach(name ports worker rabbitmq)
  add_library(sagaflow::${name} ALIAS sagaflow_${name})
  set_target_properties(sagaflow_${name} PROPERTIES EXPORT_NAME ${name})
endforeach()

# The public headers use C++20 (std::span, designated initializers): users compile with it too.
target_compile_features(sagaflow_ports INTERFACE cxx_std_20)

# rabbitmq-c is a PRIVATE dependency of the static sagaflow_rabbitmq, so CMake exports it as an
# interface link dependency, by the absolute path it was found at here. That path is replaced by an
# imported target that sagaflowConfig.cmake makes from a find_library on the user's machine:
# the package stays relocatable and amqp.h still never reaches users' include path. (A shared
# sagaflow_rabbitmq would hide it too, but the top-level file builds static libraries, and one
# static archive per library keeps a service's deployment a single binary.)
get_target_property(rabbitmq_interface sagaflow_rabbitmq INTERFACE_LINK_LIBRARIES)
list(REMOVE_ITEM rabbitmq_interface ${RABBITMQ_C_LIBRARY} "$<LINK_ONLY:${RABBITMQ_C_LIBRARY}>")
list(APPEND rabbitmq_interface
  "$<LINK_ONLY:$<BUILD_INTERFACE:${RABBITMQ_C_LIBRARY}>$<INSTALL_INTERFACE:sagaflow::rabbitmq_c>>")
set_property(TARGET sagaflow_rabbitmq PROPERTY INTERFACE_LINK_LIBRARIES "${rabbitmq_interface}")

install(TARGETS sagaflow_ports sagaflow_worker sagaflow_rabbitmq
  EXPORT sagaflowTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sagaflow_development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sagaflow_development)

# Only the engine headers the worker's and the adapter's headers include (checked by
# tests/install/install_test.sh, which compiles against nothing but the installed tree).
install(FILES engine/include/sagaflow/json.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sagaflow COMPONENT sagaflow_development)
install(FILES engine/include/sagaflow/engine/message.hpp engine/include/sagaflow/engine/ports.hpp
  engine/include/sagaflow/engine/dead_letter.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sagaflow/engine COMPONENT sagaflow_development)
install(DIRECTORY worker/include/ adapters/rabbitmq/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sagaflow_development
  FILES_MATCHING PATTERN "*.hpp")

install(EXPORT sagaflowTargets NAMESPACE sagaflow::
  DESTINATION ${SAGAFLOW_INSTALL_CMAKEDIR} COMPONENT sagaflow_development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/sagaflowConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/sagaflowConfig.cmake
  INSTALL_DESTINATION ${SAGAFLOW_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/sagaflowConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sagaflowConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/sagaflowConfigVersion.cmake
  DESTINATION ${SAGAFLOW_INSTALL_CMAKEDIR} COMPONENT sagaflow_development)

# The programs, for operators (`cmake --install build --component sagaflow_runtime`): the daemon,
# the command line and the example participants as processes, with the flows they run. OPTIONAL:
# a tree where only the libraries were built (examples/README.md) installs without them.
foreach(program sagaflowd sagactl sagaflow-participant)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
      COMPONENT sagaflow_runtime OPTIONAL)
  endif()
endforeach()
install(DIRECTORY definitions/ DESTINATION ${CMAKE_INSTALL_DATADIR}/sagaflow/definitions
  COMPONENT sagaflow_runtime FILES_MATCHING PATTERN "*.yaml")
