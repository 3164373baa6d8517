#include "client/spec_names.h"

#include <google/protobuf/message.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "client/proto_comments.h"
#include "client/text_util.h"

namespace sgdspectra::client {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kTaskPrefix[] = "@task.";

std::string Lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Dashed(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

std::string Underscored(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// Short names the proto cannot derive. `primary`: the alias is how messages name the flag.
struct Alias {
  const char* name;
  const char* target;
  bool primary;
};
constexpr Alias kAliases[] = {
    {"d", "@task.dim", true},
    {"lambda", "@task.snr", true},
    {"k", "kgmm.num_classes", true},
    {"K", "xor_task.hidden", false},
    {"beta", "kgmm.ridge", true},
    {"alpha", "xor_task.ridge", true},
    {"schedule", "schedule.kind", true},
};

// Short names of enum values, accepted wherever the value's enum has that value.
const std::map<std::string, std::string>& EnumValueAliases() {
  static const std::map<std::string, std::string> aliases = {
      {"null", "NULL_MODEL"},   {"mp", "MARCHENKO_PASTUR"}, {"gap", "LARGEST_GAP"},
      {"decoy", "DECOY_NULL"},  {"log", "LOG_SPACED_TIME"}, {"log_spaced", "LOG_SPACED_TIME"},
      {"every", "EVERY_STEPS"},
  };
  return aliases;
}

// Help groups by the top-level field a path starts in; others use the field's name.
std::string GroupOf(const std::string& path) {
  static const std::map<std::string, std::string> titles = {
      {"kgmm", "k-GMM task"},    {"xor_task", "XOR task"}, {"sgd", "SGD"},
      {"schedule", "Snapshots"}, {"analysis", "Analysis"},
  };
  const size_t dot = path.find('.');
  if (dot == std::string::npos) return "Job";
  const auto title = titles.find(path.substr(0, dot));
  return title != titles.end() ? title->second : path.substr(0, dot);
}

struct Leaf {
  std::string path;
  std::string task;  // the task oneof member it lies in, or ""
  const FieldDescriptor* field;
};

void CollectLeaves(const Descriptor* message, const std::string& prefix, const std::string& task,
                   std::vector<Leaf>* leaves) {
  for (int i = 0; i < message->field_count(); ++i) {
    const FieldDescriptor* field = message->field(i);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()) {
      const std::string member = field->containing_oneof() != nullptr ? field->name() : task;
      CollectLeaves(field->message_type(), prefix + field->name() + ".", member, leaves);
    } else {
      leaves->push_back({prefix + field->name(), task, field});
    }
  }
}

std::string HelpOf(const Leaf& leaf) {
  std::string help = leaf.path + ": " + ProtoFieldComment(leaf.field);
  if (leaf.field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    std::string values;
    for (int i = 0; i < leaf.field->enum_type()->value_count(); ++i) {
      const EnumValueDescriptor* value = leaf.field->enum_type()->value(i);
      if (value->number() == 0) continue;
      std::string shown = Lowercase(value->name());
      for (const auto& [alias, name] : EnumValueAliases()) {
        if (name == value->name() && alias.size() < shown.size()) shown = alias;
      }
      values += (values.empty() ? "" : " | ") + shown;
    }
    help += " Values: " + values + ".";
  }
  return help;
}

// One entry per field by the rules of spec_names.h, before aliases.
std::vector<SpecFieldName> NamesFromDescriptor() {
  std::vector<Leaf> leaves;
  CollectLeaves(v1::JobSpec::descriptor(), "", "", &leaves);
  const int num_tasks = v1::JobSpec::descriptor()->FindOneofByName("task")->field_count();
  std::map<std::string, int> uses;       // leaf name -> fields with that name
  std::map<std::string, int> task_uses;  // leaf name -> tasks having it
  for (const Leaf& leaf : leaves) {
    ++uses[leaf.field->name()];
    if (!leaf.task.empty()) ++task_uses[leaf.field->name()];
  }
  std::vector<SpecFieldName> names;
  std::map<std::string, size_t> shared;  // "@task.x" -> index in names
  for (const Leaf& leaf : leaves) {
    const std::string& name = leaf.field->name();
    if (!leaf.task.empty() && task_uses[name] == num_tasks && uses[name] == num_tasks) {
      const std::string target = kTaskPrefix + name;
      const auto [at, added] = shared.emplace(target, names.size());
      if (added) {
        names.push_back({target, {Dashed(name)}, "Both tasks", HelpOf(leaf), leaf.field});
      } else {
        names[at->second].help += " | " + HelpOf(leaf);
      }
      continue;
    }
    const std::string flag = uses[name] == 1 ? Dashed(name) : Dashed(leaf.path);
    names.push_back({leaf.path, {flag}, GroupOf(leaf.path), HelpOf(leaf), leaf.field});
  }
  return names;
}

std::vector<SpecFieldName> BuildSpecFieldNames() {
  std::vector<SpecFieldName> names = NamesFromDescriptor();
  for (const Alias& alias : kAliases) {
    auto entry = std::find_if(names.begin(), names.end(),
                              [&](const SpecFieldName& n) { return n.target == alias.target; });
    if (entry == names.end()) {  // a task's own copy of a shared field (kgmm.ridge)
      std::vector<Leaf> leaves;
      CollectLeaves(v1::JobSpec::descriptor(), "", "", &leaves);
      for (const Leaf& leaf : leaves) {
        if (leaf.path == alias.target) {
          names.push_back({leaf.path, {}, GroupOf(leaf.path), HelpOf(leaf), leaf.field});
        }
      }
      entry = names.end() - 1;
    }
    auto& list = entry->names;
    list.insert(alias.primary ? list.begin() : list.end(), alias.name);
  }
  return names;
}

// The name table's target for `name` (flag or --set spelling), or "" if it names none.
std::string TargetOfName(const std::string& name) {
  const std::string key = Underscored(name);
  for (const bool exact : {true, false}) {
    for (const SpecFieldName& entry : SpecFieldNames()) {
      for (const std::string& candidate : entry.names) {
        const std::string known = Underscored(candidate);
        if (exact ? known == key : Lowercase(known) == Lowercase(key)) return entry.target;
      }
    }
  }
  return "";
}

// The field named `part` in proto or JSON (lowerCamelCase) spelling.
const FieldDescriptor* FindField(const Descriptor* message, const std::string& part) {
  if (const FieldDescriptor* field = message->FindFieldByName(part)) return field;
  if (const FieldDescriptor* field = message->FindFieldByCamelcaseName(part)) return field;
  return message->FindFieldByLowercaseName(Lowercase(part));
}

bool ParseInteger(const std::string& text, bool is_unsigned, long long* value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  if (is_unsigned && text[0] == '-') return false;
  errno = 0;
  char* end = nullptr;
  *value = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && end == text.c_str() + text.size();
}

bool ParseReal(const std::string& text, double* value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  errno = 0;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return errno == 0 && end == text.c_str() + text.size() && std::isfinite(*value);
}

const EnumValueDescriptor* ParseEnumValue(const FieldDescriptor* field, const std::string& text) {
  std::string upper = Underscored(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (const EnumValueDescriptor* named = field->enum_type()->FindValueByName(upper)) return named;
  const auto alias = EnumValueAliases().find(Lowercase(Underscored(text)));
  if (alias != EnumValueAliases().end()) {
    return field->enum_type()->FindValueByName(alias->second);
  }
  long long number = 0;
  if (!ParseInteger(text, false, &number)) return nullptr;
  return field->enum_type()->FindValueByNumber(static_cast<int>(number));
}

// Sets one singular integer field; false when `value` is not an integer of its range.
bool SetInteger(const FieldDescriptor* field, const std::string& value, Message* message,
                std::string* expected) {
  const Reflection* reflection = message->GetReflection();
  long long integer = 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      *expected = "a 32-bit integer";
      if (!ParseInteger(value, false, &integer) || integer < INT32_MIN || integer > INT32_MAX) {
        return false;
      }
      reflection->SetInt32(message, field, static_cast<int32_t>(integer));
      return true;
    case FieldDescriptor::CPPTYPE_INT64:
      *expected = "an integer";
      if (!ParseInteger(value, false, &integer)) return false;
      reflection->SetInt64(message, field, integer);
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      *expected = "a non-negative 32-bit integer";
      if (!ParseInteger(value, true, &integer) || integer > UINT32_MAX) return false;
      reflection->SetUInt32(message, field, static_cast<uint32_t>(integer));
      return true;
    default:  // CPPTYPE_UINT64
      *expected = "a non-negative integer";
      if (!ParseInteger(value, true, &integer)) return false;
      reflection->SetUInt64(message, field, static_cast<uint64_t>(integer));
      return true;
  }
}

// Sets one singular scalar; the name of the expected type on failure.
bool SetScalar(const FieldDescriptor* field, const std::string& value, Message* message,
               std::string* expected) {
  const Reflection* reflection = message->GetReflection();
  double real = 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return SetInteger(field, value, message, expected);
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      *expected = "a finite number";
      if (!ParseReal(value, &real)) return false;
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        reflection->SetFloat(message, field, static_cast<float>(real));
      } else {
        reflection->SetDouble(message, field, real);
      }
      return true;
    case FieldDescriptor::CPPTYPE_BOOL: {
      *expected = "true or false";
      const std::string lower = Lowercase(value);
      if (lower != "true" && lower != "false" && lower != "1" && lower != "0") return false;
      reflection->SetBool(message, field, lower == "true" || lower == "1");
      return true;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      *expected = field->enum_type()->name() + " (a value name)";
      const EnumValueDescriptor* named = ParseEnumValue(field, value);
      if (named == nullptr) return false;
      reflection->SetEnum(message, field, named);
      return true;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      reflection->SetString(message, field, value);
      return true;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  *expected = "a value (it is a message)";
  return false;
}

// A list of reals, comma-separated, replacing the field's list.
bool SetRealList(const FieldDescriptor* field, const std::string& value, Message* message) {
  std::vector<double> values;
  for (const std::string& piece : SplitString(value, ',')) {
    double real = 0;
    if (!ParseReal(piece, &real)) return false;
    values.push_back(real);
  }
  message->GetReflection()->ClearField(message, field);
  for (double real : values) message->GetReflection()->AddDouble(message, field, real);
  return true;
}

// Walks `dotted` (proto or JSON spelling) from JobSpec; false with *error on a bad part.
bool CanonicalPath(const v1::JobSpec& spec, const std::string& name, const std::string& dotted,
                   std::string* canonical, std::string* error) {
  const Descriptor* message = v1::JobSpec::descriptor();
  const Message* current = &spec;
  const std::vector<std::string> parts = SplitString(dotted, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field = FindField(message, parts[i]);
    if (field == nullptr) {
      *error = "--set " + name + ": no field '" + parts[i] + "' in " + message->full_name();
      return false;
    }
    *canonical += (canonical->empty() ? "" : ".") + field->name();
    const bool last = i + 1 == parts.size();
    std::string problem;
    if (field->is_repeated()) {
      problem = " is a list; sweep it with several --spec files";
    } else if (last && field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      problem = " is a message; name one of its fields";
    } else if (!last && field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      problem = " has no fields";
    } else if (const auto* oneof = field->containing_oneof(); oneof != nullptr && current) {
      const FieldDescriptor* set =
          current->GetReflection()->GetOneofFieldDescriptor(*current, oneof);
      if (set != nullptr && set != field) {
        problem = " belongs to another task than the base spec's (" + set->name() + ")";
      }
    }
    if (!problem.empty()) {
      *error = "--set " + name + ": " + *canonical + problem;
      return false;
    }
    if (!last) {
      const Reflection* reflection = current != nullptr ? current->GetReflection() : nullptr;
      current = reflection != nullptr && reflection->HasField(*current, field)
                    ? &reflection->GetMessage(*current, field)
                    : nullptr;
      message = field->message_type();
    }
  }
  return true;
}

}  // namespace

const std::vector<SpecFieldName>& SpecFieldNames() {
  static const std::vector<SpecFieldName> names = BuildSpecFieldNames();
  return names;
}

std::string TaskOfTarget(const std::string& target) {
  const size_t dot = target.find('.');
  if (dot == std::string::npos) return "";
  const FieldDescriptor* top = v1::JobSpec::descriptor()->FindFieldByName(target.substr(0, dot));
  return top != nullptr && top->containing_oneof() != nullptr ? top->name() : "";
}

std::string TargetPath(const std::string& target, const std::string& task_field) {
  const std::string prefix = kTaskPrefix;
  if (target.compare(0, prefix.size(), prefix) != 0) return target;
  return task_field + "." + target.substr(prefix.size());
}

bool ResolveSpecFieldPath(const v1::JobSpec& spec, const std::string& name, std::string* path,
                          std::string* error) {
  const std::string target = TargetOfName(name);
  const std::string dotted = target.empty()
                                 ? Underscored(name)
                                 : TargetPath(target, spec.has_xor_task() ? "xor_task" : "kgmm");
  std::string canonical;
  if (Lowercase(dotted) != "seed" && !CanonicalPath(spec, name, dotted, &canonical, error)) {
    return false;
  }
  if (Lowercase(dotted) == "seed" || canonical == "seed") {
    *error = "--set " + name + ": the seed is swept with --seeds";
    return false;
  }
  *path = canonical;
  return true;
}

bool SetSpecField(const std::string& path, const std::string& value, v1::JobSpec* spec,
                  std::string* error) {
  Message* message = spec;
  const std::vector<std::string> parts = SplitString(path, '.');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(parts[i]);
    if (field == nullptr || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      *error = path + ": not a field path";
      return false;
    }
    message = message->GetReflection()->MutableMessage(message, field);
  }
  const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(parts.back());
  if (field == nullptr) {
    *error = path + ": not a field path";
    return false;
  }
  const std::string bad = path + ": cannot parse '" + value + "' as ";
  if (field->is_repeated()) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE &&
        SetRealList(field, value, message)) {
      return true;
    }
    *error = bad + "a comma-separated list of finite numbers";
    return false;
  }
  std::string expected;
  if (SetScalar(field, value, message, &expected)) return true;
  *error = bad + expected;
  return false;
}

}  // namespace sgdspectra::client
