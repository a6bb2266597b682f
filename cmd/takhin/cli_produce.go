package main

// `takhin produce TOPIC`: every line of stdin becomes a record (kgo,
// acks=all and idempotent by default). A line is the value, or key and
// value split at --key-delim, or a JSON object (--format json: the shape
// `takhin consume --format json` prints, so its output can be produced
// again), or fields of a template (--format '%k,%v'). The summary goes to
// stdout, progress to stderr.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	produceLineBytesMax = 16 << 20        // the longest stdin line accepted
	progressEvery       = 2 * time.Second // progress lines on stderr
)

// produceFlags are `takhin produce`'s own flags.
type produceFlags struct {
	keyDelim  string
	headers   listFlag
	partition int
	acks      string
	quiet     bool
	input     lineParser
}

func runProduce(args []string, stdout, stderr io.Writer) int {
	return produceFrom(os.Stdin, args, stdout, stderr)
}

// produceFrom is `takhin produce` reading records from in.
func produceFrom(in io.Reader, args []string, stdout, stderr io.Writer) int {
	c := newCLI("produce", "TOPIC [--key-delim D] [-H key=value]... [--partition N] [--acks all|1|0] [--format text|json|TEMPLATE]",
		stdout, stderr)
	var f produceFlags
	c.fs.StringVar(&f.keyDelim, "key-delim", "", "split each line at the first D into key and value (text format)")
	c.fs.Var(&f.headers, "H", "a header key=value on every record (repeatable)")
	c.fs.IntVar(&f.partition, "partition", -1, "produce to this partition (-1: kgo's sticky key partitioner)")
	c.fs.StringVar(&f.acks, "acks", "all", "all (idempotent), 1 or 0")
	c.fs.StringVar(&c.format, "format", "text",
		"input: text (a line is a value, or key and value with --key-delim), json ({\"key\",\"value\",\"headers\":[{\"key\",\"value\"}]}; the summary is JSON too), or a template of %k and %v with literal separators, e.g. '%k:%v'")
	c.fs.BoolVar(&f.quiet, "q", false, "no progress on stderr")
	pos, ok := c.parse(args, 1, 1, "one topic")
	if !ok {
		return c.exit
	}
	opts, err := f.validate(c.format)
	if err != nil {
		return c.usagef("%v", err)
	}
	cl, code := c.client(append(opts, kgo.DefaultProduceTopic(pos[0]), kgo.RecordDeliveryTimeout(c.timeout))...)
	if cl == nil {
		return code
	}
	defer cl.Close()
	if code := c.checkTopics(cl, pos[0]); code != exitOK {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.produceLines(ctx, cl, in, pos[0], f)
}

// validate checks the flags and returns the client options they imply;
// it also sets f.input from format.
func (f *produceFlags) validate(format string) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch f.acks {
	case "all":
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("--acks %q: want all, 1 or 0", f.acks)
	}
	if f.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	for _, h := range f.headers {
		if _, _, err := splitKV(h); err != nil {
			return nil, fmt.Errorf("-H %v", err)
		}
	}
	in, err := newLineParser(format, f.keyDelim)
	if err != nil {
		return nil, err
	}
	f.input = in
	return opts, nil
}

// checkTopics fails fast (exit 1) on a topic the cluster does not have,
// where kgo would retry until its timeout.
func (c *cli) checkTopics(cl *kgo.Client, topics ...string) int {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	md, err := kadm.NewClient(cl).Metadata(ctx, topics...)
	if err != nil {
		return c.fail(err)
	}
	code := exitOK
	for _, t := range unknownTopics(md, topics...) {
		code = c.failf("%s: %s", t, errText(errUnknownTopic))
	}
	return code
}

// produceTally counts acknowledgements per partition, from kgo's
// callbacks.
type produceTally struct {
	mu         sync.Mutex
	acked      int
	failed     int
	first      error
	partitions map[int32]*partitionTally
}

type partitionTally struct {
	Partition   int32 `json:"partition"`
	Records     int   `json:"records"`
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
}

func (t *produceTally) ack(r *kgo.Record, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if t.failed++; t.first == nil {
			t.first = err
		}
		return
	}
	t.acked++
	p := t.partitions[r.Partition]
	if p == nil {
		p = &partitionTally{Partition: r.Partition, FirstOffset: r.Offset, LastOffset: r.Offset}
		t.partitions[r.Partition] = p
	}
	p.Records++
	p.FirstOffset, p.LastOffset = min(p.FirstOffset, r.Offset), max(p.LastOffset, r.Offset)
}

func (t *produceTally) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.acked
}

// produceLines reads in line by line, produces each record and waits for
// every acknowledgement.
func (c *cli) produceLines(ctx context.Context, cl *kgo.Client, in io.Reader, topic string, f produceFlags) int {
	tally := &produceTally{partitions: map[int32]*partitionTally{}}
	stopProgress := c.progress(f.quiet, "records acknowledged", tally.count)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), produceLineBytesMax)
	var inputErr error
	for line := 1; sc.Scan() && ctx.Err() == nil; line++ {
		r, err := f.input(sc.Text())
		if err != nil {
			inputErr = fmt.Errorf("line %d: %w", line, err)
			break
		}
		r.Topic = topic
		for _, h := range f.headers {
			k, v, _ := splitKV(h)
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		if f.partition >= 0 {
			r.Partition = int32(f.partition)
		}
		cl.Produce(ctx, r, tally.ack)
	}
	if inputErr == nil {
		inputErr = sc.Err()
	}
	_ = cl.Flush(context.Background()) // every record ends by RecordDeliveryTimeout; its error reaches tally
	stopProgress()
	return c.produceSummary(topic, tally, inputErr)
}

// produceSummary prints what was acknowledged and returns the exit code:
// 2 for bad input (the records before it are produced), 1 if any record
// failed.
func (c *cli) produceSummary(topic string, tally *produceTally, inputErr error) int {
	var parts []partitionTally
	for _, p := range tally.partitions {
		parts = append(parts, *p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Partition < parts[j].Partition })
	if c.format == "json" {
		c.writeJSON(struct {
			Topic      string           `json:"topic"`
			Records    int              `json:"records"`
			Failed     int              `json:"failed"`
			Partitions []partitionTally `json:"partitions"`
			Error      *jsonError       `json:"error,omitempty"`
		}{topic, tally.acked, tally.failed, append([]partitionTally{}, parts...), toJSONError(tally.first, "")})
	} else {
		fmt.Fprintf(c.stdout, "produced %d records to %s", tally.acked, topic)
		if tally.failed > 0 {
			fmt.Fprintf(c.stdout, " (%d failed)", tally.failed)
		}
		fmt.Fprintln(c.stdout)
		t := newCLITable(c.stdout, "PARTITION", "RECORDS", "FIRST-OFFSET", "LAST-OFFSET")
		for _, p := range parts {
			t.row(p.Partition, p.Records, p.FirstOffset, p.LastOffset)
		}
		t.flush()
	}
	switch {
	case inputErr != nil:
		return c.usagef("stdin: %v", inputErr)
	case tally.failed > 0:
		return c.failf("%d record(s) failed, the first: %s", tally.failed, errText(tally.first))
	}
	return exitOK
}

// progress prints "N <what>" on stderr every progressEvery while count
// changes, until the returned stop is called.
func (c *cli) progress(quiet bool, what string, count func() int) (stop func()) {
	if quiet {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		last := 0
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if n := count(); n != last {
					fmt.Fprintf(c.stderr, "takhin %s: %d %s\n", c.name, n, what)
					last = n
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// lineParser turns one input line into a record (without its topic).
type lineParser func(line string) (*kgo.Record, error)

// newLineParser builds the parser for --format and --key-delim.
func newLineParser(format, keyDelim string) (lineParser, error) {
	switch {
	case format == "json":
		if keyDelim != "" {
			return nil, errors.New("--key-delim applies to the text format only")
		}
		return parseJSONLine, nil
	case format == "text":
		return func(line string) (*kgo.Record, error) {
			if keyDelim == "" {
				return &kgo.Record{Value: []byte(line)}, nil
			}
			k, v, ok := strings.Cut(line, keyDelim)
			if !ok {
				return nil, fmt.Errorf("no key delimiter %q", keyDelim)
			}
			return &kgo.Record{Key: []byte(k), Value: []byte(v)}, nil
		}, nil
	case keyDelim != "":
		return nil, errors.New("--key-delim applies to the text format only")
	}
	return templateParser(format)
}

// jsonRecord is a record as `consume --format json` prints it; produce
// reads key, value and headers and ignores the rest.
type jsonRecord struct {
	Topic     string       `json:"topic"`
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	Timestamp int64        `json:"timestamp"` // Unix milliseconds
	Key       *string      `json:"key"`       // null: no key
	Value     *string      `json:"value"`     // null: a tombstone
	Headers   []jsonHeader `json:"headers"`
}

type jsonHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func parseJSONLine(line string) (*kgo.Record, error) {
	var jr jsonRecord
	if err := json.Unmarshal([]byte(line), &jr); err != nil {
		return nil, fmt.Errorf("not a JSON record: %w", err)
	}
	r := &kgo.Record{}
	if jr.Key != nil {
		r.Key = []byte(*jr.Key)
	}
	if jr.Value != nil {
		r.Value = []byte(*jr.Value)
	}
	for _, h := range jr.Headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
	}
	return r, nil
}
