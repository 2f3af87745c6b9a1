// UTF-8 helpers for the tokenizer: WHATWG-compatible repair of invalid input, the byte-level
// BPE byte↔code point map, and NFC.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace seekd::tok {

// Replaces every maximal invalid subpart with U+FFFD exactly as the WHATWG UTF-8 decoder
// (TextDecoder) does, so seekd sees the same text a JavaScript or browser client would send.
std::string SanitizeUtf8(std::string_view s);
bool IsValidUtf8(std::string_view s);

// Length of the UTF-8 sequence starting with byte b (1 for invalid lead bytes).
inline int Utf8SeqLen(uint8_t b) {
  if (b < 0x80) return 1;
  if ((b & 0xe0) == 0xc0) return 2;
  if ((b & 0xf0) == 0xe0) return 3;
  if ((b & 0xf8) == 0xf0) return 4;
  return 1;
}

void AppendUtf8(uint32_t cp, std::string* out);

// Byte-level BPE: every byte has a printable stand-in code point (GPT-2's map).
const std::array<std::string, 256>& ByteToUnicode();
// Code point → byte, or -1 when the code point is not a stand-in.
int UnicodeToByte(uint32_t cp);

// Unicode NFC of valid UTF-8.
std::string Nfc(std::string_view s);

}  // namespace seekd::tok
