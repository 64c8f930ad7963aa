// Package whisper reads and writes Graphite's whisper 1.x files, byte-compatible
// with whisper.py 1.1, through shared memory mappings: an update is a store into
// the mapping, not a system call. FORMAT.md beside this file describes the bytes.
package whisper
