package replication_test

import (
	"slices"
	"testing"

	"github.com/takhin-io/takhin/replication"
)

// TestFlushMessagesHoldsAcksOneForTheSync: with flush.messages=N an
// acks=1 produce is answered once written only while fewer than N
// messages, its own included, are above the high watermark; otherwise it
// waits for the sync, as Kafka's append fsyncs before answering once N
// messages are unflushed. Without it (0), acks=1 is answered at Written.
func TestFlushMessagesHoldsAcksOneForTheSync(t *testing.T) {
	cfg := testConfig()
	cfg.FlushMessages = 4
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	h.produce(1, 1, 3, 10) // op 1: 3 unsynced messages, fewer than 4
	if got := replyIDs(h.written(h.persistEnd(), nil)); !slices.Equal(got, []replication.RequestID{1}) {
		t.Fatalf("Written released %v, want the 3-message acks=1 produce [1]", got)
	}
	h.produce(2, 1, 3, 10) // queued behind op 1
	h.produce(3, 1, 1, 10)
	h.synced(nil) // hw 3; op 2 takes [3, 6) and [6, 7)
	rd := h.written(h.persistEnd(), nil)
	if got := replyIDs(rd); !slices.Equal(got, []replication.RequestID{2}) {
		t.Fatalf("Written released %v, want only [2] (3 unsynced); 3 leaves 3 + 1 = 4", got)
	}
	h.unanswered(3)
	if got := replyIDs(h.synced(nil)); !slices.Equal(got, []replication.RequestID{3}) {
		t.Fatalf("Synced released %v, want the held acks=1 produce [3]", got)
	}

	// Reconfigured to 1 (fsync every message): every acks=1 waits.
	cfg.FlushMessages = 1
	h.step(replication.Reconfigure{Now: h.now, Config: cfg})
	h.produce(4, 1, 1, 10)
	if got := replyIDs(h.written(h.persistEnd(), nil)); len(got) != 0 {
		t.Fatalf("Written released %v with flush.messages=1", got)
	}
	if got := replyIDs(h.synced(nil)); !slices.Equal(got, []replication.RequestID{4}) {
		t.Fatalf("Synced released %v, want [4]", got)
	}
}
