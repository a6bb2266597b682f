package main

// `takhin bench`: the project's own load tool (issue 4, "Performance").
// Against any Kafka (--brokers) it creates a topic, produces N records of B
// bytes with kgo, optionally consumes them back and verifies every value,
// and optionally measures per-record produce latency at a fixed rate. With
// --compare it runs the workloads in one process against a Takhin
// node, franz-go's in-memory kfake and a "ceiling" broker that stores
// nothing, measures this disk's fsync latency, and evaluates the issue's
// targets. The files:
//
//	bench.go          flags, dispatch, the single run against --brokers
//	bench_load.go     the record values, produce (throughput and latency)
//	bench_consume.go  consume back and verify
//	bench_compare.go  the --compare matrix and its targets
//	bench_brokers.go  the brokers --compare starts (Takhin, kfake, ceiling)
//	bench_ceiling.go  the ceiling broker: a Kafka listener that stores nothing
//	bench_ceiling_disk.go  the disk ceiling: appends and syncs, nothing else
//	bench_reference.go     the references in processes of their own
//	bench_report.go   human tables and JSON
//
// Numbers are a report, not an assertion: the exit code is non-zero only on
// a produce error, a verification failure or a broker that does not start.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// benchFlags are `takhin bench`'s flags.
type benchFlags struct {
	brokers     string
	topic       string
	records     int
	recordBytes int
	acks        string
	codec       string
	partitions  int
	replicas    int
	maxInflight int
	consume     bool
	rate        int
	latency     bool
	format      string
	timeout     time.Duration

	compare      bool
	groups       bool
	groupMembers int
	scale        float64
	binary       string
	dir          string
	fsyncs       int
	repeat       int
	cpuProfile   string
	references   string
	// serveReference: run this reference broker until stopped (the child
	// side of --references process; bench_reference.go).
	serveReference string
}

func parseBench(args []string, stderr io.Writer) (benchFlags, bool) {
	var f benchFlags
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.brokers, "brokers", "", "comma-separated host:port seed brokers (any Kafka)")
	fs.StringVar(&f.topic, "topic", "takhin-bench", "the topic; created when missing")
	fs.IntVar(&f.records, "records", 100_000, "records to produce")
	fs.IntVar(&f.recordBytes, "record-bytes", 100, "bytes per record value (at least 16)")
	fs.StringVar(&f.acks, "acks", "all", "all (idempotent, 5 in flight) or 1 (idempotence off)")
	fs.StringVar(&f.codec, "codec", "none", "none or snappy")
	fs.IntVar(&f.partitions, "partitions", 3, "partitions of a topic created by the tool")
	fs.IntVar(&f.replicas, "replication-factor", -1, "replication factor of a created topic (-1: the broker's default)")
	fs.IntVar(&f.maxInflight, "max-inflight", 5, "produce requests in flight per broker with --acks 1 (acks=all is idempotent: kgo's 5)")
	fs.BoolVar(&f.consume, "consume", false, "consume every record back by partition and verify it")
	fs.IntVar(&f.rate, "rate", 0, "produce at this many records/s (0: as fast as possible)")
	fs.BoolVar(&f.latency, "latency", false, "report per-record produce latency (Produce call to callback); needs --rate")
	fs.StringVar(&f.format, "format", "text", "text or json")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up on the whole run after this long")
	fs.BoolVar(&f.compare, "compare", false, "run the issue's workloads against Takhin, kfake and the ceiling broker")
	fs.Float64Var(&f.scale, "scale", defaultScale, "--compare: fraction of the issue's sizes (1 = 1M x 100 B and 200k x 1 KiB)")
	fs.StringVar(&f.binary, "binary", "", "--compare: run the takhin binary at `PATH` as a 'takhin serve' process instead of an in-process node")
	fs.StringVar(&f.dir, "dir", "", "--compare: where the data directory and the fsync probe go (default: the system temp dir)")
	fs.IntVar(&f.fsyncs, "fsyncs", 300, "--compare: 4 KiB write+fsync samples for the disk probe")
	fs.IntVar(&f.repeat, "repeat", 3, "--compare: run each throughput workload this many times and report the median")
	fs.BoolVar(&f.groups, "groups", false, "run the consumer-group benchmark against Takhin and kfake (see bench_groups.go)")
	fs.IntVar(&f.groupMembers, "group-members", 1000, "--groups: members (and partitions) of the time-to-stable run")
	fs.StringVar(&f.references, "references", referencesAuto,
		"--compare: where the ceiling, disk ceiling and kfake run: process (each its own, as Takhin with --binary), in-process, or auto (as Takhin runs)")
	fs.StringVar(&f.serveReference, "serve-reference", "", "run one reference broker (ceiling, disk-ceiling or kfake) until SIGTERM or the end of stdin; --compare starts these")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the bench's process here (samples labelled target=<broker>; a broker in a process of its own is not in it)")
	if fs.Parse(args) != nil {
		return f, false
	}
	if err := f.validate(); err != nil {
		fmt.Fprintln(stderr, "takhin bench:", err)
		return f, false
	}
	return f, true
}

func (f benchFlags) validate() error {
	switch {
	case f.serveReference != "":
		if f.compare || f.groups || f.brokers != "" {
			return errors.New("--serve-reference runs on its own")
		}
		return nil
	case f.references != referencesAuto && f.references != referencesProcess && f.references != referencesInProcess:
		return fmt.Errorf("--references %q: want auto, process or in-process", f.references)
	case f.references == referencesProcess && f.binary == "":
		return errors.New("--references process needs --binary: the references would run apart from an in-process Takhin")
	case f.groups && (f.compare || f.brokers != ""):
		return errors.New("--groups runs on its own, without --compare or --brokers")
	case !f.groups && f.compare == (f.brokers != ""):
		return errors.New("give exactly one of --brokers host:port, --compare or --groups")
	case f.records <= 0:
		return errors.New("--records must be positive")
	case f.recordBytes < valueBytesMin:
		return fmt.Errorf("--record-bytes must be at least %d (a sequence number at each end)", valueBytesMin)
	case f.acks != "all" && f.acks != "1":
		return fmt.Errorf("--acks %q: want all or 1", f.acks)
	case f.codec != "none" && f.codec != "snappy":
		return fmt.Errorf("--codec %q: want none or snappy", f.codec)
	case f.partitions <= 0 || f.maxInflight <= 0:
		return errors.New("--partitions and --max-inflight must be positive")
	case f.latency && f.rate <= 0:
		return errors.New("--latency needs --rate R (records/s)")
	case f.format != "text" && f.format != "json":
		return fmt.Errorf("--format %q: want text or json", f.format)
	case f.scale <= 0 || f.scale > 1:
		return errors.New("--scale must be in (0, 1]")
	case f.fsyncs <= 0 || f.repeat <= 0:
		return errors.New("--fsyncs and --repeat must be positive")
	}
	return nil
}

// runBench is `takhin bench`.
func runBench(args []string, stdout, stderr io.Writer) int {
	f, ok := parseBench(args, stderr)
	if !ok {
		return 2
	}
	if f.serveReference != "" {
		return serveReference(f.serveReference, f.dir, os.Stdin, stdout, stderr)
	}
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "takhin bench:", err)
			return 1
		}
		defer stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if f.compare {
		return runCompare(ctx, f, stdout, stderr)
	}
	if f.groups {
		if err := runGroupBench(ctx, f, stdout); err != nil {
			fmt.Fprintln(stderr, "takhin bench:", err)
			return 1
		}
		return 0
	}
	return runSingle(ctx, f, stdout, stderr)
}

func startCPUProfile(path string) (func(), error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}, nil
}

// singleReport is the JSON of a run against --brokers.
type singleReport struct {
	Brokers  []string       `json:"brokers"`
	Workload workload       `json:"workload"`
	Produce  produceResult  `json:"produce"`
	Consume  *consumeResult `json:"consume,omitempty"`
	Error    string         `json:"error,omitempty"`
	// meter reads the CPU clocks (a broker process's too, when set).
	meter cpuMeter
}

// runSingle is one workload against --brokers.
func runSingle(ctx context.Context, f benchFlags, stdout, stderr io.Writer) int {
	w := workload{
		Topic: f.topic, Records: f.records, RecordBytes: f.recordBytes, Acks: f.acks, Codec: f.codec,
		Partitions: f.partitions, ReplicationFactor: f.replicas, MaxInflight: f.maxInflight,
		Rate: f.rate, Latency: f.latency,
	}
	rep := singleReport{Brokers: strings.Split(f.brokers, ","), Workload: w}
	err := runWorkload(ctx, rep.Brokers, &rep, f.consume)
	if err != nil {
		rep.Error = err.Error()
	}
	if f.format == "json" {
		writeJSON(stdout, rep)
	} else {
		writeSingleText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(stderr, "takhin bench:", err)
		return 1
	}
	return 0
}

// runWorkload creates the topic, produces, and consumes back when asked.
func runWorkload(ctx context.Context, brokers []string, rep *singleReport, consume bool) error {
	// Start from a collected heap: the garbage of earlier runs (and, in
	// --compare, of the brokers measured before) must not be collected
	// during this one, which would charge one broker for another's run.
	runtime.GC()
	parts, err := ensureTopic(ctx, brokers, rep.Workload)
	if err != nil {
		return err
	}
	rep.Workload.Partitions = int(parts)
	var from map[int32]int64
	if consume {
		// An existing topic may hold older records: read from its ends.
		if from, err = endOffsets(ctx, brokers, rep.Workload.Topic); err != nil {
			return err
		}
	}
	rep.Produce, err = produce(ctx, brokers, rep.Workload, rep.meter)
	if err != nil || !consume {
		return err
	}
	c, err := consumeAndVerify(ctx, brokers, rep.Workload, from, rep.meter)
	rep.Consume = &c
	return err
}
