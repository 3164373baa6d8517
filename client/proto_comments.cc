#include "client/proto_comments.h"

#include <google/protobuf/descriptor.pb.h>

#include <cctype>
#include <cstddef>
#include <memory>

namespace sgdspectra::client {

// Defined in the build's jobs_with_comments.cc (cmake/embed_file.cmake).
extern const unsigned char kJobsProtoWithComments[];
extern const std::size_t kJobsProtoWithComments_size;

namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptorSet;
using google::protobuf::SourceLocation;

const DescriptorPool& CommentedPool() {
  static const DescriptorPool* const pool = [] {
    auto* built = new DescriptorPool();
    FileDescriptorSet files;
    if (files.ParseFromArray(kJobsProtoWithComments,
                             static_cast<int>(kJobsProtoWithComments_size))) {
      for (const auto& file : files.file()) built->BuildFile(file);
    }
    return built;
  }();
  return *pool;
}

std::string CollapseWhiteSpace(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      out += c;
      space = false;
    }
  }
  return out;
}

}  // namespace

std::string ProtoFieldComment(const FieldDescriptor* field) {
  const FieldDescriptor* commented = CommentedPool().FindFieldByName(field->full_name());
  SourceLocation location;
  if (commented == nullptr || !commented->GetSourceLocation(&location)) return "";
  return CollapseWhiteSpace(location.leading_comments + " " + location.trailing_comments);
}

}  // namespace sgdspectra::client
