#include "olla/proxy/request_inspect.hpp"

#include <nlohmann/json.hpp>

namespace olla::proxy {
namespace {

class ModelFinder : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string model;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t& s) override {
    if (depth_ == 1 && is_model_key_) {
      model = std::move(s);
      return false;  // found: stop parsing
    }
    return value();
  }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    is_model_key_ = depth_ == 1 && k == "model";
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool value() {
    is_model_key_ = false;
    return true;
  }
  bool open() {
    is_model_key_ = false;
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  int depth_ = 0;
  bool is_model_key_ = false;
};

}  // namespace

std::string extract_model(std::string_view body) {
  if (body.empty()) return {};
  ModelFinder finder;
  nlohmann::json::sax_parse(body.begin(), body.end(), &finder, nlohmann::json::input_format_t::json,
                            /*strict=*/false);
  return std::move(finder.model);
}

}  // namespace olla::proxy
