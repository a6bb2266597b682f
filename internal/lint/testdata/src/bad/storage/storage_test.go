package storage_test

import (
	"testing"
	"time"

	_ "example.com/takhin/sim/simfs"
	_ "example.com/takhin/storage"
	_ "example.com/takhin/storage/storagetest"
)

// Test files are exempt from the determinism bans and the length ratchet,
// and may import the leaf doubles and their own package's harness.
func TestStorage(t *testing.T) {
	go func() {}()
	time.Sleep(time.Millisecond)
}
