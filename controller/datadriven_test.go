package controller

// The interaction tests: testdata/*.txt script the controller through the
// harness (start, propose, write, sync, crash, tick, corrupt) and record
// every Ready it emits, so a change of behaviour reads as a diff. Run with
// -rewrite to accept a change, then review the diff.
//
// Commands:
//
//	start seed=N node=N [queued-max=N] [batch-records-max=N] [record-bytes-max=N] [backoff-ms=N]
//	propose          one change per input line:
//	    create-topic id=N name=S partitions=N [configs=(k=v, …)] [validate-only]
//	    delete-topic id=N [name=S] [topic-id=UUID|of=S]
//	    create-partitions id=N name=S count=N [validate-only]
//	    alter-configs id=N (topic=S|broker=S) [set=(k=v, …)] [delete=(k, …)] [validate-only]
//	    allocate-producer-ids id=N count=N
//	write [nospace]  the write half of the Persist in flight
//	sync             its sync half
//	stabilize        write and sync until nothing is in flight
//	crash [keep]     power loss; keep: the unsynced batches survive
//	tick ms=N        time passes; Tick
//	image            the controller's applied image
//	corrupt offset=N value=S   rewrite a durable record's value (valid CRC)

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/takhin-io/takhin/env"
)

func TestInteractions(t *testing.T) {
	// Only testdata/*.txt: testdata/fuzz holds the fuzzers' corpora.
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			h := newHarness(t)
			datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
				h.t = t
				return h.handle(td)
			})
		})
	}
}

func (h *harness) handle(td *datadriven.TestData) string {
	switch td.Cmd {
	case "start":
		return h.handleStart(td)
	case "propose":
		return h.handlePropose(td)
	case "write":
		if td.HasArg("nospace") {
			return h.write(fmt.Errorf("storage: write segment: %w", env.ErrNoSpace))
		}
		return h.write(nil)
	case "sync":
		return h.sync()
	case "stabilize":
		return h.stabilize()
	case "crash":
		h.crash(td.HasArg("keep"))
		return fmt.Sprintf("log end %d\n", h.synced)
	case "tick":
		var ms int64
		td.ScanArgs(h.t, "ms", &ms)
		return h.tick(ms)
	case "image":
		return h.c.Image().String()
	case "corrupt":
		return h.handleCorrupt(td)
	default:
		h.t.Fatalf("unknown command %q", td.Cmd)
		return ""
	}
}

func (h *harness) handleStart(td *datadriven.TestData) string {
	var seed uint64
	var node int32
	td.ScanArgs(h.t, "seed", &seed)
	td.ScanArgs(h.t, "node", &node)
	cfg := DefaultConfig(node)
	td.MaybeScanArgs(h.t, "queued-max", &cfg.QueuedMax)
	td.MaybeScanArgs(h.t, "batch-records-max", &cfg.BatchRecordsMax)
	td.MaybeScanArgs(h.t, "record-bytes-max", &cfg.RecordBytesMax)
	td.MaybeScanArgs(h.t, "backoff-ms", &cfg.RetryBackoffMs)
	return h.start(seed, cfg)
}

func (h *harness) handlePropose(td *datadriven.TestData) string {
	for _, line := range strings.Split(strings.TrimSpace(td.Input), "\n") {
		cmd, args, err := datadriven.ParseLine(line)
		if err != nil {
			h.t.Fatal(err)
		}
		a := argMap(args)
		id, err := strconv.ParseUint(a.get(h.t, "id"), 10, 64)
		if err != nil {
			h.t.Fatalf("%s: id: %v", line, err)
		}
		h.propose(RequestID(id), h.parseChange(cmd, a))
	}
	return h.drain()
}

type args map[string][]string

func argMap(list []datadriven.CmdArg) args {
	a := args{}
	for _, arg := range list {
		a[arg.Key] = arg.Vals
	}
	return a
}

func (a args) get(t testing.TB, key string) string {
	t.Helper()
	v, ok := a[key]
	if !ok || len(v) != 1 {
		t.Fatalf("want one %s=", key)
	}
	return v[0]
}

func (a args) int(t testing.TB, key string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(a.get(t, key), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return n
}

func (a args) configs(key string) []ConfigEntry {
	var out []ConfigEntry
	for _, kv := range a[key] {
		name, value, _ := strings.Cut(kv, "=")
		out = append(out, ConfigEntry{Name: name, Value: value})
	}
	return out
}

func (h *harness) parseChange(cmd string, a args) Change {
	_, validateOnly := a["validate-only"]
	switch cmd {
	case "create-topic":
		return CreateTopic{Name: a.get(h.t, "name"), Partitions: int32(a.int(h.t, "partitions")),
			Configs: a.configs("configs"), ValidateOnly: validateOnly}
	case "delete-topic":
		return h.parseDeleteTopic(a)
	case "create-partitions":
		return CreatePartitions{Name: a.get(h.t, "name"), Count: int32(a.int(h.t, "count")), ValidateOnly: validateOnly}
	case "alter-configs":
		r := ConfigResource{Type: ResourceTopic}
		if _, ok := a["broker"]; ok {
			r = ConfigResource{Type: ResourceBroker, Name: strings.Join(a["broker"], "")}
		} else {
			r.Name = a.get(h.t, "topic")
		}
		return AlterConfigs{Resource: r, Set: a.configs("set"), Delete: a["delete"], ValidateOnly: validateOnly}
	case "allocate-producer-ids":
		return AllocateProducerIDs{Count: a.int(h.t, "count")}
	default:
		h.t.Fatalf("unknown change %q", cmd)
		return nil
	}
}

func (h *harness) parseDeleteTopic(a args) Change {
	d := DeleteTopic{}
	if _, ok := a["name"]; ok {
		d.Name = a.get(h.t, "name")
	}
	if _, ok := a["topic-id"]; ok {
		id, err := ParseUUID(a.get(h.t, "topic-id"))
		if err != nil {
			h.t.Fatal(err)
		}
		d.ID = id
	}
	if _, ok := a["of"]; ok {
		t, ok := h.c.Image().Topic(a.get(h.t, "of"))
		if !ok {
			h.t.Fatalf("of=%s: no such topic in the image", a.get(h.t, "of"))
		}
		d.ID = t.ID
	}
	return d
}

// handleCorrupt rewrites the value of the durable record at offset and
// re-seals its batch (a valid CRC): what a buggy writer would leave, which
// only the record decoder can catch.
func (h *harness) handleCorrupt(td *datadriven.TestData) string {
	var offset int64
	var value string
	td.ScanArgs(h.t, "offset", &offset)
	td.ScanArgs(h.t, "value", &value)
	h.durable = rewriteRecord(h.t, h.durable, offset, []byte(value))
	return "ok\n"
}
