// Package env is the fixture's stand-in for the real env: the seams.
package env

// FS, File and Network are the I/O seams machines must not touch.
type (
	FS interface {
		Create(name string) (File, error)
	}
	File    interface{ Write(p []byte) (int, error) }
	Network interface {
		Send(conn uint64, frame []byte) error
	}
)

// Rand is a seeded stream: machines may hold one.
type Rand struct{ seed uint64 }
