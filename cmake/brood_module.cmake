# brood_module(NAME [PUBLIC deps...] [PRIVATE deps...])
# One module: NAME/include/brood/NAME/*.hpp (its public face) + NAME/src/*.cpp, built as the
# static library brood_NAME, alias brood::NAME. Installed with its headers into the export set
# brood-targets, so an installed tree gives find_package(brood) and the same brood::NAME.
include(GNUInstallDirs)
function(brood_module name)
  cmake_parse_arguments(M "" "" "PUBLIC;PRIVATE" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  add_library(brood_${name} STATIC ${sources})
  add_library(brood::${name} ALIAS brood_${name})
  set_target_properties(brood_${name} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON)
  target_include_directories(brood_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(brood_${name} PUBLIC ${M_PUBLIC} PRIVATE ${M_PRIVATE})
  target_compile_definitions(brood_${name} PRIVATE BROOD_VERSION="${PROJECT_VERSION}")
  install(TARGETS brood_${name} EXPORT brood-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
