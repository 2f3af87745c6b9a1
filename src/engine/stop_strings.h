// Stop strings over streamed text (OpenAI `stop`): generation ends when any stop string appears,
// even split across tokens; the text returned ends just before it. Text that might be the start
// of a stop string is held back until the next piece decides, so a client never receives part
// of a stop string.
//
// Thread-safety: one per sequence.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace seekd::engine {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends `text` to the stream. Returns the text that is now safe to emit; *stopped becomes
  // true when a stop string completed (nothing after it is emitted, and later calls return "").
  std::string Push(std::string_view text, bool* stopped);
  // End of generation: whatever was held back (it did not become a stop string).
  std::string Flush();
  // The stop string that ended the stream, or "".
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  size_t longest_ = 0;
  std::string held_;
  std::string matched_;
  bool done_ = false;
};

}  // namespace seekd::engine
