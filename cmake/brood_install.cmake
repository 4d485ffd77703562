# The package: `cmake --install` puts the brood::* libraries (brood_module), their headers and
# this config in the prefix, so an outside project does find_package(brood) and links brood::client.
include(CMakePackageConfigHelpers)
set(BROOD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/brood)
install(EXPORT brood-targets NAMESPACE brood:: DESTINATION ${BROOD_CMAKE_DIR}
        FILE brood-targets.cmake)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/broodConfig.cmake.in
  ${PROJECT_BINARY_DIR}/broodConfig.cmake INSTALL_DESTINATION ${BROOD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/broodConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/broodConfig.cmake ${PROJECT_BINARY_DIR}/broodConfigVersion.cmake
        DESTINATION ${BROOD_CMAKE_DIR})
