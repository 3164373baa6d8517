// The comments of jobs.proto's fields, for help texts: the proto is the one place a field is
// documented, so `sgdspectra run --help` shows what the proto says.
//
// The generated C++ descriptors carry no comments; the build embeds jobs.proto's descriptor
// set with source info (client/CMakeLists.txt, cmake/embed_file.cmake) and this reads it.
//
// Thread-safety: the descriptor pool is built once (thread-safe static) and read-only after.
#ifndef SGDSPECTRA_CLIENT_PROTO_COMMENTS_H_
#define SGDSPECTRA_CLIENT_PROTO_COMMENTS_H_

#include <google/protobuf/descriptor.h>

#include <string>

namespace sgdspectra::client {

// The comment above and beside `field` in jobs.proto, on one line with runs of white space
// collapsed; "" when it has none.
std::string ProtoFieldComment(const google::protobuf::FieldDescriptor* field);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_PROTO_COMMENTS_H_
