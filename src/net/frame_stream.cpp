#include "net/frame_stream.h"

#include <algorithm>

namespace mcpvm::net {

void FrameDecoder::feed(ByteView data, const std::function<void(ByteView)>& on_frame) {
  while (!data.empty()) {
    if (skip_ > 0) {
      size_t n = std::min(skip_, data.size());
      skip_ -= n;
      data = data.subspan(n);
      continue;
    }
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    data = {};
    size_t pos = 0;
    while (buffer_.size() - pos >= 4) {
      uint32_t length = get_u32(buffer_, pos);
      if (length > kMaxFrameSize) {
        ++oversized_;
        size_t available = buffer_.size() - pos - 4;
        size_t n = std::min<size_t>(length, available);
        pos += 4 + n;
        skip_ = length - n;
        if (skip_ > 0) break;
        continue;
      }
      if (buffer_.size() - pos - 4 < length) break;
      if (length > 0) on_frame(ByteView(buffer_).subspan(pos + 4, length));
      pos += 4 + length;
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos));
  }
}

void append_frame(Bytes& out, ByteView frame) {
  put_u32(out, static_cast<uint32_t>(frame.size()));
  out.insert(out.end(), frame.begin(), frame.end());
}

}  // namespace mcpvm::net
