package broker_test

// Test files may import the leaf doubles and the harnesses of the layers
// their package may import.
import (
	"testing"
	"time"

	_ "example.com/takhin/broker"
	_ "example.com/takhin/replication/replicationtest"
	_ "example.com/takhin/sim/simnet"
	_ "example.com/takhin/storage/storagetest"
)

// Test files are exempt from the determinism bans.
func TestBroker(t *testing.T) {
	done := make(chan bool)
	go func() { done <- true }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("timeout")
	}
}
