# aarch64-linux-gnu.cmake - the CMake toolchain file for building the tree for arm64 (Lambda's
# Graviton) on an x86_64 Debian 12 machine: Debian's cross compiler, and the arm64 libraries
# that dpkg installs beside the machine's own (multiarch), found through their own pkg-config
# files. `make package ARCH=arm64` uses it (it installs what it names); docs/DEPLOY.md.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

# pkg-config would otherwise answer for the machine's own json-c and libffi.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
