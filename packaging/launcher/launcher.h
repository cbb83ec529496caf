/* The single-file pdman: this launcher, then a payload (pdman's PyInstaller onedir
 * bundle), then a trailer. The one definition of that layout; packaging/pack_binary.py
 * reads the #defines below and writes the same layout.
 *
 *   [launcher ELF][payload: entries][trailer: PDMAN_TRAILER_SIZE bytes]
 *
 * trailer (little-endian):
 *   0   char     magic[16]          PDMAN_BUNDLE_MAGIC
 *   16  uint64   payload_offset
 *   24  uint64   payload_size
 *   32  char     sha256[64]         hex SHA-256 of the payload bytes
 *   96  char     version[32]        pdman's version, NUL-padded
 *
 * entry (little-endian), PDMAN_ENTRY_HEADER_SIZE bytes, then the path, then the data:
 *   0   uint8    type               'd' directory, 'f' file, 'l' symlink (data: target)
 *   1   uint8    method             0 stored, 1 zlib
 *   2   uint16   mode               permission bits
 *   4   uint32   path_len           relative path, no NUL, no "..", parents first
 *   8   uint64   size               size once extracted
 *   16  uint64   stored_size        bytes that follow the path
 */
#ifndef PDMAN_LAUNCHER_H
#define PDMAN_LAUNCHER_H

#include <stddef.h>
#include <stdint.h>

#define PDMAN_BUNDLE_MAGIC "pdman-bundle-v1\n"
#define PDMAN_TRAILER_SIZE 128
#define PDMAN_ENTRY_HEADER_SIZE 24
/* written last into an extracted bundle: its content is the payload's hash */
#define PDMAN_READY_MARKER ".pdman-payload"

void sha256_hex (const unsigned char *data, size_t len, char out[65]);

#endif
