#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/file_error.h"

namespace rl {

namespace {

std::string reason(const std::string& what) { return what + ": " + std::strerror(errno); }

// Writes everything or throws; write() may write less than asked (signals, pipes, quotas).
void writeAll(int fd, const std::string& bytes, const std::string& tempPath) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw FileError(reason("cannot write " + tempPath));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

void writeFileAtomic(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();

  int fd = ::mkstemp(temp.data());
  if (fd < 0) throw FileError(path + ": " + reason("cannot create a temporary file in " + dir.string()));
  try {
    writeAll(fd, bytes, temp);
    // mkstemp makes 0600 files; give the result the usual permissions (0666 minus umask).
    mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);
    if (::fsync(fd) != 0) throw FileError(reason("cannot flush " + temp));
    int closed = ::close(fd);
    fd = -1;
    if (closed != 0) throw FileError(reason("cannot close " + temp));
    if (::rename(temp.c_str(), path.c_str()) != 0) throw FileError(reason("cannot replace the file"));
  } catch (const FileError& e) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    throw FileError(path + ": " + e.what());
  }
  // Make the rename itself durable; failure here does not undo a completed write.
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dirFd >= 0) {
    ::fsync(dirFd);
    ::close(dirFd);
  }
}

std::string readFileBytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FileError(path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path + ": " + reason("cannot open"));
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) throw FileError(path + ": read error");
  return os.str();
}

}  // namespace rl
