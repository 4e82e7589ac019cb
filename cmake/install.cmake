# Install rules: the library, its public headers, a CMake package config
# (find_package(promptetheus) -> promptetheus::promptetheus) and a pkg-config file.
include(CMakePackageConfigHelpers)

# Component "sdk": what a program needs to use the library. The CLI is component "tools".
install(TARGETS promptetheus EXPORT promptetheusTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT sdk
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/promptetheus DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk)
install(FILES ${PROJECT_BINARY_DIR}/include/promptetheus/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/promptetheus COMPONENT sdk)

set(PROMPTETHEUS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/promptetheus)
install(EXPORT promptetheusTargets NAMESPACE promptetheus:: DESTINATION ${PROMPTETHEUS_CMAKE_DIR} COMPONENT sdk)
# Build-tree export: a parent build can use the package without installing it.
export(EXPORT promptetheusTargets NAMESPACE promptetheus:: FILE ${PROJECT_BINARY_DIR}/promptetheusTargets.cmake)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/promptetheusConfig.cmake.in
  ${PROJECT_BINARY_DIR}/promptetheusConfig.cmake INSTALL_DESTINATION ${PROMPTETHEUS_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/promptetheusConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/promptetheusConfig.cmake ${PROJECT_BINARY_DIR}/promptetheusConfigVersion.cmake
  DESTINATION ${PROMPTETHEUS_CMAKE_DIR} COMPONENT sdk)

# A static libpromptetheus needs curl, zlib and PCRE2 at the consumer's link: list them as
# public requirements then; a shared one keeps them private.
if(BUILD_SHARED_LIBS)
  set(PROMPTETHEUS_PC_REQUIRES "nlohmann_json")
  set(PROMPTETHEUS_PC_REQUIRES_PRIVATE "libcurl zlib libpcre2-8")
  set(PROMPTETHEUS_PC_LIBS "-lpromptetheus")
  set(PROMPTETHEUS_PC_LIBS_PRIVATE "-lpthread -ldl")
else()
  set(PROMPTETHEUS_PC_REQUIRES "nlohmann_json libcurl zlib libpcre2-8")
  set(PROMPTETHEUS_PC_REQUIRES_PRIVATE "")
  set(PROMPTETHEUS_PC_LIBS "-lpromptetheus -lpthread -ldl")
  set(PROMPTETHEUS_PC_LIBS_PRIVATE "")
endif()
# The .pc file locates the prefix relative to itself, so an installed tree can be moved.
file(RELATIVE_PATH PROMPTETHEUS_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" PROMPTETHEUS_PC_TO_PREFIX "${PROMPTETHEUS_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/promptetheus.pc.in ${PROJECT_BINARY_DIR}/promptetheus.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/promptetheus.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sdk)
