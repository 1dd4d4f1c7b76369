# ddb_add_plugin(NAME DIR SOURCES...): builds DIR/NAME.so (no "lib" prefix) against plugin.h,
# with hidden visibility so that only the ABI entry points are exported.
function(ddb_add_plugin name dir)
  add_library(${name} MODULE ${ARGN})
  target_include_directories(${name} PRIVATE ${DDB_PLUGIN_INCLUDE})
  set_target_properties(${name} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${dir})
endfunction()

# Every immediate subdirectory of `parent` with a CMakeLists.txt is built.
function(ddb_add_subdirectories parent)
  file(GLOB children LIST_DIRECTORIES true ${parent}/*)
  foreach(child ${children})
    if(IS_DIRECTORY ${child} AND EXISTS ${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()

# ddb_without_sanitizers(TARGET): TARGET is built without the tree's sanitizers (DDB_SANITIZE),
# for what must run uninstrumented: a memory measurement, a deployment package.
function(ddb_without_sanitizers target)
  get_target_property(opts ${target} COMPILE_OPTIONS)
  list(FILTER opts EXCLUDE REGEX "sanitize")
  set_target_properties(${target} PROPERTIES COMPILE_OPTIONS "${opts}" LINK_OPTIONS "")
endfunction()
