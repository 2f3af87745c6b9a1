#include "api/sse.h"

namespace seekd::api {

std::vector<SseEvent> SseParser::Feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  for (char c : bytes) {
    if (!started_) {
      // Hold the first bytes until they are known not to be a BOM (EF BB BF).
      line_.push_back(c);
      static constexpr std::string_view kBom = "\xEF\xBB\xBF";
      if (kBom.substr(0, line_.size()) == line_) {
        if (line_.size() == kBom.size()) {
          line_.clear();
          started_ = true;
        }
        continue;
      }
      started_ = true;
      std::string pending;
      pending.swap(line_);
      for (char p : pending) {
        auto more = Feed(std::string_view(&p, 1));
        out.insert(out.end(), more.begin(), more.end());
      }
      continue;
    }
    if (c == '\n' && after_cr_) {
      after_cr_ = false;  // the LF of a CRLF: the line already ended at the CR
      continue;
    }
    after_cr_ = c == '\r';
    if (c == '\r' || c == '\n') {
      Line(line_, &out);
      line_.clear();
    } else {
      line_.push_back(c);
    }
  }
  return out;
}

void SseParser::Line(std::string_view line, std::vector<SseEvent>* out) {
  if (line.empty()) {
    // Dispatch: only events with data are delivered; the fields reset either way.
    if (has_data_) {
      SseEvent e;
      if (!event_.empty()) e.event = event_;
      e.data = data_;
      e.id = last_id_;
      e.retry = retry_;
      out->push_back(std::move(e));
    }
    event_.clear();
    data_.clear();
    has_data_ = false;
    retry_.reset();
    return;
  }
  if (line.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view field = line, value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_ = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  } else if (field == "retry") {
    bool digits = !value.empty();
    int64_t ms = 0;
    for (char d : value) {
      digits = digits && d >= '0' && d <= '9';
      if (digits && ms < (int64_t{1} << 50)) ms = ms * 10 + (d - '0');
    }
    if (digits) retry_ = ms;
  }
  // Other fields are ignored.
}

}  // namespace seekd::api
