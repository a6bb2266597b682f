package main

// `takhin consume TOPIC`: records to stdout, one line each, through a
// template (--format '%k %v') or as JSON. Without --group it reads
// explicit partitions from --offset; with --group it joins the group,
// starts at the group's commits (--offset for partitions without one)
// and commits what it printed. It stops after -n records, at the end
// offsets listed when it started (--exit-at-end), or on SIGINT/SIGTERM.
// Also the template language, shared with produce's input templates.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeFlags are `takhin consume`'s own flags.
type consumeFlags struct {
	offset    string
	count     int
	group     string
	partition int
	exitAtEnd bool
	quiet     bool
}

func runConsume(args []string, stdout, stderr io.Writer) int {
	c := newCLI("consume", "TOPIC [--offset start|end|N] [-n N] [--group G] [--partition P] [--format TEMPLATE|json]",
		stdout, stderr)
	var f consumeFlags
	c.fs.StringVar(&f.offset, "offset", "start", "start, end or an offset N (bounded by the log); with --group, for partitions without a commit")
	c.fs.IntVar(&f.count, "n", 0, "stop after N records (0: no limit)")
	c.fs.StringVar(&f.group, "group", "", "consume as this consumer group and commit what was printed")
	c.fs.IntVar(&f.partition, "partition", -1, "only this partition (-1: all; not with --group)")
	c.fs.BoolVar(&f.exitAtEnd, "exit-at-end", false, "stop at the end offsets listed at start")
	c.fs.BoolVar(&f.quiet, "q", false, "no progress on stderr")
	c.fs.StringVar(&c.format, "format", "%v",
		"json (one object a line: topic, partition, offset, timestamp, key, value, headers) or a template: "+
			"%t topic, %p partition, %o offset, %d timestamp (Unix ms), %k key, %v value, %h headers (k=v,...), %% a percent sign, \\t, \\n")
	pos, ok := c.parse(args, 1, 1, "one topic")
	if !ok {
		return c.exit
	}
	start, err := parseStartOffset(f.offset)
	if err != nil {
		return c.usagef("%v", err)
	}
	if f.count < 0 || (f.group != "" && f.partition >= 0) {
		return c.usagef("-n must not be negative, and --partition does not go with --group")
	}
	render, err := recordPrinter(c.format)
	if err != nil {
		return c.usagef("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.consume(ctx, pos[0], start, f, render)
}

// startOffset is a parsed --offset: start, end (n < 0) or an offset n.
type startOffset struct {
	atStart, atEnd bool
	n              int64
}

func parseStartOffset(s string) (startOffset, error) {
	switch s {
	case "start":
		return startOffset{atStart: true}, nil
	case "end":
		return startOffset{atEnd: true}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return startOffset{}, fmt.Errorf("--offset %q: want start, end or an offset", s)
	}
	return startOffset{n: n}, nil
}

func (s startOffset) kgo() kgo.Offset {
	switch {
	case s.atStart:
		return kgo.NewOffset().AtStart()
	case s.atEnd:
		return kgo.NewOffset().AtEnd()
	}
	return kgo.NewOffset().At(s.n)
}

// at is where s starts a partition whose log spans [logStart, logEnd).
func (s startOffset) at(logStart, logEnd int64) int64 {
	switch {
	case s.atStart:
		return logStart
	case s.atEnd:
		return logEnd
	}
	return max(logStart, min(s.n, logEnd))
}

// consumePlan is where each partition starts and, for --exit-at-end,
// where it ends.
type consumePlan struct {
	next map[int32]int64 // the next offset to print, per partition read
	end  map[int32]int64 // the log end offsets at start
}

// done reports whether every partition has reached its end.
func (p consumePlan) done() bool {
	for part, next := range p.next {
		if next < p.end[part] {
			return false
		}
	}
	return true
}

func (c *cli) consume(ctx context.Context, topic string, start startOffset, f consumeFlags, render func(*kgo.Record) []byte) int {
	admin, code := c.client()
	if admin == nil {
		return code
	}
	code = c.checkTopics(admin, topic)
	var plan consumePlan
	if code == exitOK {
		plan, code = c.planConsume(ctx, kadm.NewClient(admin), topic, start, f)
	}
	admin.Close()
	if code != exitOK {
		return code
	}
	opts := []kgo.Opt{kgo.ConsumeResetOffset(start.kgo())}
	if f.group != "" {
		opts = append(opts, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(f.group), kgo.AutoCommitMarks())
	} else {
		parts := map[int32]kgo.Offset{}
		for p, at := range plan.next {
			parts[p] = kgo.NewOffset().At(at)
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}))
	}
	cl, code := c.client(opts...)
	if cl == nil {
		return code
	}
	defer cl.Close()
	return c.consumeLoop(ctx, cl, plan, f, render)
}

// planConsume lists the partitions' offsets: where each starts (the
// group's commit when there is one) and its end at start.
func (c *cli) planConsume(ctx context.Context, adm *kadm.Client, topic string, start startOffset, f consumeFlags) (consumePlan, int) {
	lctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	starts, err := adm.ListStartOffsets(lctx, topic)
	if err == nil {
		err = starts.Error()
	}
	ends, err2 := adm.ListEndOffsets(lctx, topic)
	if err = errors.Join(err, err2); err == nil {
		err = ends.Error()
	}
	var commits kadm.OffsetResponses
	if err == nil && f.group != "" {
		err = retryCoordinator(lctx, func() (err error) {
			commits, err = adm.FetchOffsetsForTopics(lctx, f.group, topic)
			if errors.Is(err, kerr.GroupIDNotFound) { // a new group: no commits
				commits, err = nil, nil
			}
			return err
		})
	}
	if err != nil {
		return consumePlan{}, c.fail(err)
	}
	plan := consumePlan{next: map[int32]int64{}, end: map[int32]int64{}}
	if f.partition >= 0 {
		if _, ok := starts.Lookup(topic, int32(f.partition)); !ok {
			return plan, c.failf("%s has no partition %d: %s", topic, f.partition, errText(errUnknownTopic))
		}
	}
	starts.Each(func(s kadm.ListedOffset) {
		if f.partition >= 0 && s.Partition != int32(f.partition) {
			return
		}
		end, _ := ends.Lookup(topic, s.Partition)
		plan.end[s.Partition] = end.Offset
		plan.next[s.Partition] = start.at(s.Offset, end.Offset)
		if cm, ok := commits.Lookup(topic, s.Partition); ok && cm.Err == nil && cm.At >= 0 {
			plan.next[s.Partition] = cm.At
		}
	})
	return plan, exitOK
}

// consumeLoop polls and prints until -n records, the end (with
// --exit-at-end) or a signal, then commits what it printed (--group).
func (c *cli) consumeLoop(ctx context.Context, cl *kgo.Client, plan consumePlan, f consumeFlags, render func(*kgo.Record) []byte) int {
	out := bufio.NewWriter(c.stdout)
	var printed atomic.Int64
	stopProgress := c.progress(f.quiet, "records consumed", func() int { return int(printed.Load()) })
	var pollErr error
	for (f.count == 0 || printed.Load() < int64(f.count)) && !(f.exitAtEnd && plan.done()) {
		limit := 0
		if f.count > 0 {
			limit = f.count - int(printed.Load())
		}
		fs := cl.PollRecords(ctx, limit)
		if ctx.Err() != nil {
			break
		}
		if pollErr = fetchError(fs); pollErr != nil {
			break
		}
		for _, r := range fs.Records() {
			out.Write(render(r))
			printed.Add(1)
			plan.next[r.Partition] = max(plan.next[r.Partition], r.Offset+1)
			if f.group != "" {
				cl.MarkCommitRecords(r)
			}
		}
		out.Flush()
	}
	out.Flush()
	stopProgress() // before any message on stderr
	if pollErr != nil {
		return c.fail(pollErr)
	}
	code := exitOK
	if f.group != "" {
		cctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		if err := cl.CommitMarkedOffsets(cctx); err != nil {
			code = c.fail(fmt.Errorf("committing the group's offsets: %w", err))
		}
	}
	return code
}

// fetchError is the first error of a poll that is not the context's own.
func fetchError(fs kgo.Fetches) error {
	var first error
	fs.EachError(func(t string, p int32, err error) {
		if first == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			first = fmt.Errorf("%s[%d]: %w", t, p, err)
		}
	})
	return first
}

// recordPrinter builds the output for --format: json or a template.
func recordPrinter(format string) (func(*kgo.Record) []byte, error) {
	if format == "json" {
		return func(r *kgo.Record) []byte {
			jr := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				Timestamp: r.Timestamp.UnixMilli(), Key: bytesOrNil(r.Key), Value: bytesOrNil(r.Value), Headers: []jsonHeader{}}
			for _, h := range r.Headers {
				jr.Headers = append(jr.Headers, jsonHeader{h.Key, string(h.Value)})
			}
			b, _ := json.Marshal(jr) // strings and numbers always marshal
			return append(b, '\n')
		}, nil
	}
	tmpl, err := parseTemplate(format, "tpokvdh")
	if err != nil {
		return nil, err
	}
	return func(r *kgo.Record) []byte {
		var b []byte
		for _, s := range tmpl {
			b = appendField(b, s, r)
		}
		return append(b, '\n')
	}, nil
}

func bytesOrNil(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func appendField(b []byte, s templatePart, r *kgo.Record) []byte {
	switch s.verb {
	case 0:
		return append(b, s.literal...)
	case 't':
		return append(b, r.Topic...)
	case 'p':
		return strconv.AppendInt(b, int64(r.Partition), 10)
	case 'o':
		return strconv.AppendInt(b, r.Offset, 10)
	case 'd':
		return strconv.AppendInt(b, r.Timestamp.UnixMilli(), 10)
	case 'k':
		return append(b, r.Key...)
	case 'v':
		return append(b, r.Value...)
	}
	for i, h := range r.Headers { // 'h'
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, h.Key...), '='), h.Value...)
	}
	return b
}

// templatePart is a literal (verb 0) or a %verb.
type templatePart struct {
	verb    byte
	literal string
}

// parseTemplate splits a template into literals and the verbs it allows;
// %% is a percent sign, \t and \n a tab and a newline.
func parseTemplate(s, verbs string) ([]templatePart, error) {
	s = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(s)
	var parts []templatePart
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("--format %q ends in a lone %%", s)
		}
		i++
		if s[i] == '%' {
			lit.WriteByte('%')
			continue
		}
		if !strings.ContainsRune(verbs, rune(s[i])) {
			return nil, fmt.Errorf("--format: unknown verb %%%c (want one of %%%s)", s[i], strings.Join(strings.Split(verbs, ""), " %"))
		}
		if lit.Len() > 0 {
			parts = append(parts, templatePart{literal: lit.String()})
			lit.Reset()
		}
		parts = append(parts, templatePart{verb: s[i]})
	}
	if lit.Len() > 0 {
		parts = append(parts, templatePart{literal: lit.String()})
	}
	return parts, nil
}

// templateParser is produce's input template: %k and %v with literal
// separators between them ('%k:%v'); a field ends at the first
// occurrence of the literal after it, the last at the end of the line.
func templateParser(format string) (lineParser, error) {
	tmpl, err := parseTemplate(format, "kv")
	if err != nil {
		return nil, err
	}
	hasValue := false
	for i, p := range tmpl {
		hasValue = hasValue || p.verb == 'v'
		if i > 0 && p.verb != 0 && tmpl[i-1].verb != 0 {
			return nil, fmt.Errorf("--format %q: two fields need a literal between them", format)
		}
	}
	if !hasValue {
		return nil, fmt.Errorf("--format %q: want text, json, or a template with %%v", format)
	}
	return func(line string) (*kgo.Record, error) { return matchTemplate(tmpl, line) }, nil
}

func matchTemplate(tmpl []templatePart, line string) (*kgo.Record, error) {
	r := &kgo.Record{}
	for i, p := range tmpl {
		if p.verb == 0 {
			if !strings.HasPrefix(line, p.literal) {
				return nil, fmt.Errorf("want %q at %q", p.literal, line)
			}
			line = line[len(p.literal):]
			continue
		}
		field := line
		if i+1 < len(tmpl) {
			j := strings.Index(line, tmpl[i+1].literal)
			if j < 0 {
				return nil, fmt.Errorf("no %q after the %%%c field", tmpl[i+1].literal, p.verb)
			}
			field = line[:j]
		}
		line = line[len(field):]
		if p.verb == 'k' {
			r.Key = []byte(field)
		} else {
			r.Value = []byte(field)
		}
	}
	if line != "" {
		return nil, fmt.Errorf("trailing %q", line)
	}
	return r, nil
}
