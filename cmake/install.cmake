# `cmake --install BUILD [--prefix P]` installs the C++ client SDK: the static libraries
# seekd_client, seekd_api, seekd_security and seekd_base, their headers under
# include/seekd/{client,api,security,core}/, and a CMake package, so that another project says
#   find_package(seekd 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE seekd::client)
# and includes "client/http_client.h". (The seekd binary installs to bin/ as well.)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_sdk_targets seekd_client seekd_api seekd_security seekd_base)
foreach(_t ${_sdk_targets})
  string(REPLACE "seekd_" "" _export_name ${_t})
  set_target_properties(${_t} PROPERTIES EXPORT_NAME ${_export_name})
endforeach()
install(TARGETS ${_sdk_targets} EXPORT seekdTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/seekd)
install(TARGETS seekd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(_src ${PROJECT_SOURCE_DIR}/src)
install(FILES ${_src}/client/http_client.h ${_src}/client/retry.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/seekd/client)
install(FILES ${_src}/api/chat_stream.h ${_src}/api/completions.h ${_src}/api/errors.h ${_src}/api/requests.h
  ${_src}/api/responses.h ${_src}/api/sse.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/seekd/api)
install(FILES ${_src}/security/crypto.h ${_src}/security/jwt.h ${_src}/security/request_signing.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/seekd/security)
install(FILES ${_src}/core/status.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/seekd/core)

set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/seekd)
install(EXPORT seekdTargets NAMESPACE seekd:: DESTINATION ${_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/seekdConfig.cmake.in
  ${PROJECT_BINARY_DIR}/seekdConfig.cmake INSTALL_DESTINATION ${_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/seekdConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/seekdConfig.cmake ${PROJECT_BINARY_DIR}/seekdConfigVersion.cmake
  DESTINATION ${_cmake_dir})
