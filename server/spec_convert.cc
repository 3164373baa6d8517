#include "server/spec_convert.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "sgdspectra/core/spec_fields.h"

namespace sgdspectra::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', begin)) {
    parts.push_back(path.substr(begin, dot - begin));
    begin = dot + 1;
  }
  parts.push_back(path.substr(begin));
  return parts;
}

// The protobuf type that holds a member of type T.
template <typename T>
bool CppTypeMatches(const FieldDescriptor* field) {
  using CppType = FieldDescriptor::CppType;
  const bool repeated = field->is_repeated();
  if constexpr (std::is_same_v<T, std::vector<double>>) {
    return repeated && field->cpp_type() == CppType::CPPTYPE_DOUBLE;
  } else if constexpr (std::is_enum_v<T>) {
    return !repeated && field->cpp_type() == CppType::CPPTYPE_ENUM;
  } else {
    CppType want = CppType::CPPTYPE_STRING;
    if constexpr (std::is_same_v<T, bool>) want = CppType::CPPTYPE_BOOL;
    if constexpr (std::is_same_v<T, int>) want = CppType::CPPTYPE_INT32;
    if constexpr (std::is_same_v<T, long>) want = CppType::CPPTYPE_INT64;
    if constexpr (std::is_same_v<T, uint64_t>) want = CppType::CPPTYPE_UINT64;
    if constexpr (std::is_same_v<T, double>) want = CppType::CPPTYPE_DOUBLE;
    return !repeated && field->cpp_type() == want;
  }
}

// A field of the table that the proto does not have, or has with another type: a table bug
// that tests/server/spec_convert_test.cc catches; reported, never a crash.
Status TableMismatch(const std::string& path) {
  return Status::Internal(path + ": the spec field table does not match the proto");
}

// Where a row's value lives in a proto message (M: Message or const Message).
template <typename M>
struct Leaf {
  const FieldDescriptor* field = nullptr;
  M* message = nullptr;  // nullptr: the path runs through a oneof member that does not apply
};

// Walks `path` from `root` to the message holding its last field. `enter(message, field)`
// gives the sub-message of a message field to walk into, or nullptr when that field is a
// member of the task oneof that does not apply (the row is then skipped).
template <typename M, typename Enter>
Status WalkPath(M* root, const std::string& path, Enter enter, Leaf<M>* leaf) {
  M* message = root;
  const std::vector<std::string> parts = SplitPath(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(parts[i]);
    if (field == nullptr) return TableMismatch(path);
    if (i + 1 == parts.size()) {
      leaf->field = field;
      leaf->message = message;
      return Status::Ok();
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return TableMismatch(path);
    message = enter(message, field);
    if (message == nullptr) return Status::Ok();
  }
  return TableMismatch(path);
}

// Reading: a oneof member that is not set does not apply.
Status FindLeaf(const Message& root, const std::string& path, Leaf<const Message>* leaf) {
  return WalkPath(
      &root, path,
      [](const Message* message, const FieldDescriptor* field) -> const Message* {
        const Reflection* reflection = message->GetReflection();
        if (field->containing_oneof() != nullptr && !reflection->HasField(*message, field)) {
          return nullptr;
        }
        return &reflection->GetMessage(*message, field);
      },
      leaf);
}

// Writing, creating the messages on the way: the one oneof of JobSpec is the task, and a
// member other than `task_field` does not apply.
Status FindMutableLeaf(Message* root, const std::string& path, const std::string& task_field,
                       Leaf<Message>* leaf) {
  return WalkPath(
      root, path,
      [&task_field](Message* message, const FieldDescriptor* field) -> Message* {
        if (field->containing_oneof() != nullptr && field->name() != task_field) return nullptr;
        return message->GetReflection()->MutableMessage(message, field);
      },
      leaf);
}

template <typename T>
T ReadValue(const Reflection& reflection, const Message& message, const FieldDescriptor* field) {
  if constexpr (std::is_same_v<T, bool>) return reflection.GetBool(message, field);
  if constexpr (std::is_same_v<T, int>) return reflection.GetInt32(message, field);
  if constexpr (std::is_same_v<T, long>) return reflection.GetInt64(message, field);
  if constexpr (std::is_same_v<T, uint64_t>) return reflection.GetUInt64(message, field);
  if constexpr (std::is_same_v<T, double>) return reflection.GetDouble(message, field);
  if constexpr (std::is_same_v<T, std::string>) return reflection.GetString(message, field);
  if constexpr (std::is_same_v<T, std::vector<double>>) {
    const auto values = reflection.GetRepeatedFieldRef<double>(message, field);
    return std::vector<double>(values.begin(), values.end());
  }
}

template <typename T>
void WriteValue(const T& value, const FieldDescriptor* field, Message* message) {
  const Reflection& reflection = *message->GetReflection();
  if constexpr (std::is_same_v<T, bool>) reflection.SetBool(message, field, value);
  if constexpr (std::is_same_v<T, int>) reflection.SetInt32(message, field, value);
  if constexpr (std::is_same_v<T, long>) reflection.SetInt64(message, field, value);
  if constexpr (std::is_same_v<T, uint64_t>) reflection.SetUInt64(message, field, value);
  if constexpr (std::is_same_v<T, double>) reflection.SetDouble(message, field, value);
  if constexpr (std::is_same_v<T, std::string>) reflection.SetString(message, field, value);
  if constexpr (std::is_same_v<T, std::vector<double>>) {
    reflection.ClearField(message, field);
    for (double entry : value) reflection.AddDouble(message, field, entry);
  }
}

// Copies one enum field: by value name, so the proto's and the core's numbering are free.
template <typename Enum>
Status CopyEnumFromProto(const SpecField& row, const Leaf<const Message>& leaf, Enum* member) {
  const int number = leaf.message->GetReflection()->GetEnumValue(*leaf.message, leaf.field);
  if (number == 0 && row.presence == Presence::kZeroIsDefault) return Status::Ok();
  const EnumValueDescriptor* value = leaf.field->enum_type()->FindValueByNumber(number);
  if (value == nullptr) {
    return Status::InvalidArgument(std::string(row.path) + ": unknown value " +
                                   std::to_string(number));
  }
  const std::vector<std::string>& names = ProtoEnumValueNames(Enum{});
  const auto named = std::find(names.begin(), names.end(), value->name());
  if (named == names.end()) return TableMismatch(row.path);
  *member = static_cast<Enum>(named - names.begin());
  return Status::Ok();
}

Status CopyFromProto(const SpecField& row, const v1::JobSpec& proto, ExperimentSpec* spec) {
  Leaf<const Message> leaf;
  Status status = FindLeaf(proto, row.path, &leaf);
  if (!status.ok() || leaf.message == nullptr) return status;
  if (row.presence == Presence::kOptional &&
      !leaf.message->GetReflection()->HasField(*leaf.message, leaf.field)) {
    return Status::Ok();
  }
  return std::visit(
      [&](auto* member) -> Status {
        using T = std::remove_pointer_t<decltype(member)>;
        if (!CppTypeMatches<T>(leaf.field)) return TableMismatch(row.path);
        if constexpr (std::is_enum_v<T>) {
          return CopyEnumFromProto(row, leaf, member);
        } else {
          T value = ReadValue<T>(*leaf.message->GetReflection(), *leaf.message, leaf.field);
          // NaN is not 0: it is copied and fails the core's bound check.
          if (row.presence == Presence::kZeroIsDefault && value == T{}) return Status::Ok();
          *member = std::move(value);
          return Status::Ok();
        }
      },
      row.member(*spec));
}

Status CopyToProto(const SpecField& row, const ExperimentSpec& spec, v1::JobSpec* proto) {
  Leaf<Message> leaf;
  Status status = FindMutableLeaf(proto, row.path, TaskFieldName(spec.task), &leaf);
  if (!status.ok() || leaf.message == nullptr) return status;
  return std::visit(
      [&](auto* member) -> Status {
        using T = std::remove_pointer_t<decltype(member)>;
        if (!CppTypeMatches<T>(leaf.field)) return TableMismatch(row.path);
        if constexpr (std::is_enum_v<T>) {
          const std::vector<std::string>& names = ProtoEnumValueNames(T{});
          const size_t index = static_cast<size_t>(*member);
          const EnumValueDescriptor* value =
              index < names.size() ? leaf.field->enum_type()->FindValueByName(names[index])
                                   : nullptr;
          if (value == nullptr) return TableMismatch(row.path);
          leaf.message->GetReflection()->SetEnum(leaf.message, leaf.field, value);
        } else {
          WriteValue(*member, leaf.field, leaf.message);
        }
        return Status::Ok();
      },
      MemberOf(row, spec));
}

}  // namespace

Status JobSpecFromProtoUnchecked(const v1::JobSpec& proto, int default_threads,
                                 ExperimentSpec* spec) {
  const Reflection* reflection = proto.GetReflection();
  const FieldDescriptor* task_field = reflection->GetOneofFieldDescriptor(
      proto, v1::JobSpec::descriptor()->FindOneofByName("task"));
  if (task_field == nullptr) {
    return Status::InvalidArgument("task: must be set (kgmm or xor_task)");
  }
  const std::optional<TaskKind> task = TaskFromFieldName(task_field->name());
  if (!task) return TableMismatch("task");

  ExperimentSpec out;
  out.task = *task;
  out.analysis.threads = default_threads;  // the proto's analysis.threads = 0
  for (const SpecField& row : SpecFields()) {
    Status status = CopyFromProto(row, proto, &out);
    if (!status.ok()) return status;
  }
  *spec = std::move(out);
  return Status::Ok();
}

Status JobSpecFromProto(const v1::JobSpec& proto, int default_threads, ExperimentSpec* spec) {
  ExperimentSpec out;
  Status status = JobSpecFromProtoUnchecked(proto, default_threads, &out);
  if (status.ok()) status = out.Validate();
  if (status.ok()) *spec = std::move(out);
  return status;
}

v1::JobSpec ResolvedJobSpecToProto(const ExperimentSpec& spec) {
  const ExperimentSpec resolved = spec.Resolved();
  v1::JobSpec proto;
  // The task's message, even if none of its fields were written.
  const FieldDescriptor* task_field =
      v1::JobSpec::descriptor()->FindFieldByName(TaskFieldName(resolved.task));
  proto.GetReflection()->MutableMessage(&proto, task_field);
  for (const SpecField& row : SpecFields()) {
    // A table that does not match the proto is caught by the round-trip test; here the row
    // is skipped rather than aborting the job's record.
    (void)CopyToProto(row, resolved, &proto);
  }
  return proto;
}

}  // namespace sgdspectra::server
