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
