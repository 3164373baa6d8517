#include "client/sweep/spec_field.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <vector>

#include "client/text_util.h"

namespace sgdspectra::client {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The field named `part` in proto or JSON (lowerCamelCase) spelling.
const FieldDescriptor* FindField(const Descriptor* message, const std::string& part) {
  if (const FieldDescriptor* field = message->FindFieldByName(part)) return field;
  if (const FieldDescriptor* field = message->FindFieldByCamelcaseName(part)) return field;
  return message->FindFieldByLowercaseName(Lowercase(part));
}

// Alias -> path; "@task" stands for the spec's task field (kgmm or xor_task).
const std::map<std::string, std::string>& Aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"d", "@task.dim"},
      {"dim", "@task.dim"},
      {"lambda", "@task.snr"},
      {"snr", "@task.snr"},
      {"ridge", "@task.ridge"},
      {"beta", "kgmm.ridge"},
      {"alpha", "xor_task.ridge"},
      {"k", "kgmm.num_classes"},
      {"hidden", "xor_task.hidden"},
      {"second_layer_margin", "xor_task.second_layer_margin"},
      {"decoy_draws", "xor_task.decoy_draws"},
      {"c_delta", "sgd.c_delta"},
      {"step_size", "sgd.step_size"},
      {"steps", "sgd.steps"},
      {"t_end", "sgd.t_end"},
      {"every_steps", "schedule.every_steps"},
      {"num_points", "schedule.num_points"},
      {"t_first", "schedule.t_first"},
      {"test_ratio", "analysis.test_ratio"},
      {"top_r", "analysis.top_r"},
      {"top_r_full", "analysis.top_r_full"},
      {"ncv", "analysis.ncv"},
      {"tol", "analysis.tol"},
      {"max_restarts", "analysis.max_restarts"},
      {"outlier_method", "analysis.outlier_method"},
      {"outlier_margin", "analysis.outlier_margin"},
      {"gap_ratio", "analysis.gap_ratio"},
      {"rank_tolerance", "analysis.rank_tolerance"},
      {"threads", "analysis.threads"},
      {"solve_target", "analysis.solve_target"},
      {"certify_below", "analysis.certify_below"},
      {"null_tol", "analysis.null_tol"},
      {"random_stream_version", "random_stream_version"},
  };
  return aliases;
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

}  // namespace

bool ResolveSpecFieldPath(const v1::JobSpec& spec, const std::string& name, std::string* path,
                          std::string* error) {
  std::string key = name;
  std::replace(key.begin(), key.end(), '-', '_');
  std::string dotted = key;
  const auto alias = Aliases().find(Lowercase(key));
  if (alias != Aliases().end()) {
    dotted = alias->second;
    if (dotted.compare(0, 5, "@task") == 0) {
      dotted = (spec.has_xor_task() ? "xor_task" : "kgmm") + dotted.substr(5);
    }
  }
  if (Lowercase(dotted) == "seed") {
    *error = "--set " + name + ": the seed is swept with --seeds";
    return false;
  }
  const Descriptor* message = v1::JobSpec::descriptor();
  const Message* current = &spec;
  std::string canonical;
  const std::vector<std::string> parts = SplitString(dotted, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field = FindField(message, parts[i]);
    if (field == nullptr) {
      *error = "--set " + name + ": no field '" + parts[i] + "' in " + message->full_name();
      return false;
    }
    canonical += (canonical.empty() ? "" : ".") + field->name();
    if (field->is_repeated()) {
      *error =
          "--set " + name + ": " + canonical + " is a list; sweep it with several --spec files";
      return false;
    }
    const google::protobuf::OneofDescriptor* oneof = field->containing_oneof();
    if (oneof != nullptr && current != nullptr) {
      const Reflection* reflection = current->GetReflection();
      const FieldDescriptor* set = reflection->GetOneofFieldDescriptor(*current, oneof);
      if (set != nullptr && set != field) {
        *error = "--set " + name + ": " + canonical +
                 " belongs to another task than the base "
                 "spec's (" +
                 set->name() + ")";
        return false;
      }
    }
    const bool last = i + 1 == parts.size();
    if (last && field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      *error = "--set " + name + ": " + canonical + " is a message; name one of its fields";
      return false;
    }
    if (!last) {
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        *error = "--set " + name + ": " + canonical + " has no fields";
        return false;
      }
      current = current != nullptr && current->GetReflection()->HasField(*current, field)
                    ? &current->GetReflection()->GetMessage(*current, field)
                    : nullptr;
      message = field->message_type();
    }
  }
  if (canonical == "seed") {
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
  if (field == nullptr || field->is_repeated()) {
    *error = path + ": not a singular field";
    return false;
  }
  const Reflection* reflection = message->GetReflection();
  const std::string bad = path + ": cannot parse '" + value + "' as ";
  long long integer = 0;
  double real = 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      if (!ParseInteger(value, false, &integer) || integer < INT32_MIN || integer > INT32_MAX) {
        *error = bad + "a 32-bit integer";
        return false;
      }
      reflection->SetInt32(message, field, static_cast<int32_t>(integer));
      return true;
    case FieldDescriptor::CPPTYPE_INT64:
      if (!ParseInteger(value, false, &integer)) {
        *error = bad + "an integer";
        return false;
      }
      reflection->SetInt64(message, field, integer);
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      if (!ParseInteger(value, true, &integer) || integer > UINT32_MAX) {
        *error = bad + "a non-negative 32-bit integer";
        return false;
      }
      reflection->SetUInt32(message, field, static_cast<uint32_t>(integer));
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      if (!ParseInteger(value, true, &integer)) {
        *error = bad + "a non-negative integer";
        return false;
      }
      reflection->SetUInt64(message, field, static_cast<uint64_t>(integer));
      return true;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      if (!ParseReal(value, &real)) {
        *error = bad + "a finite number";
        return false;
      }
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        reflection->SetDouble(message, field, real);
      } else {
        reflection->SetFloat(message, field, static_cast<float>(real));
      }
      return true;
    case FieldDescriptor::CPPTYPE_BOOL: {
      const std::string lower = Lowercase(value);
      if (lower != "true" && lower != "false" && lower != "1" && lower != "0") {
        *error = bad + "true or false";
        return false;
      }
      reflection->SetBool(message, field, lower == "true" || lower == "1");
      return true;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      std::string upper = value;
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      std::replace(upper.begin(), upper.end(), '-', '_');
      const google::protobuf::EnumValueDescriptor* named =
          field->enum_type()->FindValueByName(upper);
      if (named == nullptr && ParseInteger(value, false, &integer)) {
        named = field->enum_type()->FindValueByNumber(static_cast<int>(integer));
      }
      if (named == nullptr) {
        *error = bad + field->enum_type()->name() + " (a value name)";
        return false;
      }
      reflection->SetEnum(message, field, named);
      return true;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      reflection->SetString(message, field, value);
      return true;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  *error = path + ": is a message";
  return false;
}

}  // namespace sgdspectra::client
