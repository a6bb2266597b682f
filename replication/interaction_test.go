package replication_test

// Goal: Partition's behaviour as readable transcripts (STYLE rule 25). Each
// testdata/interaction/*.txt file drives one partition through the harness and prints
// every Ready; a behaviour change shows as a diff. Accept a reviewed change
// with `go test ./replication/ -run TestInteraction -rewrite`.
//
// Commands (times are harness milliseconds; `now=` on any event command
// moves the clock first):
//
//	init [epoch=] [tail-bytes=] [persist-bytes=] [checkpoint-ms=]
//	     [retention-check-ms=] [retention-ms=] [retention-bytes=] [chunk=]
//	     [log-append-time]
//	recovered start= end=
//	produce id= acks= records= [bytes=]
//	written [op=] upto= [err=nospace|failed]   op defaults to the in-flight one
//	synced [op=] [upto=] [err=eio]             upto defaults to the written end
//	fetch id= from= max-bytes= [min-bytes=] [deadline=]
//	read-done id= [err=corrupt|eio|out-of-range]
//	background-done task= start= [more] [err=corrupt]
//	tick now=
//	ready                                      the Ready as it stands
//	state                                      high watermark and log start
//
// Every event command prints the Ready that follows it (then advances);
// the harness's invariant checks run on each.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata/interaction", func(t *testing.T, path string) {
		var h *harness
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "init" {
				h = newHarness(t, initConfig(t, d))
				return "ok\n"
			}
			if h == nil {
				d.Fatalf(t, "init first")
			}
			h.t = t
			return runCommand(t, h, d)
		})
	})
}

func initConfig(t *testing.T, d *datadriven.TestData) replication.PartitionConfig {
	cfg := testConfig()
	var epoch int
	if d.MaybeScanArgs(t, "epoch", &epoch) {
		cfg.Epoch = storage.Epoch(epoch)
	}
	d.MaybeScanArgs(t, "tail-bytes", &cfg.TailBytesMax)
	d.MaybeScanArgs(t, "persist-bytes", &cfg.PersistBytesMax)
	d.MaybeScanArgs(t, "checkpoint-ms", &cfg.CheckpointIntervalMs)
	d.MaybeScanArgs(t, "retention-check-ms", &cfg.RetentionCheckIntervalMs)
	d.MaybeScanArgs(t, "retention-ms", &cfg.RetentionMs)
	d.MaybeScanArgs(t, "retention-bytes", &cfg.RetentionBytes)
	d.MaybeScanArgs(t, "chunk", &cfg.RetentionChunkSegments)
	cfg.LogAppendTime = d.HasArg("log-append-time")
	return cfg
}

// runCommand runs one event command and returns the Ready it produced.
func runCommand(t *testing.T, h *harness, d *datadriven.TestData) string {
	var now int64
	if d.MaybeScanArgs(t, "now", &now) {
		h.at(now)
	}
	before := h.out.Len()
	switch d.Cmd {
	case "recovered":
		var start, end int64
		d.ScanArgs(t, "start", &start)
		d.ScanArgs(t, "end", &end)
		h.recovered(storage.Offset(start), storage.Offset(end))
	case "produce":
		var id uint64
		var acks, records int
		bytes := 10
		d.ScanArgs(t, "id", &id)
		d.ScanArgs(t, "acks", &acks)
		d.ScanArgs(t, "records", &records)
		d.MaybeScanArgs(t, "bytes", &bytes)
		h.produce(replication.RequestID(id), int16(acks), records, bytes)
	case "written":
		checkOp(t, h, d)
		var upTo int64
		d.ScanArgs(t, "upto", &upTo)
		h.written(storage.Offset(upTo), completionErr(t, d))
	case "synced":
		checkOp(t, h, d)
		var upTo int64
		if d.MaybeScanArgs(t, "upto", &upTo) && storage.Offset(upTo) != h.diskEnd {
			d.Fatalf(t, "synced upto=%d, but the written end is %d", upTo, h.diskEnd)
		}
		h.synced(completionErr(t, d))
	case "fetch":
		var id uint64
		var from, deadline int64
		var maxBytes, minBytes int
		d.ScanArgs(t, "id", &id)
		d.ScanArgs(t, "from", &from)
		d.ScanArgs(t, "max-bytes", &maxBytes)
		d.MaybeScanArgs(t, "min-bytes", &minBytes)
		d.MaybeScanArgs(t, "deadline", &deadline)
		h.fetch(replication.RequestID(id), storage.Offset(from), maxBytes, minBytes, deadline)
	case "read-done":
		var id uint64
		d.ScanArgs(t, "id", &id)
		h.readDone(replication.RequestID(id), completionErr(t, d))
	case "background-done":
		var task uint64
		var start int64
		d.ScanArgs(t, "task", &task)
		d.ScanArgs(t, "start", &start)
		h.backgroundDone(task, storage.Offset(start), d.HasArg("more"), completionErr(t, d))
	case "tick":
		h.step(replication.Tick{Now: h.now})
	case "ready":
		h.ready()
	case "state":
		return fmt.Sprintf("hw=%d start=%d\n", h.p.HighWatermark(), h.p.LogStart())
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
	}
	return h.out.String()[before:]
}

func checkOp(t *testing.T, h *harness, d *datadriven.TestData) {
	var op uint64
	if !d.MaybeScanArgs(t, "op", &op) {
		return
	}
	if h.inflight == nil || h.inflight.Op != op {
		d.Fatalf(t, "op=%d is not the Persist in flight", op)
	}
}

// completionErr builds the error named by err=, as the executor would see
// it from storage.
func completionErr(t *testing.T, d *datadriven.TestData) error {
	var name string
	if !d.MaybeScanArgs(t, "err", &name) {
		return nil
	}
	switch strings.ToLower(name) {
	case "nospace":
		return errNoSpace
	case "failed":
		return fmt.Errorf("%w: earlier corruption", storage.ErrFailed)
	case "eio":
		return fmt.Errorf("fsync: %w", env.ErrIO)
	case "corrupt":
		return fmt.Errorf("%w: crc mismatch", storage.ErrCorrupt)
	case "out-of-range":
		return fmt.Errorf("%w: below the start", storage.ErrOffsetOutOfRange)
	}
	d.Fatalf(t, "unknown err=%s", name)
	return nil
}
