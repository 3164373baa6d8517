// FileOutput: how the CLI writes a file (a result, a sweep's tables and records).
//
// The text goes to a temporary file beside `path`, then a rename replaces `path`, so a reader
// never sees a half-written file. Only regular files are written: an existing `path` that is
// anything else (a device such as /dev/full, a directory, a FIFO, a symbolic link) is refused,
// because the rename would replace the node itself (as root, a device node).
//
// Thread-safety: distinct paths may be written from distinct threads; the temporary name
// carries the process id and a per-process counter.
#ifndef SGDSPECTRA_CLIENT_FILE_OUTPUT_H_
#define SGDSPECTRA_CLIENT_FILE_OUTPUT_H_

#include <string>

namespace sgdspectra::client {

// False with *error ("PATH: not a regular file", "cannot write ...") when nothing was written.
bool WriteFileAtomically(const std::string& path, const std::string& text, std::string* error);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_FILE_OUTPUT_H_
