// The spec field table (core/spec_fields.h) against the proto descriptor: every JobSpec field
// has exactly one row, every row names a proto field of its type, and every row survives
// core -> proto -> core. Adding a proto field without a row fails here.
#include "server/spec_convert.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <type_traits>
#include <variant>

#include "sgdspectra/core/spec_fields.h"

namespace sgdspectra::server_test {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// Paths of every non-message field below `message` (singular messages are walked into).
void CollectLeafPaths(const Descriptor* message, const std::string& prefix,
                      std::set<std::string>* paths) {
  for (int i = 0; i < message->field_count(); ++i) {
    const FieldDescriptor* field = message->field(i);
    const std::string path = prefix + field->name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()) {
      CollectLeafPaths(field->message_type(), path + ".", paths);
    } else {
      paths->insert(path);
    }
  }
}

TEST(SpecConvertTest, EveryProtoFieldHasOneRowAndEveryRowAProtoField) {
  std::set<std::string> proto_paths;
  CollectLeafPaths(v1::JobSpec::descriptor(), "", &proto_paths);
  std::set<std::string> table_paths;
  for (const SpecField& row : SpecFields()) {
    EXPECT_TRUE(table_paths.insert(row.path).second) << "two rows for " << row.path;
  }
  for (const std::string& path : proto_paths) {
    EXPECT_EQ(table_paths.count(path), 1u) << path << " has no row in core/src/spec_fields.cc";
  }
  for (const std::string& path : table_paths) {
    EXPECT_EQ(proto_paths.count(path), 1u) << path << " is not a JobSpec field";
  }
}

// Every proto value of an enum the table uses, except the 0 "default", has a core value of
// that name, and every core value a proto value.
template <typename Enum>
void ExpectEnumNamesMatch(const FieldDescriptor* field) {
  const std::vector<std::string>& core_names = ProtoEnumValueNames(Enum{});
  std::set<std::string> proto_names;
  for (int i = 0; i < field->enum_type()->value_count(); ++i) {
    if (field->enum_type()->value(i)->number() != 0) {
      proto_names.insert(field->enum_type()->value(i)->name());
    }
  }
  EXPECT_EQ(std::set<std::string>(core_names.begin(), core_names.end()), proto_names)
      << field->full_name();
}

const FieldDescriptor* FindProtoField(const std::string& path) {
  const Descriptor* message = v1::JobSpec::descriptor();
  const FieldDescriptor* field = nullptr;
  size_t begin = 0;
  while (true) {
    const size_t dot = path.find('.', begin);
    field = message->FindFieldByName(path.substr(begin, dot - begin));
    if (field == nullptr || dot == std::string::npos) return field;
    message = field->message_type();
    begin = dot + 1;
  }
}

TEST(SpecConvertTest, EnumValueNamesMatchTheProto) {
  for (const SpecField& row : SpecFields()) {
    const FieldDescriptor* field = FindProtoField(row.path);
    ASSERT_NE(field, nullptr) << row.path;
    ExperimentSpec spec;
    std::visit(
        [&](auto* member) {
          using T = std::remove_pointer_t<decltype(member)>;
          if constexpr (std::is_enum_v<T>) ExpectEnumNamesMatch<T>(field);
        },
        row.member(spec));
  }
}

// A value different from `value` (not 0 where 0 would mean "default").
template <typename T>
T Changed(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return !value;
  } else if constexpr (std::is_enum_v<T>) {
    const size_t count = ProtoEnumValueNames(T{}).size();
    return static_cast<T>((static_cast<size_t>(value) + 1) % count);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value + "x";
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    return {0.25, 0.75};
  } else if constexpr (std::is_floating_point_v<T>) {
    return value * 1.5 + 0.25;
  } else {
    return value + 3;
  }
}

template <typename T>
bool SameValue(const SpecMember& a, const SpecMember& b) {
  return *std::get<T*>(a) == *std::get<T*>(b);
}

TEST(SpecConvertTest, EveryRowRoundTripsThroughTheProto) {
  for (const SpecField& row : SpecFields()) {
    SCOPED_TRACE(row.path);
    ExperimentSpec base;
    base.task = std::string(row.path).rfind("xor_task.", 0) == 0 ? TaskKind::kXor : TaskKind::kKgmm;
    base.analysis.threads = 1;
    ExperimentSpec changed = base;
    std::visit([](auto* member) { *member = Changed(*member); }, row.member(changed));

    const v1::JobSpec proto = server::ResolvedJobSpecToProto(changed);
    EXPECT_NE(proto.SerializeAsString(), server::ResolvedJobSpecToProto(base).SerializeAsString())
        << "the change did not reach the proto";
    ExperimentSpec back;
    ASSERT_TRUE(server::JobSpecFromProtoUnchecked(proto, /*default_threads=*/1, &back).ok());

    ExperimentSpec expected = changed.Resolved();
    ExperimentSpec got = back.Resolved();
    const bool same = std::visit(
        [&](auto* member) {
          using T = std::remove_pointer_t<decltype(member)>;
          return SameValue<T>(row.member(expected), row.member(got));
        },
        row.member(expected));
    EXPECT_TRUE(same) << proto.DebugString();
  }
}

TEST(SpecConvertTest, WhatOnlyTheProtoCanGetWrongIsRefusedNamingTheField) {
  ExperimentSpec spec;
  v1::JobSpec no_task;
  Status status = server::JobSpecFromProto(no_task, 1, &spec);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().rfind("task:", 0), 0u) << status.message();

  v1::JobSpec unknown_enum;
  unknown_enum.mutable_kgmm();
  unknown_enum.mutable_analysis()->set_outlier_method(static_cast<v1::OutlierMethod>(42));
  status = server::JobSpecFromProto(unknown_enum, 1, &spec);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "analysis.outlier_method: unknown value 42");
}

}  // namespace
}  // namespace sgdspectra::server_test
