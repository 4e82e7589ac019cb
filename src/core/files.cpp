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

bool write_new_file(const std::string& path, std::string_view data) noexcept {
  try {
    std::size_t slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0 && !make_private_dirs(path.substr(0, slash))) return false;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    std::size_t written = 0;
    while (written < data.size()) {
      ssize_t n = ::write(fd, data.data() + written, data.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    const bool ok = written == data.size() && ::close(fd) == 0;
    if (!ok) {
      if (written != data.size()) ::close(fd);
      ::unlink(path.c_str());
    }
    return ok;
  } catch (...) {
    return false;
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
