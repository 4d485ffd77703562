# Every dependency is a Debian package; scripts/deps.sh installs them.
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(msgpack REQUIRED)          # target msgpackc-cxx (header-only)
find_package(GTest REQUIRED)
if(NOT BROOD_ONLY_WIRE)
  find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
  find_package(nlohmann_json REQUIRED)
  find_package(OpenSSL REQUIRED)          # https sockets (node)
  find_package(benchmark REQUIRED)
endif()

# brood::openssl_ssl, brood::openssl_crypto, brood::program_options: OpenSSL and Boost's
# program_options as the modules link them. A program whose property BROOD_STATIC_DEPS is ON
# (the `brood` command, cli/CMakeLists.txt) links their static archives instead, so that it loads
# no libstdc++.so, libssl.so or libcrypto.so at start: every vassal is a `brood` process, and the
# dynamic loader's work for those libraries was most of a vassal's start (issue 18,
# bench/python/vassal_cost.py). Every other program (tests, the Python module) links them shared.
function(brood_static_or_shared name install shared)
  set(archives)
  foreach(a ${ARGN})
    find_library(BROOD_STATIC_${a} NAMES lib${a}.a)
    if(NOT BROOD_STATIC_${a})
      set(archives)
      break()
    endif()
    list(APPEND archives ${BROOD_STATIC_${a}})
  endforeach()
  add_library(brood_${name} INTERFACE)
  add_library(brood::${name} ALIAS brood_${name})
  set_target_properties(brood_${name} PROPERTIES EXPORT_NAME ${name})
  if(archives)
    target_link_libraries(brood_${name} INTERFACE
      "$<IF:$<BOOL:$<TARGET_PROPERTY:BROOD_STATIC_DEPS>>,${archives};${CMAKE_DL_LIBS};Threads::Threads,${shared}>")
  else()
    target_link_libraries(brood_${name} INTERFACE ${shared})
  endif()
  if(install)  # a dependency of an installed module (brood_module) is installed with it
    install(TARGETS brood_${name} EXPORT brood-targets)
  endif()
endfunction()
if(NOT BROOD_ONLY_WIRE)
  brood_static_or_shared(openssl_ssl ON OpenSSL::SSL ssl crypto)
  brood_static_or_shared(openssl_crypto ON OpenSSL::Crypto crypto)
  brood_static_or_shared(program_options OFF Boost::program_options boost_program_options)
endif()
