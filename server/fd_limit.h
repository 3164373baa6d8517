// The process's open-file limit. Every client connection holds a file descriptor, and a
// soft RLIMIT_NOFILE of 1024 (the usual default) is reached by a few hundred idle clients;
// the hard limit is what an administrator granted, so the server takes all of it at start.
//
// Thread-safety: call once, before threads that open files start.
#ifndef SGDSPECTRA_SERVER_FD_LIMIT_H_
#define SGDSPECTRA_SERVER_FD_LIMIT_H_

namespace sgdspectra::server {

// Raises the soft RLIMIT_NOFILE to the hard limit and logs both (a warning if it cannot).
// Returns the soft limit in force afterwards (-1 if it cannot be read).
long RaiseOpenFileLimit();

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_FD_LIMIT_H_
