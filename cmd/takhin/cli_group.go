package main

// `takhin group list|describe|delete|seek`: consumer groups through kadm
// (ListGroups, DescribeGroups with OffsetFetch and ListOffsets for lag,
// DeleteGroups, OffsetCommit). seek refuses a group with members, as
// Kafka's kafka-consumer-groups.sh --reset-offsets does.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

const groupUsage = `usage: takhin group <command> [flags]

commands:
  list                 groups with their state
  describe GROUP...    state, protocol, members and their assignments, and per partition the
                       committed offset, the log end offset and the lag
  delete GROUP...      delete groups without members
  seek GROUP --topic T --to start|end|OFFSET|@TIMESTAMP_MS
                       commit new offsets for every partition of T (the group must be Empty);
                       OFFSET is clamped to [log start, log end]; @MS is the first offset at or
                       after that Unix time in milliseconds (the log end if none)

every command takes --brokers (env TAKHIN_BROKERS, default 127.0.0.1:9092),
--timeout and --format text|json.

` + cliExitCodes

func runGroup(args []string, stdout, stderr io.Writer) int {
	return subcommand("group", groupUsage, map[string]func([]string, io.Writer, io.Writer) int{
		"list":     runGroupList,
		"describe": runGroupDescribe,
		"delete":   runGroupDelete,
		"seek":     runGroupSeek,
	}, args, stdout, stderr)
}

// groupSummary is one row of `group list`.
type groupSummary struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
	Coordinator  int32  `json:"coordinator"`
}

func runGroupList(args []string, stdout, stderr io.Writer) int {
	c := newCLI("group list", "", stdout, stderr).withFormat()
	if _, ok := c.parse(args, 0, 0, "no arguments"); !ok {
		return c.exit
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			return c.fail(err)
		}
		out := []groupSummary{}
		for _, g := range groups.Sorted() {
			out = append(out, groupSummary{g.Group, g.State, g.ProtocolType, g.Coordinator})
		}
		if c.format == "json" {
			c.writeJSON(out)
			return exitOK
		}
		t := newCLITable(c.stdout, "GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR")
		for _, g := range out {
			t.row(g.Group, g.State, g.ProtocolType, g.Coordinator)
		}
		t.flush()
		return exitOK
	})
}

// groupDescription is one group in `group describe`.
type groupDescription struct {
	Group        string        `json:"group"`
	State        string        `json:"state"`
	ProtocolType string        `json:"protocol_type"`
	Protocol     string        `json:"protocol"`
	Coordinator  int32         `json:"coordinator"`
	Members      []groupMember `json:"members"`
	Offsets      []groupOffset `json:"offsets"`
	TotalLag     int64         `json:"total_lag"`
	Error        *jsonError    `json:"error,omitempty"`
}

type groupMember struct {
	MemberID   string           `json:"member_id"`
	InstanceID string           `json:"instance_id,omitempty"`
	ClientID   string           `json:"client_id"`
	ClientHost string           `json:"client_host"`
	Assigned   []topicPartition `json:"assigned"`
}

type topicPartition struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// groupOffset is one partition with a commit or an assignment.
type groupOffset struct {
	Topic     string     `json:"topic"`
	Partition int32      `json:"partition"`
	Committed int64      `json:"committed"` // -1: no commit
	LogEnd    int64      `json:"log_end"`
	Lag       int64      `json:"lag"`       // -1 when unknown
	MemberID  string     `json:"member_id"` // "" when unassigned
	Error     *jsonError `json:"error,omitempty"`
}

func runGroupDescribe(args []string, stdout, stderr io.Writer) int {
	c := newCLI("group describe", "GROUP...", stdout, stderr).withFormat()
	groups, ok := c.parse(args, 1, -1, "one or more groups")
	if !ok {
		return c.exit
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		var lags kadm.DescribedGroupLags
		err := retryCoordinator(ctx, func() (err error) {
			if lags, err = adm.Lag(ctx, groups...); err == nil {
				err = lags.Error()
			}
			return err
		})
		if lags == nil {
			return c.fail(err)
		}
		code := exitOK
		var out []groupDescription
		for _, l := range lags.Sorted() {
			d := describeGroup(l)
			if d.Error != nil {
				code = c.failf("%s: %s", d.Group, d.Error.Message)
			}
			out = append(out, d)
		}
		if c.format == "json" {
			c.writeJSON(out)
		} else {
			c.printGroups(out)
		}
		return code
	})
}

func describeGroup(l kadm.DescribedGroupLag) groupDescription {
	d := groupDescription{Group: l.Group, State: l.State, ProtocolType: l.ProtocolType, Protocol: l.Protocol,
		Coordinator: l.Coordinator.NodeID, Members: []groupMember{}, Offsets: []groupOffset{},
		TotalLag: l.Lag.Total(), Error: toJSONError(l.Error(), "")}
	for _, m := range l.Members {
		gm := groupMember{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost, Assigned: []topicPartition{}}
		if m.InstanceID != nil {
			gm.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				gm.Assigned = append(gm.Assigned, topicPartition{t.Topic, int32s(t.Partitions)})
			}
		}
		d.Members = append(d.Members, gm)
	}
	for _, ml := range l.Lag.Sorted() {
		o := groupOffset{Topic: ml.Topic, Partition: ml.Partition, Committed: ml.Commit.At, LogEnd: ml.End.Offset,
			Lag: ml.Lag, Error: toJSONError(ml.Err, "")}
		if ml.Member != nil {
			o.MemberID = ml.Member.MemberID
		}
		d.Offsets = append(d.Offsets, o)
	}
	return d
}

func int32s(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

func (c *cli) printGroups(out []groupDescription) {
	for i, d := range out {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		t := newCLITable(c.stdout)
		t.row("GROUP", d.Group)
		t.row("STATE", d.State)
		t.row("PROTOCOL", strings.Trim(d.ProtocolType+"/"+d.Protocol, "/"))
		t.row("COORDINATOR", d.Coordinator)
		t.row("MEMBERS", len(d.Members))
		t.row("TOTAL-LAG", d.TotalLag)
		t.flush()
		if len(d.Members) > 0 {
			fmt.Fprintln(c.stdout)
			t = newCLITable(c.stdout, "MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNED")
			for _, m := range d.Members {
				var parts []string
				for _, tp := range m.Assigned {
					parts = append(parts, fmt.Sprintf("%s%v", tp.Topic, tp.Partitions))
				}
				t.row(m.MemberID, m.ClientID, m.ClientHost, strings.Join(parts, " "))
			}
			t.flush()
		}
		fmt.Fprintln(c.stdout)
		t = newCLITable(c.stdout, "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "MEMBER-ID")
		for _, o := range d.Offsets {
			t.row(o.Topic, o.Partition, dashIfNegative(o.Committed), dashIfNegative(o.LogEnd), dashIfNegative(o.Lag), dashIfEmpty(o.MemberID))
		}
		t.flush()
	}
}

func dashIfNegative(n int64) string {
	if n < 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// groupResult is one group's outcome of `group delete`.
type groupResult struct {
	Group string     `json:"group"`
	Error *jsonError `json:"error,omitempty"`
}

func runGroupDelete(args []string, stdout, stderr io.Writer) int {
	c := newCLI("group delete", "GROUP...", stdout, stderr).withFormat()
	groups, ok := c.parse(args, 1, -1, "one or more groups")
	if !ok {
		return c.exit
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		var resp kadm.DeleteGroupResponses
		err := retryCoordinator(ctx, func() (err error) {
			if resp, err = adm.DeleteGroups(ctx, groups...); err == nil {
				err = resp.Error()
			}
			return err
		})
		if resp == nil {
			return c.fail(err)
		}
		code := exitOK
		out := []groupResult{}
		for _, r := range resp.Sorted() {
			if r.Err != nil {
				code = c.failf("%s: %s", r.Group, statusText(r.Err, r.ErrMessage))
			}
			out = append(out, groupResult{r.Group, toJSONError(r.Err, r.ErrMessage)})
		}
		if c.format == "json" {
			c.writeJSON(out)
			return code
		}
		t := newCLITable(c.stdout, "GROUP", "STATUS")
		for _, r := range resp.Sorted() {
			t.row(r.Group, strings.Replace(statusText(r.Err, r.ErrMessage), "OK", "deleted", 1))
		}
		t.flush()
		return code
	})
}

// seekTarget is a parsed --to: start, end, an offset or a timestamp.
type seekTarget struct {
	kind  string // "start", "end", "offset" or "timestamp"
	value int64
}

func parseSeekTarget(s string) (seekTarget, error) {
	switch {
	case s == "start" || s == "end":
		return seekTarget{kind: s}, nil
	case strings.HasPrefix(s, "@"):
		ms, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil || ms < 0 {
			return seekTarget{}, fmt.Errorf("--to %q: want @ and a Unix time in milliseconds", s)
		}
		return seekTarget{"timestamp", ms}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return seekTarget{}, fmt.Errorf("--to %q: want start, end, an offset or @TIMESTAMP_MS", s)
	}
	return seekTarget{"offset", n}, nil
}

// seekedOffset is one partition's move in `group seek`.
type seekedOffset struct {
	Topic     string     `json:"topic"`
	Partition int32      `json:"partition"`
	From      int64      `json:"from"` // -1: no commit before
	To        int64      `json:"to"`
	Error     *jsonError `json:"error,omitempty"`
}

func runGroupSeek(args []string, stdout, stderr io.Writer) int {
	c := newCLI("group seek", "GROUP --topic TOPIC --to start|end|OFFSET|@TIMESTAMP_MS", stdout, stderr).withFormat()
	topic := c.fs.String("topic", "", "the topic whose partitions to move (required)")
	to := c.fs.String("to", "", "start, end, an offset, or @ and a Unix time in milliseconds (required)")
	pos, ok := c.parse(args, 1, 1, "one group")
	if !ok {
		return c.exit
	}
	if *topic == "" || *to == "" {
		return c.usagef("--topic and --to are required")
	}
	target, err := parseSeekTarget(*to)
	if err != nil {
		return c.usagef("%v", err)
	}
	group := pos[0]
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		if code := c.checkGroupEmpty(ctx, adm, group); code != exitOK {
			return code
		}
		offsets, code := c.seekOffsets(ctx, adm, *topic, target)
		if code != exitOK {
			return code
		}
		var before, resp kadm.OffsetResponses
		err := retryCoordinator(ctx, func() (err error) {
			before, err = adm.FetchOffsets(ctx, group)
			if errors.Is(err, kerr.GroupIDNotFound) {
				before, err = nil, nil // a new group
			}
			return err
		})
		if err == nil {
			err = retryCoordinator(ctx, func() (err error) {
				if resp, err = adm.CommitOffsets(ctx, group, offsets); err == nil {
					err = resp.Error()
				}
				return err
			})
		}
		if resp == nil {
			return c.fail(err)
		}
		return c.printSeek(resp, before)
	})
}

// checkGroupEmpty refuses to move the offsets of a group with members
// (their next commit would overwrite the move). A group that does not
// exist yet is fine: the commit creates it.
func (c *cli) checkGroupEmpty(ctx context.Context, adm *kadm.Client, group string) int {
	var described kadm.DescribedGroups
	err := retryCoordinator(ctx, func() (err error) {
		if described, err = adm.DescribeGroups(ctx, group); err == nil && !errors.Is(described.Error(), kerr.GroupIDNotFound) {
			err = described.Error()
		}
		return err
	})
	if described == nil {
		return c.fail(err)
	}
	d := described[group]
	switch {
	case errors.Is(d.Err, kerr.GroupIDNotFound):
		return exitOK
	case d.Err != nil:
		return c.failf("%s: %s", group, statusText(d.Err, d.ErrMessage))
	case d.State != "Empty" && d.State != "Dead" && d.State != "":
		return c.failf("%s: offsets can only be moved while the group is inactive, but it is %s with %d member(s): stop its consumers first",
			group, d.State, len(d.Members))
	}
	return exitOK
}

// seekOffsets resolves the target for every partition of topic.
func (c *cli) seekOffsets(ctx context.Context, adm *kadm.Client, topic string, target seekTarget) (kadm.Offsets, int) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, c.failf("%s: %s", topic, errText(err))
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, c.failf("%s: %s", topic, errText(err))
	}
	var times kadm.ListedOffsets
	if target.kind == "timestamp" {
		if times, err = adm.ListOffsetsAfterMilli(ctx, target.value, topic); err == nil {
			err = times.Error()
		}
		if err != nil {
			return nil, c.failf("%s: %s", topic, errText(err))
		}
	}
	offsets := kadm.Offsets{}
	starts.Each(func(s kadm.ListedOffset) {
		end, _ := ends.Lookup(topic, s.Partition)
		at := end.Offset
		switch target.kind {
		case "start":
			at = s.Offset
		case "offset":
			at = max(s.Offset, min(target.value, end.Offset))
		case "timestamp":
			if t, ok := times.Lookup(topic, s.Partition); ok && t.Offset >= 0 {
				at = t.Offset
			}
		}
		offsets.Add(kadm.Offset{Topic: topic, Partition: s.Partition, At: at, LeaderEpoch: -1})
	})
	return offsets, exitOK
}

func (c *cli) printSeek(resp, before kadm.OffsetResponses) int {
	code := exitOK
	out := []seekedOffset{}
	for _, r := range resp.Sorted() {
		s := seekedOffset{Topic: r.Topic, Partition: r.Partition, From: -1, To: r.At, Error: toJSONError(r.Err, "")}
		if b, ok := before.Lookup(r.Topic, r.Partition); ok && b.Err == nil {
			s.From = b.At
		}
		if r.Err != nil {
			code = c.failf("%s[%d]: %s", r.Topic, r.Partition, errText(r.Err))
		}
		out = append(out, s)
	}
	if c.format == "json" {
		c.writeJSON(out)
		return code
	}
	t := newCLITable(c.stdout, "TOPIC", "PARTITION", "FROM", "TO", "STATUS")
	for _, s := range out {
		status := "OK"
		if s.Error != nil {
			status = s.Error.Message
		}
		t.row(s.Topic, s.Partition, dashIfNegative(s.From), s.To, status)
	}
	t.flush()
	return code
}

// retryCoordinator calls fn again while it fails because the group
// coordinator is loading or moving (as after a broker start, while
// __consumer_offsets loads), until ctx ends. Every request it wraps is
// idempotent.
func retryCoordinator(ctx context.Context, fn func() error) error {
	backoff := 50 * time.Millisecond
	for {
		err := fn()
		if !errors.Is(err, kerr.CoordinatorNotAvailable) && !errors.Is(err, kerr.CoordinatorLoadInProgress) &&
			!errors.Is(err, kerr.NotCoordinator) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}
