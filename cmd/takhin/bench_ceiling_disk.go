package main

// The disk ceiling: the ceiling broker (bench_ceiling.go) made durable the
// simplest way. Each produced partition's record batches are appended, as
// received, to one file per partition, whose own goroutine syncs whatever
// was written since its last sync (a group commit across connections and
// pipelined requests); an acks=all answer leaves once the syncs covering
// its batches returned, an acks=1 answer once they are written, always in
// request order. A connection's next requests are decoded and written
// while earlier ones wait for their sync. Writes and syncs go through
// driver/osfs, the calls Takhin's log makes (fdatasync on Linux). There is
// no validation, no index, no checkpoint, no producer state.
//
// It is a reference, not a proof of a bound: it shows what appending and
// syncing alone cost on this disk and these cores (the empirical side of
// the "what the fsync latency allows"). Its design is not optimal
// everywhere: writes may land in pages a concurrent sync is writing back,
// and wait for it, where Takhin's executor never writes and syncs a
// partition at once and writes everything queued in one call, so Takhin
// can beat it (at 1 KiB, acks=1 most of all).

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/driver/osfs"
	"github.com/takhin-io/takhin/env"
)

const brokerDiskCeiling = "disk-ceiling"

// diskCeilingPipeline bounds the requests of one connection between
// decoding and answering (a client pipelines up to five).
const diskCeilingPipeline = 5

// diskLogs are the disk ceiling's partition files, shared by every
// connection.
type diskLogs struct {
	fs    env.FS
	mu    sync.Mutex
	files map[string]*diskLog
	wg    sync.WaitGroup
	// closed: close was called; no new log (and syncer) is started.
	closed bool
	// syncs holds how long each sync took since the last takeSyncs: the
	// disk's fsync latency under the load being measured, where the probe
	// (bench_fsync.go) measures it on an idle disk.
	syncs []time.Duration
}

// takeSyncs returns the sync durations recorded since the last call.
func (d *diskLogs) takeSyncs() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.syncs
	d.syncs = nil
	return out
}

func (d *diskLogs) recordSync(took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.syncs = append(d.syncs, took)
}

// diskLog is one partition file and its syncer's state.
type diskLog struct {
	f       env.File
	owner   *diskLogs
	mu      sync.Mutex
	cond    *sync.Cond // signalled when written or synced moves, or on close
	written int64      // bytes appended
	synced  int64      // bytes known durable
	err     error      // a failed write or sync: every later wait fails
	closed  bool
}

func startDiskCeilingBroker(dir string) (*benchBroker, error) {
	disk := &diskLogs{fs: osfs.New(dir), files: map[string]*diskLog{}}
	c, err := startCeiling("127.0.0.1:0", disk)
	if err != nil {
		return nil, fmt.Errorf("disk ceiling: %w", err)
	}
	stop := func() error { err := c.Close(); disk.close(); return err }
	return &benchBroker{name: brokerDiskCeiling, describe: "in-process, appends and group-syncs, nothing else",
		produceOnly: true, addr: c.Addr(), stop: stop,
		syncs: func() ([]time.Duration, error) { return disk.takeSyncs(), nil }}, nil
}

// get returns the partition's log, creating it and its syncer.
func (d *diskLogs) get(topic string, partition int32) (*diskLog, error) {
	name := fmt.Sprintf("%s-%d.log", topic, partition)
	d.mu.Lock()
	defer d.mu.Unlock()
	if l := d.files[name]; l != nil {
		return l, nil
	}
	if d.closed {
		return nil, net.ErrClosed
	}
	f, err := d.fs.Create(name)
	if err != nil {
		return nil, err
	}
	// A new file's name is durable only once its directory is synced, as
	// the log does for a new segment.
	if err := d.fs.SyncDir("."); err != nil {
		_ = f.Close()
		return nil, err
	}
	l := &diskLog{f: f, owner: d}
	l.cond = sync.NewCond(&l.mu)
	d.files[name] = l
	d.wg.Add(1)
	go func() { defer d.wg.Done(); l.syncLoop() }()
	return l, nil
}

func (d *diskLogs) close() {
	d.mu.Lock()
	d.closed = true
	for _, l := range d.files {
		l.mu.Lock()
		l.closed = true
		l.cond.Broadcast()
		l.mu.Unlock()
	}
	d.mu.Unlock()
	d.wg.Wait()
	for _, l := range d.files {
		_ = l.f.Close()
	}
}

// append writes b and returns the end a sync must reach to cover it.
func (l *diskLog) append(b []byte) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	if _, err := l.f.Write(b); err != nil {
		l.err = err
		return 0, err
	}
	l.written += int64(len(b))
	l.cond.Broadcast()
	return l.written, nil
}

// syncLoop syncs whatever was written since the last sync, until closed.
func (l *diskLog) syncLoop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		for !l.closed && l.err == nil && l.synced == l.written {
			l.cond.Wait()
		}
		if l.closed || l.err != nil {
			return
		}
		upTo := l.written
		l.mu.Unlock()
		began := time.Now()
		err := l.f.Sync()
		l.owner.recordSync(time.Since(began))
		l.mu.Lock()
		if err != nil {
			l.err = err
		} else {
			l.synced = upTo
		}
		l.cond.Broadcast()
	}
}

// waitSynced blocks until a sync covered upTo.
func (l *diskLog) waitSynced(upTo int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.synced < upTo && l.err == nil && !l.closed {
		l.cond.Wait()
	}
	if l.synced >= upTo {
		return nil
	}
	if l.err != nil {
		return l.err
	}
	return net.ErrClosed
}

// pendingAnswer is one decoded request waiting to be answered: its frame,
// and for acks=all the sync each touched log must reach first.
type pendingAnswer struct {
	frame []byte
	logs  []*diskLog
	upTo  []int64
}

// serveDurable is serve for the disk ceiling: this goroutine decodes and
// writes, a reader goroutine frames the connection, an answerer goroutine
// waits for each request's syncs and writes the answers in order.
func (c *ceiling) serveDurable(conn net.Conn) {
	frames, done, readerDone := make(chan []byte, diskCeilingPipeline), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readerDone)
		readFrames(conn, frames, done)
	}()
	defer func() { // the reader ends before serve does: Close waits for it
		close(done)
		conn.Close()
		<-readerDone
	}()
	answers := make(chan pendingAnswer, diskCeilingPipeline)
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		answerInOrder(conn, answers)
	}()
	defer func() { close(answers); <-answered }()
	for frame := range frames {
		a, err := c.decodeAndWrite(frame)
		if err != nil {
			return
		}
		answers <- a
	}
}

// readFrames sends each frame of conn to frames until the connection ends
// or done closes.
func readFrames(conn net.Conn, frames chan<- []byte, done <-chan struct{}) {
	defer close(frames)
	in := bufio.NewReaderSize(conn, 64<<10)
	for {
		frame, err := readFrame(in, nil) // a buffer of its own: it is queued
		if err != nil {
			return
		}
		select {
		case frames <- frame:
		case <-done:
			return
		}
	}
}

// answerInOrder writes each answer once its syncs returned; after an error
// it drains the rest unanswered (the connection is being closed).
func answerInOrder(conn net.Conn, answers <-chan pendingAnswer) {
	failed := false
	for a := range answers {
		for i, l := range a.logs {
			failed = failed || l.waitSynced(a.upTo[i]) != nil
		}
		if !failed && len(a.frame) > 0 {
			_, err := conn.Write(a.frame)
			failed = err != nil
		}
		if failed {
			conn.Close()
		}
	}
}

// decodeAndWrite answers frame and appends a Produce's batches to their
// partitions' logs; an acks=all answer carries the syncs it waits for.
func (c *ceiling) decodeAndWrite(frame []byte) (pendingAnswer, error) {
	out, err := c.answer(nil, frame)
	if err != nil {
		return pendingAnswer{}, err
	}
	a := pendingAnswer{frame: out}
	hdr, body, err := broker.ParseRequest(frame)
	if err != nil || hdr.APIKey != 0 {
		return a, nil
	}
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(hdr.APIVersion)
	if err := req.ReadFrom(body); err != nil {
		return pendingAnswer{}, err
	}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			l, err := c.disk.get(t.Topic, p.Partition)
			if err != nil {
				return pendingAnswer{}, err
			}
			upTo, err := l.append(p.Records)
			if err != nil {
				return pendingAnswer{}, err
			}
			if req.Acks == -1 {
				a.logs, a.upTo = append(a.logs, l), append(a.upTo, upTo)
			}
		}
	}
	return a, nil
}
