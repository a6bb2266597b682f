package sim

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/linearizability"
	"github.com/takhin-io/takhin/sim/simnet"
	"github.com/takhin-io/takhin/storage"
)

// kclient is a deterministic Kafka client speaking the real protocol (kmsg
// frames over simnet) to the node's broker, following kgo's rules: an
// idempotent producer (acks=all) retrying a batch with its sequence until
// it is answered, a consumer polling partitions from its position, and a
// list-offsets caller. One request at a time; every logical operation is
// recorded in the history, from its first attempt to its final outcome.
type kclient struct {
	w    *world
	net  *simnet.Net
	n    *node
	id   int
	name string
	rng  *env.Rand
	hist *linearizability.History
	rc   *retentionChecker

	conn      env.ConnID
	connected bool
	dialing   bool
	corr      int32
	waiting   *kcall // the request in flight
	op        *kop   // the logical operation in progress
	fmt       *kmsg.RequestFormatter

	created bool  // the topic exists (this client created it or saw it exists)
	pid     int64 // -1 until InitProducerId answered
	// draining: the run's last phase, with faults off: read every
	// partition to the end found by ListOffsets, then stop.
	draining  bool
	latest    map[int32]int64
	drained   bool
	seq       map[int32]int32
	positions map[int32]int64
	sends     int
	ackedMax  map[int32]int64 // the highest offset acknowledged to it, per partition
}

// kcall is one request in flight.
type kcall struct {
	corr int32
	req  kmsg.Request
	on   func(kmsg.Response)
}

// kop is one logical operation and its attempts.
type kop struct {
	hid       linearizability.OpID
	partition int32
	batch     []byte // a produce's; nil for reads
	attempts  int
	record    ackedRecord // a produce's record
	// knownStart is, for a poll, the log start clients had been told when
	// it was sent: it must not be served below it.
	knownStart int64
}

const (
	kTopic         = "sim"
	kPartitions    = 2
	kAttemptsMax   = 8
	kProduceKey    = 0
	kRequestTimeMs = 5_000
)

func newKClient(w *world, net *simnet.Net, n *node, id int, seed uint64, hist *linearizability.History, rc *retentionChecker) *kclient {
	c := &kclient{w: w, net: net, n: n, id: id, name: fmt.Sprintf("client-%d", id), hist: hist, rc: rc,
		rng: env.NewRand(seed, fmt.Sprintf("client-%d", id)), pid: -1, seq: map[int32]int32{}, positions: map[int32]int64{},
		latest: map[int32]int64{}, ackedMax: map[int32]int64{},
		fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID(fmt.Sprintf("client-%d", id)))}
	net.Attach(c.name, c.event)
	return c
}

func (c *kclient) key(p int32) string { return linearizability.PartitionKey(kTopic, p) }

// tick starts the next operation when idle, and schedules itself.
func (c *kclient) tick() {
	c.w.schedule(c.w.now+1_000*(50+c.rng.Int64N(500)), nil, c.tick)
	switch {
	case !c.connected && !c.dialing:
		c.dial()
	case c.connected && c.waiting == nil && c.op == nil:
		c.start()
	}
}

func (c *kclient) dial() {
	id, err := c.net.Dial(c.name, c.n.name())
	if err != nil {
		return
	}
	c.conn, c.dialing = id, true
}

func (c *kclient) event(ev simnet.Event) {
	switch e := ev.(type) {
	case simnet.ConnOpened:
		if e.Conn == c.conn {
			c.connected, c.dialing = true, false
			c.w.schedule(c.w.now, nil, c.resume)
		}
	case simnet.FrameIn:
		if e.Conn == c.conn {
			c.response(e.Frame)
		}
	case simnet.ConnClosed:
		if e.Conn == c.conn {
			c.disconnected()
		}
	}
}

// disconnected forgets the connection: a read that got no answer took no
// effect; a produce stays, to be retried on the next connection.
func (c *kclient) disconnected() {
	c.connected, c.dialing, c.waiting = false, false, nil
	c.w.record("client-disconnected", int64(c.id))
	if c.op != nil && c.op.batch == nil {
		c.hist.Complete(c.op.hid, linearizability.Failed, linearizability.Reply{}, c.w.now)
		c.op = nil
	}
}

// resume retries the produce a broken connection interrupted (only a
// produce survives a disconnection: see disconnected).
func (c *kclient) resume() {
	if c.op != nil && c.op.batch != nil && c.connected && c.waiting == nil {
		c.attempt()
	}
}

// start picks the next operation: produce, poll or list offsets.
func (c *kclient) start() {
	p := int32(c.rng.IntN(kPartitions))
	// A client whose topic was never created (disk-full episodes can fail
	// every CreateTopics of a run) creates it before draining: the
	// topic's creation after the faults stop is part of the liveness the
	// drain checks.
	if c.draining && c.created {
		c.drain()
		return
	}
	switch r := c.rng.IntN(10); {
	case !c.created:
		c.createTopic()
	case c.pid < 0:
		c.send(kmsg.NewPtrInitProducerIDRequest(), func(resp kmsg.Response) {
			if r := resp.(*kmsg.InitProducerIDResponse); r.ErrorCode == 0 {
				c.pid = r.ProducerID
			}
		})
	case c.n.opts.DeleteRecordsPerMille > 0 && c.rng.IntN(1000) < c.n.opts.DeleteRecordsPerMille:
		c.deleteRecords(p)
	case r < 6:
		c.produce(p)
	case r < 9:
		c.poll(p)
	default:
		c.listLatest(p)
	}
}

// send writes one request on the connection.
func (c *kclient) send(req kmsg.Request, on func(kmsg.Response)) {
	c.corr++
	frame := c.fmt.AppendRequest(nil, req, c.corr)
	if err := c.net.Endpoint(c.name).Send(c.conn, frame[env.FrameHeaderBytes:]); err != nil {
		c.disconnected() // the connection broke before its ConnClosed arrived
		return
	}
	c.waiting = &kcall{corr: c.corr, req: req, on: on}
}

// response decodes a response frame: the correlation id, then a tag
// buffer for flexible responses other than ApiVersions, then the body.
func (c *kclient) response(frame []byte) {
	if call, resp, ok := takeResponse(&c.waiting, frame, c.name, c.n.sink); ok {
		call.on(resp)
	}
}

// takeResponse matches a response frame to the call in flight (*waiting,
// which it clears) and decodes it; an unexpected or undecodable frame is
// a violation.
func takeResponse(waiting **kcall, frame []byte, name string, sink sink) (*kcall, kmsg.Response, bool) {
	call := *waiting
	if call == nil || len(frame) < 4 || int32(binary.BigEndian.Uint32(frame)) != call.corr {
		sink.violation("%s: response out of order or unexpected", name)
		return nil, nil, false
	}
	*waiting = nil
	resp, err := decodeResponse(call.req, frame)
	if err != nil {
		sink.violation("%s: %v", name, err)
		return nil, nil, false
	}
	return call, resp, true
}

// decodeResponse decodes the body of a response frame to req (after its
// correlation id, which the caller checked): a tag buffer first for
// flexible responses other than ApiVersions, then the body.
func decodeResponse(req kmsg.Request, frame []byte) (kmsg.Response, error) {
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	body := frame[4:]
	if resp.IsFlexible() && req.Key() != 18 {
		if len(body) == 0 {
			return nil, fmt.Errorf("empty %s response", kmsg.NameForKey(req.Key()))
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("undecodable %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

// drain reads the partitions in turn up to their latest offset.
func (c *kclient) drain() {
	for p := int32(0); p < kPartitions; p++ {
		end, known := c.latest[p]
		switch {
		case c.n.failedPartition(fmt.Sprintf("%s-%d", kTopic, p)):
			continue // fail-stopped: drain checks it was flipped
		case !known:
			c.listLatest(p)
			return
		case c.positions[p] < end:
			c.poll(p)
			return
		}
	}
	c.drained = true
}

func (c *kclient) createTopic() {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(5)
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = kTopic, kPartitions, 1
	t.Configs = topicConfigs(c.n.opts)
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = kRequestTimeMs
	c.send(req, func(resp kmsg.Response) {
		code := resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
		c.created = code == 0 || code == kerr.TopicAlreadyExists.Code
	})
}

func (c *kclient) produce(p int32) {
	c.sends++
	rec := ackedRecord{value: fmt.Sprintf("c%d-%d", c.id, c.sends), timestampMs: c.n.trueWallMs()}
	kr := kmsg.Record{Value: []byte(rec.value)}
	if c.n.opts.Compacted {
		rec.key = fmt.Sprintf("k%d", c.rng.IntN(c.n.opts.KeySpace))
		kr.Key = []byte(rec.key)
	}
	batch := storage.EncodeBatch([]kmsg.Record{kr}, rec.timestampMs)
	storage.SetProducer(batch, c.pid, 0, c.seq[p])
	c.seq[p]++
	c.rc.sentKey[p][rec.value] = rec.key
	hid := c.hist.Invoke(c.id, linearizability.Send{Partition: c.key(p), Value: rec.value, Acks: -1, Idempotent: true, Producer: c.id,
		RecordKey: rec.key}, c.w.now)
	c.op = &kop{hid: hid, partition: p, batch: batch, record: rec}
	c.attempt()
}

// attempt sends the operation's produce request (again).
func (c *kclient) attempt() {
	op := c.op
	op.attempts++
	if op.attempts > kAttemptsMax {
		c.giveUp(op.attempts - 1)
		return
	}
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks, req.TimeoutMillis = -1, kRequestTimeMs
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = kTopic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = op.partition, append([]byte(nil), op.batch...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c.send(req, func(resp kmsg.Response) { c.produced(resp.(*kmsg.ProduceResponse)) })
}

func (c *kclient) produced(resp *kmsg.ProduceResponse) {
	op := c.op
	out := resp.Topics[0].Partitions[0]
	switch {
	case out.ErrorCode == 0:
		c.hist.Complete(op.hid, linearizability.OK, linearizability.Reply{Offset: linearizability.Offset(out.BaseOffset), Attempts: op.attempts}, c.w.now)
		c.op = nil
		c.ackedMax[op.partition] = max(c.ackedMax[op.partition], out.BaseOffset)
		c.rc.ackedSend(op.partition, out.BaseOffset, op.record)
	case linearizability.DefinitelyFailed(out.ErrorCode) && op.attempts == 1:
		c.hist.Complete(op.hid, linearizability.Failed, linearizability.Reply{Attempts: op.attempts}, c.w.now)
		c.op = nil
		c.seq[op.partition]-- // the sequence was not used: the next batch takes it
	case kerr.IsRetriable(kerr.ErrorForCode(out.ErrorCode)):
		c.w.schedule(c.w.now+1_000_000, nil, c.resume) // kgo backs off, then retries the same batch
	default:
		c.giveUp(op.attempts)
	}
}

// giveUp ends a send whose fate is unknown. As kgo does after an error it
// cannot resolve, the producer starts over with a new producer id (its
// sequences are no longer known to match the broker's).
func (c *kclient) giveUp(attempts int) {
	c.hist.Complete(c.op.hid, linearizability.Indeterminate, linearizability.Reply{Attempts: attempts}, c.w.now)
	c.op, c.pid = nil, -1
	clear(c.seq)
}

func (c *kclient) poll(p int32) {
	from := c.positions[p]
	hid := c.hist.Invoke(c.id, linearizability.Poll{Partition: c.key(p), From: linearizability.Offset(from)}, c.w.now)
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = -1, int32(c.rng.IntN(100)), 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = kTopic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = p, from, 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c.op = &kop{hid: hid, partition: p, knownStart: c.rc.durableStart[p]}
	c.send(req, func(resp kmsg.Response) { c.polled(p, from, resp.(*kmsg.FetchResponse)) })
}

func (c *kclient) polled(p int32, from int64, resp *kmsg.FetchResponse) {
	op := c.op
	c.op = nil
	if len(resp.Topics) == 0 || len(resp.Topics[0].Partitions) == 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		c.hist.Complete(op.hid, linearizability.Failed, linearizability.Reply{}, c.w.now)
		if len(resp.Topics) > 0 && len(resp.Topics[0].Partitions) > 0 {
			c.outOfRange(p, from, &resp.Topics[0].Partitions[0])
		}
		return
	}
	out := &resp.Topics[0].Partitions[0]
	if end, listed := c.latest[p]; listed && out.HighWatermark < end {
		c.logCut(p, end, out.HighWatermark)
	}
	c.checkServedStart(p, from, op.knownStart, out)
	c.rc.toldStart(p, out.LogStartOffset)
	c.rc.pollStart[op.hid] = out.LogStartOffset
	got, ok := c.records(p, out.RecordBatches)
	if !ok {
		return
	}
	c.hist.Complete(op.hid, linearizability.OK, linearizability.Reply{Records: got}, c.w.now)
}

// records decodes a fetch's batches into the records at or above the
// consumer's position, and moves the position past them. Each record
// must carry the key its value was sent with.
func (c *kclient) records(p int32, batches []byte) ([]linearizability.Record, bool) {
	var got []linearizability.Record
	for b := batches; len(b) >= storage.BatchHeaderSize; {
		h := storage.DecodeBatchHeader(b)
		if h.Size() > int64(len(b)) {
			break
		}
		if _, err := storage.ValidateBatch(b[:h.Size()]); err != nil {
			c.n.sink.violation("%s: fetched a corrupt batch at %d: %v", c.name, h.BaseOffset, err)
			return nil, false
		}
		recs, err := storage.ReadRecords(b[:h.Size()])
		if err != nil {
			c.n.sink.violation("%s: fetched an undecodable batch at %d: %v", c.name, h.BaseOffset, err)
			return nil, false
		}
		for _, r := range recs {
			off := int64(h.BaseOffset) + int64(r.OffsetDelta)
			if key, sent := c.rc.sentKey[p][string(r.Value)]; sent && key != string(r.Key) {
				c.n.sink.violation("%s: fetched %q at %d with key %q, sent with key %q", c.name, r.Value, off, r.Key, key)
			}
			if off >= c.positions[p] {
				got = append(got, linearizability.Record{Offset: linearizability.Offset(off), Value: string(r.Value)})
				c.positions[p] = off + 1
			}
		}
		// A batch compaction emptied (kept for its producer's state) moves
		// the position past it too, as Kafka's consumer does.
		c.positions[p] = max(c.positions[p], int64(h.NextOffset()))
		b = b[h.Size():]
	}
	return got, true
}

func (c *kclient) listLatest(p int32) {
	hid := c.hist.Invoke(c.id, linearizability.ListLatest{Partition: c.key(p)}, c.w.now)
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(4)
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = kTopic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c.op = &kop{hid: hid, partition: p}
	c.send(req, func(resp kmsg.Response) {
		op := c.op
		c.op = nil
		out := resp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		if out.ErrorCode != 0 {
			c.hist.Complete(op.hid, linearizability.Failed, linearizability.Reply{}, c.w.now)
			return
		}
		c.hist.Complete(op.hid, linearizability.OK, linearizability.Reply{Offset: linearizability.Offset(out.Offset)}, c.w.now)
		if c.draining {
			c.latest[p] = out.Offset
		}
	})
}
