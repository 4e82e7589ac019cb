// Names on disk for uploaded artifacts: `artifacts/<workspace>/<session>/<artifact_id>/<filename>`
// under the server's data dir. Ids are client-chosen and may contain anything, so they are
// encoded into safe path segments; filenames are sanitised the way the reference server does.
#pragma once

#include <string>
#include <string_view>

namespace promptetheus::devserver {

/// The reference server's rule (spec §5.1), step for step: backslashes become `/`, the name is
/// stripped of whitespace, its last path component is taken (`"dir/"` → `dir`), "", "." and ".."
/// become `artifact.bin`, and every code point that is not alphanumeric in Python's Unicode
/// sense (`str.isalnum`) and not `_`, `.` or `-` becomes one `_` (`../nested/step one.png` →
/// `step_one.png`, `"step—😀ü.png"` → `step__ü.png`); invalid UTF-8 bytes become `_` each. The
/// result is cut to 200 bytes so it always fits a file name.
std::string sanitize_artifact_filename(std::string_view filename);

/// An id as one directory name: every byte outside [A-Za-z0-9_-] is written as %XX, so `..`,
/// `/` and NUL can never escape the directory. Ordinary ids (ULIDs, sess_1, artifact_1) are
/// unchanged.
std::string safe_path_segment(std::string_view id);

}  // namespace promptetheus::devserver
