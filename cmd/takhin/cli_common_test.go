package main

// Goal: the CLI's pure pieces, as tables with invalid inputs too: flags
// mixed with positional arguments, consume's output templates, produce's
// input parsing (text, --key-delim, templates, JSON), group seek's --to,
// and the Kafka error text that names the code.

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestCLIParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  string
		p    int
		ok   bool
	}{
		{[]string{"a", "-p", "3", "b"}, "a b", 3, true},
		{[]string{"-p", "3", "a"}, "a", 3, true},
		{[]string{"a", "--", "-p", "b"}, "a -p b", -1, true},
		{[]string{"a", "-p"}, "", -1, false},
		{[]string{"-p", "x", "a"}, "", -1, false},
		{[]string{}, "", -1, false}, // at least one argument
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c := newCLI("test", "", io.Discard, io.Discard)
			p := c.fs.Int("p", -1, "")
			pos, ok := c.parse(tc.args, 1, -1, "one or more")
			if ok != tc.ok || (ok && (strings.Join(pos, " ") != tc.pos || *p != tc.p)) {
				t.Errorf("got %q, -p %d, ok %v; want %q, -p %d, ok %v", pos, *p, ok, tc.pos, tc.p, tc.ok)
			}
			if !ok && c.exit != exitUsage {
				t.Errorf("exit %d, want 2", c.exit)
			}
		})
	}
}

func TestCLIRecordTemplates(t *testing.T) {
	r := &kgo.Record{Topic: "t", Partition: 2, Offset: 7, Key: []byte("k"), Value: []byte("v"),
		Timestamp: time.UnixMilli(1700000000123), Headers: []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b"}}}
	for _, tc := range []struct{ format, want string }{
		{"%v", "v\n"},
		{"%t %p %o %k %v %d %h", "t 2 7 k v 1700000000123 a=1,b=\n"},
		{`%k\t%v %%`, "k\tv %\n"},
		{"json", `{"topic":"t","partition":2,"offset":7,"timestamp":1700000000123,"key":"k","value":"v","headers":[{"key":"a","value":"1"},{"key":"b","value":""}]}` + "\n"},
		{"%x", "error"},
		{"100%", "error"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			render, err := recordPrinter(tc.format)
			got := "error"
			if err == nil {
				got = string(render(r))
			}
			if got != tc.want {
				t.Errorf("got %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}

func TestCLIInputLines(t *testing.T) {
	for _, tc := range []struct {
		format, delim, line string
		want                string // key|value|headers, or "error"
	}{
		{"text", "", "a:b", "<nil>|a:b|"},
		{"text", ":", "a:b:c", "a|b:c|"},
		{"text", ":", "abc", "error"},
		{"%k:%v", "", "a:b:c", "a|b:c|"},
		{"<%k> %v", "", "<a> b", "a|b|"},
		{"<%k> %v", "", "a b", "error"},
		{"%v;", "", "x;", "<nil>|x|"},
		{"%v;", "", "x;y", "error"},
		{"%k%v", "", "ab", "error"}, // fields need a separator
		{"%k", "", "a", "error"},    // no value
		{"%k:%v", ":", "a:b", "error"},
		{"json", "", `{"key":"a","value":"b","headers":[{"key":"h","value":"1"}],"offset":9}`, "a|b|h=1"},
		{"json", "", `{"value":null}`, "<nil>|<nil>|"},
		{"json", "", `not json`, "error"},
	} {
		t.Run(tc.format+" "+tc.line, func(t *testing.T) {
			got := "error"
			parse, err := newLineParser(tc.format, tc.delim)
			if err == nil {
				var r *kgo.Record
				if r, err = parse(tc.line); err == nil {
					got = cliRecordFields(r)
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}

func cliRecordFields(r *kgo.Record) string {
	str := func(b []byte) string {
		if b == nil {
			return "<nil>"
		}
		return string(b)
	}
	var hs []string
	for _, h := range r.Headers {
		hs = append(hs, h.Key+"="+string(h.Value))
	}
	return str(r.Key) + "|" + str(r.Value) + "|" + strings.Join(hs, ",")
}

func TestCLISeekTarget(t *testing.T) {
	for _, tc := range []struct {
		to, want string
	}{
		{"start", "{start 0}"}, {"end", "{end 0}"}, {"42", "{offset 42}"}, {"@1700000000000", "{timestamp 1700000000000}"},
		{"-1", "error"}, {"@", "error"}, {"@x", "error"}, {"middle", "error"},
	} {
		got, err := parseSeekTarget(tc.to)
		if s := fmt.Sprint(got); (err != nil && tc.want != "error") || (err == nil && s != tc.want) {
			t.Errorf("--to %s: %v %v, want %s", tc.to, got, err, tc.want)
		}
	}
}

func TestCLIErrText(t *testing.T) {
	if got := errText(fmt.Errorf("topic x: %w", kerr.UnknownTopicOrPartition)); !strings.HasPrefix(got, "UNKNOWN_TOPIC_OR_PARTITION (3): ") {
		t.Errorf("errText of a wrapped kerr: %q", got)
	}
	e := toJSONError(kerr.TopicAlreadyExists, "exists")
	if e.Code != 36 || e.Name != "TOPIC_ALREADY_EXISTS" || !strings.HasSuffix(e.Message, "(exists)") {
		t.Errorf("toJSONError: %+v", e)
	}
	if toJSONError(nil, "x") != nil {
		t.Error("toJSONError(nil) is not nil")
	}
}
