# Install rules for olla. The top-level CMakeLists.txt includes this file after the `olla`
# target is defined:
#   include(cmake/install.cmake)
#
#   cmake --install build --prefix /usr/local
# installs:
#   <prefix>/bin/olla                              (CMAKE_INSTALL_BINDIR)
#   <sysconfdir>/olla/olla.yaml                    (CMAKE_INSTALL_SYSCONFDIR; see below)
#   <prefix>/lib/systemd/system/olla.service       (Linux, OLLA_INSTALL_SYSTEMD_UNIT=ON)
#
# CMAKE_INSTALL_SYSCONFDIR is relative ("etc") for a /usr/local prefix, so the config lands in
# /usr/local/etc/olla/olla.yaml. The systemd unit reads /etc/olla/olla.yaml: configure with
# -DCMAKE_INSTALL_SYSCONFDIR=/etc to install it there (an absolute path is kept by --prefix and
# honours DESTDIR). An existing olla.yaml is overwritten: CMake has no "keep the admin's copy".

include(GNUInstallDirs)

if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(_olla_systemd_default ON)
else()
  set(_olla_systemd_default OFF)
endif()
option(OLLA_INSTALL_SYSTEMD_UNIT "Install deploy/systemd/olla.service to lib/systemd/system"
       ${_olla_systemd_default})
unset(_olla_systemd_default)

install(TARGETS olla RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES ${PROJECT_SOURCE_DIR}/config/olla.yaml
        DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/olla)

if(OLLA_INSTALL_SYSTEMD_UNIT)
  # <prefix>/lib/systemd/system: /usr/local/lib/systemd/system is on systemd's unit search path,
  # and so is /usr/lib/systemd/system (--prefix /usr). The unit runs /usr/local/bin/olla.
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/olla.service
          DESTINATION lib/systemd/system)
endif()
