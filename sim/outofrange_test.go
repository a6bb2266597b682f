package sim

// Goal: a Kafka client answered OFFSET_OUT_OF_RANGE past the log's end
// goes back to the end and lists it again, as Kafka's consumer does on a
// truncation, when a flipped bit explains the lost tail (recovery cut the
// log at the flipped batch); with no flip in the partition, a log ending
// below what a consumer read is a violation. Found by seed
// 171654688824568: a client that had read partition 1 to 1357 fetched
// from there for ever after a restart cut it at 1079. The same for an end
// a client listed, found by seed 120752328974995: a read of a flipped
// batch cut partition 1 from 580 to 574, and the drain waited for 580.

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// flipSink is the sink outOfRange consults: whether a bit was flipped in
// the partition, and the violations reported.
type flipSink struct {
	sink
	flipped    bool
	violations []string
}

func (s *flipSink) corruptedPartition(int32) bool { return s.flipped }
func (s *flipSink) violation(format string, _ ...any) {
	s.violations = append(s.violations, format)
}

func TestOutOfRangePastTheEnd(t *testing.T) {
	for _, flipped := range []bool{true, false} {
		s := &flipSink{flipped: flipped}
		c := &kclient{w: newWorld(1), n: &node{sink: s}, name: "client-6",
			positions: map[int32]int64{1: 1357}, latest: map[int32]int64{1: 1403}}
		out := &kmsg.FetchResponseTopicPartition{ErrorCode: kerr.OffsetOutOfRange.Code, HighWatermark: 1079}
		c.outOfRange(1, 1357, out)
		_, listed := c.latest[1]
		switch {
		case flipped && (len(s.violations) != 0 || c.positions[1] != 1079 || listed):
			t.Errorf("flipped: violations %v, position %d, latest kept %v; want none, 1079, dropped", s.violations, c.positions[1], listed)
		case !flipped && len(s.violations) != 1:
			t.Errorf("no flip: violations %v, want one", s.violations)
		}
	}
}

func TestListedEndAboveALogCut(t *testing.T) {
	for _, flipped := range []bool{true, false} {
		s := &flipSink{flipped: flipped}
		c := &kclient{w: newWorld(1), n: &node{sink: s}, name: "client-11",
			positions: map[int32]int64{1: 574}, latest: map[int32]int64{1: 580}}
		c.logCut(1, 580, 574)
		_, listed := c.latest[1]
		switch {
		case flipped && (len(s.violations) != 0 || c.positions[1] != 574 || listed):
			t.Errorf("flipped: violations %v, position %d, latest kept %v; want none, 574, dropped", s.violations, c.positions[1], listed)
		case !flipped && len(s.violations) != 1:
			t.Errorf("no flip: violations %v, want one", s.violations)
		}
	}
}
