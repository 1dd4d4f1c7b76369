# pgserver: the throwaway PostgreSQL server (pgserver.c) as a library for C tests and as a
# command for tests and benches in other languages. Included by this directory and, in a build
# without the tests, by bench/ (the sinks bench runs the same server).
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)

add_library(ddbtestpg STATIC ${CMAKE_CURRENT_LIST_DIR}/pgserver.c)
target_include_directories(ddbtestpg PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ddbtestpg PUBLIC ddbtestrun PkgConfig::LIBPQ)

add_executable(pgserver ${CMAKE_CURRENT_LIST_DIR}/pgserver_main.c)
target_link_libraries(pgserver PRIVATE ddbtestpg)
