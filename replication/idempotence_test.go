package replication_test

// Goal: producer.id.expiration.ms by broker time — an idle producer is
// forgotten at the retention check and then accepted at any sequence; a
// producer still within the window gets OUT_OF_ORDER_SEQUENCE_NUMBER for
// the same gap.

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func producerBatch(pid int64, seq int32) []byte {
	b := storage.EncodeBatch([]kmsg.Record{{Value: []byte("v")}}, 1)
	storage.SetProducer(b, pid, 0, seq)
	return b
}

// drive steps ev and carries out the Ready like an executor that always
// succeeds, returning the replies.
func drive(t *testing.T, p *replication.Partition, ev replication.Event) []replication.Reply {
	t.Helper()
	if err := p.Step(ev); err != nil {
		t.Fatal(err)
	}
	var replies []replication.Reply
	for p.HasReady() {
		rd := p.Ready()
		p.Advance(rd)
		replies = append(replies, rd.Replies...)
		if rd.Persist != nil {
			end := storage.DecodeBatchHeader(rd.Persist.Batches[len(rd.Persist.Batches)-1]).NextOffset()
			now := ev.When()
			replies = append(replies, drive(t, p, replication.Written{Now: now, Op: rd.Persist.Op, UpTo: end})...)
			replies = append(replies, drive(t, p, replication.Synced{Now: now, Op: rd.Persist.Op, UpTo: end})...)
		}
		for _, task := range rd.Background {
			replies = append(replies, drive(t, p, replication.BackgroundDone{Now: ev.When(), Task: task.ID})...)
		}
	}
	return replies
}

func TestProducerExpiryByBrokerTime(t *testing.T) {
	for _, c := range []struct {
		name    string
		idleMs  int64
		wantErr error
	}{
		{"within the window a gap is refused", 1_000, replication.ErrOutOfOrderSequence},
		{"an expired producer is accepted at any sequence", 10_000, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := replication.DefaultPartitionConfig("t", 0)
			cfg.ProducerIDExpirationMs, cfg.RetentionCheckIntervalMs = 5_000, 500
			p := replication.NewPartition(cfg, zap.NewNop())
			now := env.Time{Mono: 1, WallMs: 1_000_000}
			drive(t, p, replication.Recovered{Now: now})
			if r := drive(t, p, replication.Produce{Now: now, ID: 1, Batch: producerBatch(7, 0), Acks: -1}); len(r) != 1 || r[0].Err != nil {
				t.Fatalf("first batch: %+v", r)
			}
			now = now.AddMs(c.idleMs)
			drive(t, p, replication.Tick{Now: now}) // the retention check expires idle producers
			r := drive(t, p, replication.Produce{Now: now, ID: 2, Batch: producerBatch(7, 42), Acks: -1})
			if len(r) != 1 || !errors.Is(r[0].Err, c.wantErr) || (c.wantErr == nil && r[0].Err != nil) {
				t.Fatalf("after %d ms idle, a gap: %+v, want %v", c.idleMs, r, c.wantErr)
			}
		})
	}
}

// A fail-stopped partition answers every request, queries included (the
// simulator found a ListOffsets left unanswered, hanging its client).
func TestFailedPartitionAnswersQueries(t *testing.T) {
	p := replication.NewPartition(replication.DefaultPartitionConfig("t", 0), zap.NewNop())
	now := env.Time{Mono: 1, WallMs: 1}
	drive(t, p, replication.Recovered{Now: now, End: 5}) // nothing in the tail: a fetch from 0 reads the disk
	if err := p.Step(replication.Fetch{Now: now, ID: 1, From: 0, MaxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	rd := p.Ready()
	p.Advance(rd)
	if len(rd.Reads) != 1 {
		t.Fatalf("want a disk read, got %+v", rd)
	}
	replies := drive(t, p, replication.ReadDone{Now: now, ID: rd.Reads[0].ID, Err: storage.ErrCorrupt})
	if len(replies) != 1 || !errors.Is(replies[0].Err, replication.ErrFailed) {
		t.Fatalf("the corrupt read must fail-stop the partition: %+v", replies)
	}
	for _, ev := range []replication.Event{
		replication.ListOffset{Now: now, ID: 10, Timestamp: -1},
		replication.EpochEnd{Now: now, ID: 11, Epoch: 0},
		replication.Fetch{Now: now, ID: 12, From: 0},
		replication.Produce{Now: now, ID: 13, Batch: producerBatch(-1, 0), Acks: 1},
	} {
		replies := drive(t, p, ev)
		if len(replies) != 1 || !errors.Is(replies[0].Err, replication.ErrFailed) {
			t.Fatalf("%T on a failed partition: %+v, want one ErrFailed reply", ev, replies)
		}
	}
}

// TestEpochEndAnswers: OffsetForLeaderEpoch's answers on one node, as
// Kafka's LeaderEpochFileCache.endOffsetFor gives them: the current epoch
// ends at the log end; an epoch above every known one, and UNDEFINED,
// get (-1, -1).
func TestEpochEndAnswers(t *testing.T) {
	p := replication.NewPartition(replication.DefaultPartitionConfig("t", 0), zap.NewNop())
	now := env.Time{Mono: 1, WallMs: 1}
	drive(t, p, replication.Recovered{Now: now, End: 5})
	for _, c := range []struct {
		ask   storage.Epoch
		epoch storage.Epoch
		end   storage.Offset
	}{{0, 0, 5}, {1, -1, -1}, {-1, -1, -1}} {
		replies := drive(t, p, replication.EpochEnd{Now: now, ID: 1, Epoch: c.ask})
		if len(replies) != 1 || replies[0].Err != nil || replies[0].Epoch != c.epoch || replies[0].Base != c.end {
			t.Errorf("epoch %d: %+v, want (%d, %d)", c.ask, replies, c.epoch, c.end)
		}
	}
}

// TestProduceReplyCarriesTheLogAppendTime: on a LogAppendTime topic the
// produce reply carries the time stamped into the batch, which Kafka's
// produce response returns, not the time the reply is read (a group
// commit later); a CreateTime topic's reply carries -1.
func TestProduceReplyCarriesTheLogAppendTime(t *testing.T) {
	for _, lat := range []bool{true, false} {
		cfg := testConfig()
		cfg.LogAppendTime = lat
		h := newHarness(t, cfg)
		h.recovered(0, 0)
		for i, acks := range []int16{-1, 1} {
			h.at(int64(100 * (i + 1)))
			stamped := h.now.WallMs
			h.produce(replication.RequestID(i+1), acks, 3, 10)
			h.at(int64(100*(i+1) + 7))
			h.written(h.persistEnd(), nil)
			h.at(int64(100*(i+1) + 9))
			h.synced(nil)
			want := int64(-1)
			if lat {
				want = stamped
			}
			got := h.reply(replication.RequestID(i + 1)).Timestamp
			stored := storage.DecodeBatchHeader(h.disk[len(h.disk)-1].bytes).MaxTimestamp
			if got != want || (lat && stored != got) {
				t.Errorf("LogAppendTime %v acks %d: reply timestamp %d, stored %d; want %d", lat, acks, got, stored, want)
			}
		}
	}
}
