package main

// Goal: keep `takhin bench` working. A tiny --compare runs end to end
// (every broker starts, every consume verifies, the JSON parses and holds
// every run, latency and target, the page cache probe its rounds); CPU time is read from this process and
// from a process's threads, and the goal's CPU arithmetic adds up; a single run against kfake produces,
// consumes and verifies; bad flags are refused; the value codec catches
// corruption; the ceiling counts records from batch headers; the disk
// ceiling has written and synced every acknowledged batch. Numbers are not
// asserted: they are a report.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/takhin-io/takhin/driver/osfs"
)

func TestBenchCompareTiny(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--compare", "--scale", "0.002", "--fsyncs", "20", "--format", "json",
		"--repeat", "2", "--dir", t.TempDir(), "--timeout", "2m"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, errOut.String(), out.String())
	}
	var rep compareReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("the JSON does not parse: %v\n%s", err, out.String())
	}
	if len(rep.Brokers) != 4 || rep.Fsync.Samples != 20 || len(rep.Errors) != 0 {
		t.Fatalf("brokers %+v, fsync %+v, errors %v", rep.Brokers, rep.Fsync, rep.Errors)
	}
	if pc := rep.PageCache; pc.Bytes != 1<<20 || len(pc.KeptCPUMs) != pageCacheProbeFiles {
		t.Errorf("page cache probe %+v, want %d rounds of 1 MiB at this scale", pc, pageCacheProbeFiles)
	}
	if want := 4 * len(compareSizes) * len(compareAcks); len(rep.Runs) != want {
		t.Fatalf("%d runs, want %d", len(rep.Runs), want)
	}
	for _, r := range rep.Runs {
		if r.Produce == nil || r.Produce.Errors != 0 || r.Produce.RecordsPerSec <= 0 || len(r.ProduceRuns) != 2 {
			t.Errorf("%s %s: produce %+v", r.Broker, r.Workload.Topic, r.Produce)
		}
		if cpu := r.Produce.CPU; runtime.GOOS == "linux" && (cpu == nil || cpu.BenchSeconds <= 0 || cpu.BrokerSeparate) {
			t.Errorf("%s %s: produce CPU %+v, want this process's time alone (every broker runs in it)", r.Broker, r.Workload.Topic, cpu)
		}
		consumed := r.Consume != nil && r.Consume.Verified && r.Consume.Records == r.Workload.Records
		if consumed != (r.Broker != brokerCeiling && r.Broker != brokerDiskCeiling) {
			t.Errorf("%s %s: consume %+v", r.Broker, r.Workload.Topic, r.Consume)
		}
	}
	for _, l := range rep.Latency {
		if l.Latency == nil || l.Latency.Samples == 0 || l.Latency.P99Ms < l.Latency.P50Ms {
			t.Errorf("%s: latency %+v", l.Broker, l.Latency)
		}
		if loaded := l.LoadedFsync != nil && l.LoadedFsync.Samples > 0; loaded != (l.Broker == brokerDiskCeiling) {
			t.Errorf("%s: syncs under load %+v", l.Broker, l.LoadedFsync)
		}
	}
	if want := 2*len(compareSizes)*len(compareAcks) + 1; len(rep.Targets) != want {
		t.Errorf("%d targets, want %d", len(rep.Targets), want)
	}
	for _, tg := range rep.Targets {
		if tg.Detail == "not measured" {
			t.Errorf("target %q was not measured", tg.Name)
		}
	}
}

func TestBenchSingleAgainstKfake(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--brokers", c.ListenAddrs()[0], "--records", "1000", "--record-bytes", "64",
		"--acks", "1", "--codec", "snappy", "--consume", "--rate", "20000", "--latency", "--format", "json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep singleReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Consume == nil || !rep.Consume.Verified || rep.Produce.Latency == nil || rep.Produce.Inflight != 5 {
		t.Fatalf("%+v", rep)
	}
	out.Reset()
	if code := run([]string{"bench", "--brokers", c.ListenAddrs()[0], "--records", "100", "--consume"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "verified=true") {
		t.Fatalf("text run: exit %d\n%s", code, out.String())
	}
}

func TestBenchFlagsRefused(t *testing.T) {
	for name, args := range map[string][]string{
		"neither brokers nor compare":  {},
		"both":                         {"--compare", "--brokers", "x:1"},
		"small records":                {"--brokers", "x:1", "--record-bytes", "15"},
		"acks 0":                       {"--brokers", "x:1", "--acks", "0"},
		"codec":                        {"--brokers", "x:1", "--codec", "zstd"},
		"latency without rate":         {"--brokers", "x:1", "--latency"},
		"scale":                        {"--compare", "--scale", "2"},
		"format":                       {"--compare", "--format", "xml"},
		"references":                   {"--compare", "--references", "elsewhere"},
		"serve-reference with compare": {"--compare", "--serve-reference", "ceiling"},
		"process references beside an in-process takhin": {"--compare", "--references", "process"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(append([]string{"bench"}, args...), &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
		})
	}
}

func TestBenchValues(t *testing.T) {
	m := valueMaker{size: 100}
	for seq := range uint64(1000) {
		v := m.value(seq)
		if got, err := checkValue(v, 100); err != nil || got != seq {
			t.Fatalf("seq %d: %d %v", seq, got, err)
		}
	}
	v := m.value(7)
	for name, bad := range map[string][]byte{
		"short":          v[:99],
		"flipped filler": append(append([]byte{}, v[:50]...), append([]byte{v[50] ^ 1}, v[51:]...)...),
		"other tail":     append(append([]byte{}, v[:92]...), binary.BigEndian.AppendUint64(nil, 8)...),
	} {
		if _, err := checkValue(bad, 100); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBenchBatchRecords(t *testing.T) {
	batch := func(lastOffsetDelta int32, extra int) []byte {
		b := make([]byte, 61+extra)
		binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
		binary.BigEndian.PutUint32(b[23:], uint32(lastOffsetDelta))
		return b
	}
	two := append(batch(9, 5), batch(0, 0)...)
	for name, c := range map[string]struct {
		in   []byte
		want int64
	}{
		"empty":       {nil, 0},
		"one":         {batch(4, 10), 5},
		"two":         {two, 11},
		"cut short":   {two[:len(two)-1], 10},
		"bad length":  {append(batch(3, 0)[:8], 0xff, 0xff, 0xff, 0xff), 0},
		"only header": {make([]byte, 60), 0},
	} {
		if got := batchRecords(c.in); got != c.want {
			t.Errorf("%s: %d records, want %d", name, got, c.want)
		}
	}
}

// Every batch the disk ceiling acknowledged with acks=all is in its
// partition's file by the time the answer arrived, byte for byte, and
// synced (the syncer's mark covers it).
func TestDiskCeilingKeepsWhatItAcknowledged(t *testing.T) {
	dir := t.TempDir()
	disk := &diskLogs{fs: osfs.New(dir), files: map[string]*diskLog{}}
	c, err := startCeiling("127.0.0.1:0", disk)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close(); disk.close() }()
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr()), kgo.DefaultProduceTopic("t"), kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	values := 0
	for i := range 200 {
		r := &kgo.Record{Partition: int32(i % 2), Value: bytes.Repeat([]byte{byte(i)}, 100)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		values += len(r.Value)
	}
	total := int64(0)
	for _, p := range []int32{0, 1} {
		l, err := c.disk.get("t", p)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("t-%d.log", p)))
		if err != nil {
			t.Fatal(err)
		}
		l.mu.Lock()
		written, synced := l.written, l.synced
		l.mu.Unlock()
		if int64(len(data)) != written || synced != written || batchRecords(data) != 100 {
			t.Errorf("partition %d: file %d bytes, written %d, synced %d, %d records", p, len(data), written, synced, batchRecords(data))
		}
		total += written
	}
	if total < int64(values) {
		t.Errorf("%d bytes written for %d bytes of values", total, values)
	}
}

func TestBenchCPUClocks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CPU accounting is Linux-only")
	}
	self0, ok := selfCPU()
	proc0, ok2 := processCPU(os.Getpid())
	if !ok || !ok2 {
		t.Fatalf("clocks unavailable: self %v, process %v", ok, ok2)
	}
	// Burn 50 ms of CPU by this process's own clock; the threads' clock
	// must see (nearly) all of it too.
	x := uint64(1)
	for {
		for range 1 << 16 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if self, _ := selfCPU(); self-self0 >= 50*time.Millisecond {
			break
		}
	}
	proc1, _ := processCPU(os.Getpid())
	if got := proc1 - proc0; got < 40*time.Millisecond {
		t.Fatalf("the threads' clock advanced %v while this process burnt 50 ms (x=%d)", got, x)
	}
	if _, ok := processCPU(-1); ok {
		t.Fatal("processCPU of no process reported a time")
	}
}

func TestBenchCPUBudget(t *testing.T) {
	p := &produceResult{Records: 100, Seconds: 0.25,
		CPU: &cpuUsage{BenchSeconds: 0.15, BrokerSeconds: 0.25, BrokerSeparate: true, Cores: 2}}
	// At a goal of 1000 records/s the run lasts 0.1 s: 0.2 core-s on 2
	// cores, 0.15 of them the client's, so 0.05 are left for the broker;
	// the run used 0.4 of 2 x 0.25 core-s.
	got := cpuBudget(1000, p, &cpuUsage{BenchSeconds: 0.125})
	for _, want := range []string{"the ceiling's run used 0.12 core-s", "the run lasts 0.100 s, 0.20 core-s on 2 cores", "the client used 0.15",
		"at most 0.05 with perfect overlap", "takhin serve used 0.25", "the two used 80% of 2 cores"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	p.CPU.BrokerSeparate = false
	if got := cpuBudget(1000, p, nil); got != "" {
		t.Errorf("an in-process broker got a budget: %q", got)
	}
	if got, want := cpuCell(&cpuUsage{BenchSeconds: 0.5, BrokerSeconds: 0.25, BrokerSeparate: true}), "0.75 = 0.50+0.25"; got != want {
		t.Errorf("cpuCell = %q, want %q", got, want)
	}
}

// TestBenchCompareReferenceProcesses: with --binary, every reference runs
// in a process of its own (the built binary's `bench --serve-reference`),
// its CPU read apart from the client's, and the disk ceiling's syncs come
// back over its stdin/stdout.
func TestBenchCompareReferenceProcesses(t *testing.T) {
	bin := procBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "--compare", "--binary", bin, "--scale", "0.002", "--fsyncs", "20",
		"--format", "json", "--repeat", "1", "--dir", t.TempDir(), "--timeout", "2m")
	cmd.WaitDelay = 10 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, errOut.String())
	}
	var rep compareReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("the JSON does not parse: %v\n%s", err, out.String())
	}
	if len(rep.Brokers) != 4 || len(rep.Errors) != 0 || rep.References != referencesProcess {
		t.Fatalf("brokers %+v, errors %v, references %q", rep.Brokers, rep.Errors, rep.References)
	}
	for _, b := range rep.Brokers {
		if b.Name != brokerTakhin && !strings.HasPrefix(b.Describe, "process, ") {
			t.Errorf("%s runs %q, want a process", b.Name, b.Describe)
		}
	}
	for _, r := range rep.Runs {
		if r.Produce == nil || r.Produce.Errors != 0 {
			t.Fatalf("%s %s: produce %+v", r.Broker, r.Workload.Topic, r.Produce)
		}
		if cpu := r.Produce.CPU; runtime.GOOS == "linux" && (cpu == nil || !cpu.BrokerSeparate || cpu.BrokerSeconds <= 0) {
			t.Errorf("%s %s: produce CPU %+v, want the broker process's apart", r.Broker, r.Workload.Topic, cpu)
		}
	}
	for _, l := range rep.Latency {
		if loaded := l.LoadedFsync != nil && l.LoadedFsync.Samples > 0; loaded != (l.Broker == brokerDiskCeiling) {
			t.Errorf("%s: syncs under load %+v", l.Broker, l.LoadedFsync)
		}
	}
}

// TestServeReferenceStopsAtEndOfInput: the child side answers "syncs" with
// a line and stops when its stdin ends (a bench that died).
func TestServeReferenceStopsAtEndOfInput(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	t.Cleanup(func() { inW.Close() }) // a failure below still stops it
	done := make(chan int, 1)
	go func() { done <- serveReference(brokerDiskCeiling, t.TempDir(), inR, outW, io.Discard) }()
	lines := bufio.NewReader(outR)
	ready, err := lines.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(ready), "ready ")
	if err != nil || !ok {
		t.Fatalf("first line %q, %v", ready, err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		t.Fatalf("ping %s: %v", addr, err)
	}
	cl.Close()
	if _, err := io.WriteString(inW, "syncs\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := lines.ReadString('\n'); err != nil || line != "\n" {
		t.Fatalf("syncs before any produce: %q, %v", line, err)
	}
	inW.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-ctx.Done():
		t.Fatal("still serving after its stdin ended")
	}
}

func TestParseSyncs(t *testing.T) {
	got, err := parseSyncs("250000 1000000")
	if err != nil || len(got) != 2 || got[0] != 250*time.Microsecond || got[1] != time.Millisecond {
		t.Fatalf("%v, %v", got, err)
	}
	if got, err := parseSyncs(""); err != nil || len(got) != 0 {
		t.Fatalf("empty line: %v, %v", got, err)
	}
	if _, err := parseSyncs("12 x"); err == nil {
		t.Fatal("a malformed line parsed")
	}
}
