// Server-sent events, parsed incrementally as the WHATWG HTML spec describes the
// `text/event-stream` format: lines end in CRLF, LF or CR; "data:" lines accumulate (joined by
// LF); "event:", "id:" and "retry:" set fields; lines starting with ':' are comments (a server's
// keep-alive); an empty line dispatches the event. A leading UTF-8 BOM is skipped. Any split of
// the byte stream gives the same events.
//
// Thread-safety: one per stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seekd::api {

struct SseEvent {
  std::string event = "message";
  std::string data;
  std::string id;                // the last event id seen so far on the stream
  std::optional<int64_t> retry;  // "retry:" milliseconds, when this event carried one
};

class SseParser {
 public:
  // Appends bytes; returns the events they completed.
  std::vector<SseEvent> Feed(std::string_view bytes);
  // End of stream: an event without its final blank line is dropped, as the spec says.
  void Finish() { line_.clear(); }
  // Comments seen (":" lines), e.g. keep-alives.
  int64_t comments() const { return comments_; }

 private:
  void Line(std::string_view line, std::vector<SseEvent>* out);
  std::string line_;
  bool after_cr_ = false;  // the previous byte was CR: a following LF belongs to it
  bool started_ = false;   // BOM check done
  std::string event_, data_, last_id_;
  bool has_data_ = false;
  std::optional<int64_t> retry_;
  int64_t comments_ = 0;
};

}  // namespace seekd::api
