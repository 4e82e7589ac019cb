#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

namespace promptetheus::cli {

namespace {

mode_t new_file_mode() {
  // umask can only be read by setting it; the CLI is single-threaded here.
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return static_cast<mode_t>(0666 & ~mask);
}


}  // namespace

bool write_file_atomically(const std::string& path, std::string_view data, std::string& error) {
  namespace fs = std::filesystem;
  try {
    std::error_code ec;
    // A configuration kept elsewhere (a dotfiles repository) and linked into place stays linked:
    // the file it points to is the one replaced.
    fs::path target(path);
    if (fs::is_symlink(target, ec)) {
      target = fs::weakly_canonical(target, ec);
      if (ec) {
        error = "could not follow the link " + path + ": " + ec.message();
        return false;
      }
    }
    const std::string target_path = target.string();
    const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    fs::create_directories(parent, ec);
    if (ec) {
      error = "could not create " + parent.string() + ": " + ec.message();
      return false;
    }
    mode_t mode = new_file_mode();
    struct stat existing {};
    if (::stat(target_path.c_str(), &existing) == 0) mode = existing.st_mode & 07777;

    // The temporary file lives in the target's directory so that rename() replaces the file in
    // one step (a rename across file systems would not be atomic).
    std::string pattern = (parent / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) {
      error = "could not create a temporary file in " + parent.string() + ": " + std::strerror(errno);
      return false;
    }
    const std::string temp(name.data());
    const bool written = write_all(fd, data) && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
    const int saved_errno = errno;
    const bool closed = ::close(fd) == 0;
    if (!written || !closed) {
      ::unlink(temp.c_str());
      error = "could not write " + temp + ": " + std::strerror(written ? errno : saved_errno);
      return false;
    }
    if (::rename(temp.c_str(), target_path.c_str()) != 0) {
      error = "could not replace " + target_path + ": " + std::strerror(errno);
      ::unlink(temp.c_str());
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    error = "could not write " + path + ": " + e.what();
    return false;
  }
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace promptetheus::cli
