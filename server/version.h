// The build version recorded with every job ("server build that ran the job").
#ifndef SGDSPECTRA_SERVER_VERSION_H_
#define SGDSPECTRA_SERVER_VERSION_H_

namespace sgdspectra::server {

// The project version from CMake (e.g. "0.1.0"). Static storage; thread-safe.
const char* BuildVersion();

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_VERSION_H_
