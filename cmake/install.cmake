# Install rules: the library, its public headers, a CMake package config
# (find_package(promptetheus) -> promptetheus::promptetheus) and a pkg-config file.
include(CMakePackageConfigHelpers)

install(TARGETS promptetheus EXPORT promptetheusTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/promptetheus DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(PROMPTETHEUS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/promptetheus)
install(EXPORT promptetheusTargets NAMESPACE promptetheus:: DESTINATION ${PROMPTETHEUS_CMAKE_DIR})
# Build-tree export: a parent build can use the package without installing it.
export(EXPORT promptetheusTargets NAMESPACE promptetheus:: FILE ${PROJECT_BINARY_DIR}/promptetheusTargets.cmake)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/promptetheusConfig.cmake.in
  ${PROJECT_BINARY_DIR}/promptetheusConfig.cmake INSTALL_DESTINATION ${PROMPTETHEUS_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/promptetheusConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/promptetheusConfig.cmake ${PROJECT_BINARY_DIR}/promptetheusConfigVersion.cmake
  DESTINATION ${PROMPTETHEUS_CMAKE_DIR})

configure_file(${PROJECT_SOURCE_DIR}/cmake/promptetheus.pc.in ${PROJECT_BINARY_DIR}/promptetheus.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/promptetheus.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
