// PngExport: a PNG beside each SVG, drawn by rsvg-convert (Debian package librsvg2-bin), run
// as a child process without a shell (posix_spawn), so no file name is ever interpreted.
//
// Thread-safety: plain functions; each call waits for its own child.
#ifndef SGDSPECTRA_CLIENT_PLOT_PNG_EXPORT_H_
#define SGDSPECTRA_CLIENT_PLOT_PNG_EXPORT_H_

#include <google/protobuf/util/json_util.h>

#include <string>

namespace sgdspectra::client::plot {

// The path of the first executable file named `program` in $PATH, or "" if there is none.
std::string FindInPath(const std::string& program);

// Runs `<rsvg_convert> --format png --output <png_path> <svg_path>` and waits for it. An error
// if it cannot be started, exits non-zero or is killed; its stderr goes to ours.
google::protobuf::util::Status ConvertSvgToPng(const std::string& rsvg_convert,
                                               const std::string& svg_path,
                                               const std::string& png_path);

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_PNG_EXPORT_H_
