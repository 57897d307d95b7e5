// Package sqlite is latch's embedded store: one SQLite file (pure Go
// driver, no cgo) in WAL mode, with migrations embedded in the binary.
//
// Writes go through a single connection, so SQLite's one writer is
// serialised in Go instead of by busy-waiting; reads use a pool of
// read-only connections that WAL lets run beside the writer.
package sqlite
