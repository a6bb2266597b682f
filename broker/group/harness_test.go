package group

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// fakeLog is __consumer_offsets in memory: appended batches per
// partition, stamped with offsets. Appends complete when settle runs
// (or at once with auto), with code failNext if set.
type fakeLog struct {
	parts    map[int32][][]byte
	next     map[int32]int64
	pending  []func()
	auto     bool
	failNext int16
	now      *env.Time
}

func newFakeLog(now *env.Time) *fakeLog {
	return &fakeLog{parts: map[int32][][]byte{}, next: map[int32]int64{}, auto: true, now: now}
}

func (l *fakeLog) Append(p int32, batch []byte, done func(env.Time, int16)) {
	code := l.failNext
	l.failNext = 0
	finish := func() {
		if code == 0 {
			b := append([]byte(nil), batch...)
			storage.AssignBatch(b, storage.Offset(l.next[p]), 0, 0, false)
			l.next[p] = int64(storage.DecodeBatchHeader(b).NextOffset())
			l.parts[p] = append(l.parts[p], b)
		}
		done(*l.now, code)
	}
	if l.auto {
		finish()
		return
	}
	l.pending = append(l.pending, finish)
}

func (l *fakeLog) settle() {
	for len(l.pending) > 0 {
		f := l.pending[0]
		l.pending = l.pending[1:]
		f()
	}
}

func (l *fakeLog) Read(p int32, from int64, done func(env.Time, ReadResult)) {
	var out []byte
	for _, b := range l.parts[p] {
		if int64(storage.DecodeBatchHeader(b).BaseOffset) >= from {
			out = append(out, b...)
		}
	}
	done(*l.now, ReadResult{Batches: out, HighWatermark: l.next[p]})
}

// compact leaves each partition as Kafka's log cleaner does once
// delete.retention.ms has passed: the latest record of each key, at its
// offset, and no tombstone.
func (l *fakeLog) compact() {
	for p, batches := range l.parts {
		type kept struct {
			offset int64
			r      kmsg.Record
		}
		latest := map[string]kept{}
		for _, b := range batches {
			recs, err := storage.ReadRecords(b)
			if err != nil {
				panic(err)
			}
			base := int64(storage.DecodeBatchHeader(b).BaseOffset)
			for _, r := range recs {
				latest[string(r.Key)] = kept{base + int64(r.OffsetDelta), r}
			}
		}
		var out []kept
		for _, k := range latest {
			if k.r.Value != nil {
				out = append(out, k)
			}
		}
		slices.SortFunc(out, func(a, b kept) int { return int(a.offset - b.offset) })
		l.parts[p] = nil
		for _, k := range out {
			b := storage.EncodeBatch([]kmsg.Record{{Key: k.r.Key, Value: k.r.Value}}, 0)
			storage.AssignBatch(b, storage.Offset(k.offset), 0, 0, false)
			l.parts[p] = append(l.parts[p], b)
		}
	}
}

// world is a coordinator over a fake log with a hand-driven clock.
type world struct {
	t   *testing.T
	now env.Time
	log *fakeLog
	c   *Coordinator
	cfg Config
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, now: env.Time{Mono: 1_000_000_000, WallMs: 1_700_000_000_000}}
	w.log = newFakeLog(&w.now)
	w.cfg = DefaultConfig()
	w.cfg.InitialRebalanceDelayMs = 100
	w.start()
	return w
}

// start (re)creates the coordinator over the log, as a node restart does.
func (w *world) start() {
	w.c = New(w.cfg, env.NewRand(7, "groups"), zap.NewNop(), w.log)
	w.c.Partitions(w.now, 3)
}

// advance moves the clock by ms and runs the timers due.
func (w *world) advance(ms int64) {
	w.now.Mono += ms * 1_000_000
	w.now.WallMs += ms
	w.c.Tick(w.now)
}

// joinRes captures a parked JoinGroup answer.
type joinRes struct {
	got bool
	r   JoinResult
}

func (w *world) join(a JoinArgs) *joinRes {
	if a.SessionTimeoutMs == 0 {
		a.SessionTimeoutMs = 10_000
	}
	if a.RebalanceTimeoutMs == 0 {
		a.RebalanceTimeoutMs = 30_000
	}
	if a.ProtocolType == "" {
		a.ProtocolType = "consumer"
	}
	if a.Protocols == nil {
		a.Protocols = []Protocol{{Name: "range", Metadata: []byte("m")}}
	}
	if a.Version == 0 {
		a.Version = 9
	}
	res := &joinRes{}
	w.c.Join(w.now, a, func(r JoinResult) {
		if res.got {
			w.t.Fatalf("join answered twice: %+v", r)
		}
		res.got, res.r = true, r
	})
	return res
}

// member joins g the v4+ way (MEMBER_ID_REQUIRED, then again with the id)
// and returns the parked second join.
func (w *world) member(g, client string) *joinRes {
	first := w.join(JoinArgs{Group: g, ClientID: client})
	if !first.got || first.r.Code != 79 { // MEMBER_ID_REQUIRED
		w.t.Fatalf("first join: %+v", first)
	}
	return w.join(JoinArgs{Group: g, ClientID: client, MemberID: first.r.MemberID})
}

type syncRes struct {
	got bool
	r   SyncResult
}

func (w *world) sync(g string, gen int32, member string, as []Assignment) *syncRes {
	res := &syncRes{}
	w.c.Sync(w.now, SyncArgs{Group: g, Generation: gen, MemberID: member, Assignments: as}, func(r SyncResult) {
		if res.got {
			w.t.Fatalf("sync answered twice")
		}
		res.got, res.r = true, r
	})
	return res
}

func (w *world) state(g string) string { return w.c.Describe(g).State }
