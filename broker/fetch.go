package broker

// Fetch (key 1), versions 4-17, as Kafka 4.0.1, sessionless.
//
// Every partition is read at once; if fewer than MinBytes come back and
// MaxWaitMs allows, the request long-polls: each partition is asked to
// answer when its high watermark passes the fetch offset, and the first
// such wake (or the deadline) reads every partition again and answers. Only
// data below the high watermark is served (on one node: the fsynced end),
// so read_committed and read_uncommitted agree (no transactions yet: the
// last stable offset is the high watermark). Limits: PartitionMaxBytes per
// partition and MaxBytes for the response, but always at least one whole
// batch of the first partition with data (KIP-74). Topic IDs from v13
// (UNKNOWN_TOPIC_ID). A fetch offset outside [log start, log end] is
// OFFSET_OUT_OF_RANGE; a CurrentLeaderEpoch above 0 is
// UNKNOWN_LEADER_EPOCH (one node, epoch 0). Not implemented: fetch
// sessions (KIP-227: a session id is never created, an incremental fetch
// gets FETCH_SESSION_ID_NOT_FOUND), rack-aware reads, throttling.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/internal/bufpool"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// noRecords is an empty, non-null records field: Kafka always sends one
// (MemoryRecords.EMPTY), and librdkafka, Sarama and kafka-go reject a null
// one (length -1) in non-flexible versions.
var noRecords = []byte{}

// fetchWait is a long-polling fetch.
type fetchWait struct {
	r         *request
	deadline  int64
	finished  bool
	rereading bool // a wake started the final read: later wakes are ignored
	reread    func()
}

// fetchTarget is one partition of a fetch, resolved.
type fetchTarget struct {
	topic   controller.Topic
	part    kmsg.FetchRequestTopicPartition
	out     *kmsg.FetchResponseTopicPartition
	refused bool // answered with an error already; not read
	// recycle is the buffer of the last read, when the partition read it
	// for this fetch alone (Reply.Recyclable): it goes back to bufpool
	// once the response is encoded, or once a re-read replaces it.
	recycle []byte
}

// recycleReads returns the fetch's read buffers to bufpool: the response
// holding them was encoded, so no slice of them is read again.
func recycleReads(targets []*fetchTarget) {
	for _, t := range targets {
		if t.recycle != nil {
			bufpool.Put(t.recycle)
			t.recycle = nil
		}
	}
}

func handleFetch(b *Broker, r *request) {
	req := r.kreq.(*kmsg.FetchRequest)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if req.SessionID != 0 {
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		b.respond(r, resp)
		return
	}
	targets := b.resolveFetch(r.hdr.APIVersion, req, resp)
	wait := &fetchWait{r: r}
	first := true
	var read func()
	read = func() {
		b.readAll(r, targets, func(total, errs int) {
			maxWait := min(req.MaxWaitMillis, b.cfg.FetchMaxWaitMsMax)
			if b.stopping {
				maxWait = 0
			}
			if !first || errs > 0 || total >= int(max(req.MinBytes, 1)) || maxWait <= 0 || wait.finished {
				wait.finished = true
				trimFetch(targets, int(req.MaxBytes))
				b.respond(r, resp)
				recycleReads(targets)
				return
			}
			first = false
			wait.deadline = b.now.Mono + int64(maxWait)*1_000_000
			b.fetches = append(b.fetches, wait)
			b.longPoll(r, targets, wait)
		})
	}
	wait.reread = read
	read()
}

// resolveFetch lays out the response and resolves each partition.
func (b *Broker) resolveFetch(version int16, req *kmsg.FetchRequest, resp *kmsg.FetchResponse) []*fetchTarget {
	var targets []*fetchTarget
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		var topic controller.Topic
		var ok bool
		if version >= 13 {
			if b.image != nil {
				topic, ok = b.image.TopicByID(controller.TopicID(t.TopicID))
			}
		} else {
			topic, ok = b.topic(t.Topic)
		}
		rt.Partitions = make([]kmsg.FetchResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			out := &rt.Partitions[j]
			*out = kmsg.NewFetchResponseTopicPartition()
			out.Partition, out.HighWatermark, out.LastStableOffset, out.LogStartOffset = p.Partition, -1, -1, -1
			out.RecordBatches = noRecords
			target := &fetchTarget{topic: topic, part: p, out: out}
			switch {
			case !ok && version >= 13:
				out.ErrorCode, target.refused = kerr.UnknownTopicID.Code, true
			case !ok || p.Partition < 0 || p.Partition >= topic.Partitions:
				out.ErrorCode, target.refused = kerr.UnknownTopicOrPartition.Code, true
			case p.CurrentLeaderEpoch > 0:
				out.ErrorCode, target.refused = kerr.UnknownLeaderEpoch.Code, true
			}
			targets = append(targets, target)
		}
	}
	return targets
}

// readAll reads every partition at once and calls then with the bytes
// read and the number of partitions in error (refused ones included).
func (b *Broker) readAll(r *request, targets []*fetchTarget, then func(total, errs int)) {
	total, errs := 0, 0
	g := &gather{finish: func() { then(total, errs) }}
	g.add()
	for _, t := range targets {
		if t.refused {
			errs++
			continue
		}
		g.add()
		b.toPartition(r, t.topic.ID, t.part.Partition, func(id replication.RequestID) replication.Event {
			return replication.Fetch{Now: b.now, ID: id, From: storage.Offset(t.part.FetchOffset), MaxBytes: int(t.part.PartitionMaxBytes)}
		}, func(rep replication.Reply) {
			t.out.ErrorCode = partitionCode(rep.Err)
			t.out.HighWatermark, t.out.LastStableOffset = int64(rep.HighWatermark), int64(rep.HighWatermark)
			t.out.LogStartOffset = int64(rep.LogStart)
			if t.recycle != nil { // a re-read replaces the first read
				bufpool.Put(t.recycle)
				t.recycle = nil
			}
			t.out.RecordBatches = rep.Batches
			if rep.Recyclable {
				t.recycle = rep.Batches
			}
			if t.out.RecordBatches == nil {
				t.out.RecordBatches = noRecords
			}
			total += len(rep.Batches)
			if rep.Err != nil {
				errs++
			}
			g.doneOne()
		})
	}
	g.doneOne()
}

// longPoll asks every partition to answer once it has data past the fetch
// offset, or at the deadline; the first answer with data re-reads all.
func (b *Broker) longPoll(r *request, targets []*fetchTarget, wait *fetchWait) {
	for _, t := range targets {
		if t.refused {
			continue
		}
		b.toPartition(r, t.topic.ID, t.part.Partition, func(id replication.RequestID) replication.Event {
			return replication.Fetch{Now: b.now, ID: id, From: storage.Offset(t.part.FetchOffset), MaxBytes: 1, MinBytes: 1, Deadline: wait.deadline}
		}, func(rep replication.Reply) {
			if wait.finished || (len(rep.Batches) == 0 && rep.Err == nil) {
				return
			}
			b.wake(wait)
		})
	}
}

// wake ends a long-poll: one more read of every partition, then answer.
func (b *Broker) wake(wait *fetchWait) {
	if wait.finished || wait.rereading {
		return // answered, or its final read is under way
	}
	wait.rereading = true
	b.dropFetch(wait)
	wait.reread()
}

func (b *Broker) dropFetch(wait *fetchWait) {
	kept := b.fetches[:0]
	for _, f := range b.fetches {
		if f != wait {
			kept = append(kept, f)
		}
	}
	clear(b.fetches[len(kept):])
	b.fetches = kept
}

// expireFetches wakes the long-polls whose deadline passed.
func (b *Broker) expireFetches() {
	var due []*fetchWait
	for _, f := range b.fetches {
		if f.deadline <= b.now.Mono {
			due = append(due, f)
		}
	}
	for _, f := range due {
		b.wake(f)
	}
}

// trimFetch applies the response's MaxBytes: partitions are kept in order
// while they fit, the first one with data always (KIP-74).
func trimFetch(targets []*fetchTarget, maxBytes int) {
	total := 0
	for _, t := range targets {
		n := len(t.out.RecordBatches)
		if n == 0 {
			continue
		}
		if total > 0 && total+n > maxBytes {
			t.out.RecordBatches = noRecords
			continue
		}
		total += n
	}
}
