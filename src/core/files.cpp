#include "core/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

bool make_private_dirs(const std::string& path) noexcept {
  try {
    if (path.empty()) return true;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
    std::size_t slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0 && !make_private_dirs(path.substr(0, slash))) return false;
    return ::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST;
  } catch (...) {
    return false;
  }
}

namespace {

// Opens `path` for writing as a new private file, creating its parent directories; -1 on failure.
int create_private_file(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !make_private_dirs(path.substr(0, slash))) return -1;
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

bool write_all(int fd, const char* data, std::size_t size) {
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

// Closes a file written by create_private_file; removes it unless everything went well.
bool finish_file(int fd, const std::string& path, bool written) {
  const bool ok = ::close(fd) == 0 && written;
  if (!ok) ::unlink(path.c_str());
  return ok;
}

}  // namespace

bool write_new_file(const std::string& path, std::string_view data) noexcept {
  try {
    const int fd = create_private_file(path);
    if (fd < 0) return false;
    return finish_file(fd, path, write_all(fd, data.data(), data.size()));
  } catch (...) {
    return false;
  }
}

bool copy_new_file(const std::string& source, const std::string& path) noexcept {
  try {
    const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return false;
    const int out = create_private_file(path);
    if (out < 0) {
      ::close(in);
      return false;
    }
    char buffer[64 * 1024];
    bool ok = true;
    for (;;) {
      const ssize_t n = ::read(in, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ok = false;
      if (n <= 0) break;
      if (!write_all(out, buffer, static_cast<std::size_t>(n))) {
        ok = false;
        break;
      }
    }
    ::close(in);
    return finish_file(out, path, ok);
  } catch (...) {
    return false;
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
