# ddbhost_add_plugin(NAME SOURCES...): builds NAME.so, a ddbhost plugin: a MODULE library
# (loaded with dlopen, never linked) without the "lib" prefix, position-independent, with
# hidden visibility so that it exports only what plugin.h marks, compiled against
# ddbhost::plugin. Installed with ddbhost's CMake package; find_package(ddbhost) includes it.
function(ddbhost_add_plugin name)
  if(NOT ARGN)
    message(FATAL_ERROR "ddbhost_add_plugin(${name}): no source files (usage: ddbhost_add_plugin(NAME SOURCES...))")
  endif()
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE ddbhost::plugin)
  set_target_properties(${name} PROPERTIES PREFIX "" POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
endfunction()
