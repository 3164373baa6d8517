// Every JobSpec field is reachable from the CLI's flags, from a JSON spec and from
// `sweep --set`, proven by walking the proto descriptor: a field added to the proto is
// covered here without a change to this test.
#include "client/spec_names.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "client/spec_builder.h"

namespace sgdspectra::client {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using ::testing::HasSubstr;

struct Leaf {
  std::string path;
  std::string task;  // "kgmm", "xor_task" or "" (then the test uses kgmm)
  const FieldDescriptor* field;
};

void CollectLeaves(const Descriptor* message, const std::string& prefix, const std::string& task,
                   std::vector<Leaf>* leaves) {
  for (int i = 0; i < message->field_count(); ++i) {
    const FieldDescriptor* field = message->field(i);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()) {
      CollectLeaves(field->message_type(), prefix + field->name() + ".",
                    field->containing_oneof() != nullptr ? field->name() : task, leaves);
    } else {
      leaves->push_back({prefix + field->name(), task, field});
    }
  }
}

std::vector<Leaf> AllLeaves() {
  std::vector<Leaf> leaves;
  CollectLeaves(v1::JobSpec::descriptor(), "", "", &leaves);
  return leaves;
}

// A value for the field that is not its default, as command-line text and as JSON.
struct Sample {
  std::string text;
  std::string json;
};

Sample SampleFor(const FieldDescriptor* field) {
  if (field->is_repeated()) return {"0.25,0.75", "[0.25, 0.75]"};
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return {"true", "true"};
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return {"0.5", "0.5"};
    case FieldDescriptor::CPPTYPE_STRING:
      return {"probe", "\"probe\""};
    case FieldDescriptor::CPPTYPE_ENUM: {
      const std::string name =
          field->enum_type()->value(field->enum_type()->value_count() - 1)->name();
      return {name, "\"" + name + "\""};
    }
    default:
      return {"3", "3"};
  }
}

// The leaf's value in `spec` as text comparable with Sample::text, read by reflection.
std::string ValueAt(const Message& spec, const std::string& path) {
  const Message* message = &spec;
  const FieldDescriptor* field = nullptr;
  size_t begin = 0;
  while (true) {
    const size_t dot = path.find('.', begin);
    field = message->GetDescriptor()->FindFieldByName(path.substr(begin, dot - begin));
    if (dot == std::string::npos) break;
    message = &message->GetReflection()->GetMessage(*message, field);
    begin = dot + 1;
  }
  const auto* reflection = message->GetReflection();
  if (field->is_repeated()) {
    std::string text;
    for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
      text +=
          (i > 0 ? "," : "") + std::to_string(reflection->GetRepeatedDouble(*message, field, i));
    }
    return text == "0.250000,0.750000" ? "0.25,0.75" : text;
  }
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return reflection->GetBool(*message, field) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return reflection->GetDouble(*message, field) == 0.5 ? "0.5" : "other";
    case FieldDescriptor::CPPTYPE_STRING:
      return reflection->GetString(*message, field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return reflection->GetEnum(*message, field)->name();
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(reflection->GetInt32(*message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(reflection->GetInt64(*message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(reflection->GetUInt64(*message, field));
    default:
      return "unsupported type";
  }
}

// The flag that sets `leaf` for a job of its task.
std::string FlagFor(const Leaf& leaf) {
  const std::string task = leaf.task.empty() ? "kgmm" : leaf.task;
  for (const SpecFieldName& entry : SpecFieldNames()) {
    if (TargetPath(entry.target, task) == leaf.path && !entry.names.empty()) {
      return "--" + entry.names.front();
    }
  }
  return "";
}

v1::JobSpec BuildFromFlags(const std::vector<std::string>& args) {
  CLI::App app;
  SpecFlags flags;
  AddSpecOptions(&app, &flags);
  std::vector<const char*> argv = {"run"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  v1::JobSpec spec;
  const Status status = BuildJobSpec(flags, &spec);
  EXPECT_TRUE(status.ok()) << status.message();
  return spec;
}

TEST(SpecNamesTest, EveryFieldIsReachableFromAFlag) {
  for (const Leaf& leaf : AllLeaves()) {
    SCOPED_TRACE(leaf.path);
    const std::string flag = FlagFor(leaf);
    ASSERT_FALSE(flag.empty()) << "no flag sets " << leaf.path;
    const Sample sample = SampleFor(leaf.field);
    const std::string task = leaf.task == "xor_task" ? "xor" : "kgmm";
    const v1::JobSpec spec = BuildFromFlags({"--task", task, flag, sample.text});
    EXPECT_EQ(ValueAt(spec, leaf.path), sample.text) << flag;
  }
}

TEST(SpecNamesTest, EveryFieldIsReachableFromJson) {
  for (const Leaf& leaf : AllLeaves()) {
    SCOPED_TRACE(leaf.path);
    // {"a": {"b": value}} from "a.b"; a field outside the tasks gets a k-GMM task beside it.
    std::string json = SampleFor(leaf.field).json;
    std::string path = leaf.path;
    for (size_t dot = path.rfind('.'); dot != std::string::npos; dot = path.rfind('.')) {
      json = "{\"" + path.substr(dot + 1) + "\": " + json + "}";
      path = path.substr(0, dot);
    }
    json = "{\"" + path + "\": " + json + (leaf.task.empty() ? ", \"kgmm\": {}" : "") + "}";
    v1::JobSpec spec;
    const Status status = ParseSpecJson(json, &spec);
    ASSERT_TRUE(status.ok()) << json << ": " << status.message();
    EXPECT_EQ(ValueAt(spec, leaf.path), SampleFor(leaf.field).text) << json;
  }
}

TEST(SpecNamesTest, EverySingularFieldIsReachableFromSweepSet) {
  for (const Leaf& leaf : AllLeaves()) {
    SCOPED_TRACE(leaf.path);
    v1::JobSpec base;
    if (leaf.task == "xor_task") {
      base.mutable_xor_task();
    } else {
      base.mutable_kgmm();
    }
    std::string path;
    std::string error;
    const bool resolved = ResolveSpecFieldPath(base, FlagFor(leaf).substr(2), &path, &error);
    if (leaf.field->is_repeated()) {  // --set splits its values on commas
      EXPECT_FALSE(resolved);
      EXPECT_THAT(error, HasSubstr("is a list"));
      continue;
    }
    if (leaf.path == "seed") {  // swept with --seeds
      EXPECT_FALSE(resolved);
      EXPECT_THAT(error, HasSubstr("--seeds"));
      continue;
    }
    ASSERT_TRUE(resolved) << error;
    EXPECT_EQ(path, leaf.path);
    ASSERT_TRUE(ResolveSpecFieldPath(base, leaf.path, &path, &error)) << error;
    EXPECT_EQ(path, leaf.path);
    ASSERT_TRUE(SetSpecField(path, SampleFor(leaf.field).text, &base, &error)) << error;
    EXPECT_EQ(ValueAt(base, leaf.path), SampleFor(leaf.field).text);
  }
}

TEST(SpecNamesTest, HelpTextsAreTheProtoComments) {
  for (const SpecFieldName& entry : SpecFieldNames()) {
    if (entry.target == "analysis.null_tol") {
      EXPECT_THAT(entry.help, HasSubstr("Relative tolerance of the NULL_MODEL edge solves"));
    }
    if (entry.target == "analysis.outlier_method") {
      EXPECT_THAT(entry.help, HasSubstr("null | mp | gap | decoy"));
    }
    if (entry.target == "@task.dim") {  // both tasks' comments
      EXPECT_THAT(entry.help, HasSubstr("kgmm.dim: d; 0 = 400"));
      EXPECT_THAT(entry.help, HasSubstr("xor_task.dim: d; 0 = 250"));
    }
  }
}

}  // namespace
}  // namespace sgdspectra::client
