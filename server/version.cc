#include "server/version.h"

#ifndef SGDSPECTRA_VERSION
#define SGDSPECTRA_VERSION "unknown"
#endif

namespace sgdspectra::server {

const char* BuildVersion() { return SGDSPECTRA_VERSION; }

}  // namespace sgdspectra::server
