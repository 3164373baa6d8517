#include "client/spec_builder.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "client/spec_names.h"

namespace sgdspectra::client {
namespace {

using google::protobuf::util::InvalidArgumentError;

std::string Lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string TaskName(v1::JobSpec::TaskCase task) {
  return task == v1::JobSpec::kXorTask ? "xor" : "kgmm";
}

std::string TaskField(v1::JobSpec::TaskCase task) {
  return task == v1::JobSpec::kXorTask ? "xor_task" : "kgmm";
}

// A CLI11 check that `value` parses as the field's type, so a misspelt enum or a number that
// is not one is a usage error at parse time.
CLI::Validator ValueValidator(const SpecFieldName& entry) {
  const std::string path = TargetPath(entry.target, "kgmm");  // both tasks' types agree
  return CLI::Validator(
      [path](std::string& value) -> std::string {
        v1::JobSpec scratch;
        std::string error;
        return SetSpecField(path, value, &scratch, &error) ? "" : error;
      },
      "");
}

// What the help shows after a flag: the value's type.
std::string TypeName(const google::protobuf::FieldDescriptor* field) {
  using google::protobuf::FieldDescriptor;
  if (field->is_repeated()) return "REAL,...";
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
      return "INT";
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "UINT";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "REAL";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "BOOL";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "ENUM";
    default:
      return "TEXT";
  }
}

// The first flag given that sets a field of task member `task_field`, or "".
std::string FirstFlagOfTask(const SpecFlags& flags, const std::string& task_field) {
  for (const SpecFlags::Assignment& assignment : flags.assignments) {
    if (TaskOfTarget(assignment.target) == task_field) return assignment.flag;
  }
  return "";
}

// The job's task (see spec_builder.h) and what chose it, for error messages.
Status ChooseTask(const SpecFlags& flags, const v1::JobSpec& spec, v1::JobSpec::TaskCase* task,
                  std::string* chosen_by) {
  if (flags.task) {
    if (!ParseTaskName(*flags.task, task)) {
      return InvalidArgumentError("--task: unknown task '" + *flags.task +
                                  "', expected kgmm or xor");
    }
    *chosen_by = "--task " + TaskName(*task);
  } else if (spec.task_case() != v1::JobSpec::TASK_NOT_SET) {
    *task = spec.task_case();
    *chosen_by = "the --spec file";
  } else if (const std::string xor_flag = FirstFlagOfTask(flags, "xor_task"); !xor_flag.empty()) {
    *task = v1::JobSpec::kXorTask;
    *chosen_by = xor_flag;
  } else {
    *task = v1::JobSpec::kKgmm;
    *chosen_by = "default";
  }
  return Status();
}

// Flags that imply another field's value unless that field's flag is given too.
struct ImpliedValue {
  const char* given;  // a flag setting this path...
  const char* path;   // ...sets this one
  const char* value;  // to this
};
constexpr ImpliedValue kImpliedValues[] = {
    {"schedule.every_steps", "schedule.kind", "EVERY_STEPS"},
};

// The assignments as (path, value) in the order to apply them: lists joined (their flags
// append), implied values first so that an explicit flag overrides them.
std::vector<std::pair<std::string, std::string>> PathValues(const SpecFlags& flags,
                                                            const std::string& task_field) {
  std::vector<std::pair<std::string, std::string>> values;
  std::map<std::string, size_t> lists;  // path -> index in values
  std::set<std::string> given;
  for (const SpecFlags::Assignment& assignment : flags.assignments) {
    given.insert(TargetPath(assignment.target, task_field));
  }
  for (const ImpliedValue& implied : kImpliedValues) {
    if (given.count(implied.given) > 0 && given.count(implied.path) == 0) {
      values.emplace_back(implied.path, implied.value);
    }
  }
  for (const SpecFlags::Assignment& assignment : flags.assignments) {
    const std::string path = TargetPath(assignment.target, task_field);
    const bool is_list = std::any_of(
        SpecFieldNames().begin(), SpecFieldNames().end(), [&](const SpecFieldName& entry) {
          return entry.target == assignment.target && entry.field->is_repeated();
        });
    if (!is_list) {
      values.emplace_back(path, assignment.value);
    } else if (const auto [at, added] = lists.emplace(path, values.size()); added) {
      values.emplace_back(path, assignment.value);
    } else {
      values[at->second].second += "," + assignment.value;
    }
  }
  return values;
}

}  // namespace

bool ParseTaskName(const std::string& text, v1::JobSpec::TaskCase* task) {
  const std::string name = Lowercase(text);
  if (name == "kgmm" || name == "k-gmm") {
    *task = v1::JobSpec::kKgmm;
  } else if (name == "xor" || name == "xor-task" || name == "xor_task") {
    *task = v1::JobSpec::kXorTask;
  } else {
    return false;
  }
  return true;
}

void AddSpecOptions(CLI::App* app, SpecFlags* flags) {
  // A flag given twice takes its last value, so that `run $COMMON_FLAGS --d 40` overrides.
  const CLI::MultiOptionPolicy caller_policy = app->option_defaults()->get_multi_option_policy();
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  app->add_option("--spec", flags->spec_file,
                  "Job spec JSON file (proto3 JSON mapping of sgdspectra.v1.JobSpec; - = stdin). "
                  "Flags given as well override its fields.");
  app->add_option("--task", flags->task,
                  "task: kgmm | xor (default: the --spec file's, else xor if a flag of an "
                  "XOR-only field is given, else kgmm)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            v1::JobSpec::TaskCase task;
            return ParseTaskName(text, &task) ? "" : "unknown task '" + text + "'";
          },
          "kgmm | xor"))
      ->group("Job");

  // Each occurrence is recorded as it is parsed, so the assignments keep command-line order
  // (--beta 0.1 --ridge 0.3 sets 0.3).
  for (const SpecFieldName& entry : SpecFieldNames()) {
    std::string names;
    for (const std::string& name : entry.names) {
      if (app->get_option_no_throw("--" + name) != nullptr) continue;
      names += (names.empty() ? "--" : ",--") + name;
    }
    if (names.empty()) continue;
    const std::string first_flag = names.substr(0, names.find(','));
    const std::string target = entry.target;
    app->add_option_function<std::string>(
           names,
           [flags, first_flag, target](const std::string& value) {
             flags->assignments.push_back({first_flag, target, value});
           },
           entry.help)
        ->trigger_on_parse()
        ->check(ValueValidator(entry))
        ->type_name(TypeName(entry.field))
        ->group(entry.group);
  }
  app->option_defaults()->multi_option_policy(caller_policy);
}

Status ParseSpecJson(const std::string& json, v1::JobSpec* spec) {
  spec->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field must not silently become a default
  const Status status = google::protobuf::util::JsonStringToMessage(json, spec, options);
  if (!status.ok()) {
    // protobuf's message already names the field ("kgmm.dimm: Cannot find field.").
    return google::protobuf::util::InvalidArgumentError(std::string(status.message()));
  }
  return Status();
}

Status ReadSpecFile(const std::string& path, v1::JobSpec* spec) {
  std::string json;
  if (path == "-") {
    json.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return google::protobuf::util::NotFoundError(path + ": cannot open spec file");
    std::ostringstream contents;
    contents << in.rdbuf();
    if (in.bad()) return google::protobuf::util::DataLossError(path + ": read error");
    json = contents.str();
  }
  const Status status = ParseSpecJson(json, spec);
  if (!status.ok()) {
    return google::protobuf::util::InvalidArgumentError(path + ": " +
                                                        std::string(status.message()));
  }
  return Status();
}

Status ApplySpecFlags(const SpecFlags& flags, v1::JobSpec* spec) {
  v1::JobSpec::TaskCase task = v1::JobSpec::kKgmm;
  std::string chosen_by;
  if (const Status status = ChooseTask(flags, *spec, &task, &chosen_by); !status.ok()) {
    return status;
  }
  const std::string other_task = task == v1::JobSpec::kXorTask ? "kgmm" : "xor_task";
  if (const std::string wrong = FirstFlagOfTask(flags, other_task); !wrong.empty()) {
    return InvalidArgumentError(wrong + ": only valid with --task " +
                                (task == v1::JobSpec::kXorTask ? "kgmm" : "xor") +
                                ", but this job's task is " + TaskName(task) +
                                (chosen_by == "default" ? "" : " (from " + chosen_by + ")"));
  }
  // Selecting the task's message switches the oneof (clearing the other task's fields).
  spec->GetReflection()->MutableMessage(
      spec, v1::JobSpec::descriptor()->FindFieldByName(TaskField(task)));
  for (const auto& [path, value] : PathValues(flags, TaskField(task))) {
    std::string error;
    if (!SetSpecField(path, value, spec, &error)) return InvalidArgumentError(error);
  }
  return Status();
}

Status BuildJobSpec(const SpecFlags& flags, v1::JobSpec* spec) {
  spec->Clear();
  if (!flags.spec_file.empty()) {
    const Status status = ReadSpecFile(flags.spec_file, spec);
    if (!status.ok()) return status;
  }
  // ApplySpecFlags always selects a task (k-GMM when nothing chose one).
  return ApplySpecFlags(flags, spec);
}

}  // namespace sgdspectra::client
