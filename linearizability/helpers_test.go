package linearizability

import "testing"

// script builds hand-made histories. Each helper records one operation
// that starts at the script's clock and, unless stated, completes 10ns
// later, leaving the clock there: the operations are sequential unless a
// test invokes and completes by hand.
type script struct {
	t   *testing.T
	h   History
	now int64
}

func newScript(t *testing.T) *script { return &script{t: t} }

func (s *script) tick() int64 {
	s.now += 10
	return s.now
}

// sendOK records an acknowledged send.
func (s *script) sendOK(client int, send Send, offset Offset) OpID {
	id := s.h.Invoke(client, send, s.tick())
	s.h.Complete(id, OK, Reply{Offset: offset}, s.tick())
	return id
}

// sendOutcome records a send that ended Failed or Indeterminate.
func (s *script) sendOutcome(client int, send Send, outcome Outcome) OpID {
	id := s.h.Invoke(client, send, s.tick())
	s.h.Complete(id, outcome, Reply{}, s.tick())
	return id
}

func (s *script) poll(client int, partition string, from Offset, records ...Record) OpID {
	id := s.h.Invoke(client, Poll{Partition: partition, From: from}, s.tick())
	s.h.Complete(id, OK, Reply{Records: records}, s.tick())
	return id
}

func (s *script) list(client int, partition string, end Offset) OpID {
	id := s.h.Invoke(client, ListLatest{Partition: partition}, s.tick())
	s.h.Complete(id, OK, Reply{Offset: end}, s.tick())
	return id
}

// all is an acks=all plain send; idem an acks=all idempotent one of
// producer 1; leader an acks=1 plain send.
func all(partition, value string) Send { return Send{Partition: partition, Value: value, Acks: -1} }
func idem(partition, value string) Send {
	return Send{Partition: partition, Value: value, Acks: -1, Idempotent: true, Producer: 1}
}
func leader(partition, value string) Send { return Send{Partition: partition, Value: value, Acks: 1} }

func rec(offset Offset, value string) Record { return Record{offset, value} }

func (s *script) check(opts Options) Report {
	s.t.Helper()
	r, err := Check(&s.h, opts)
	if err != nil {
		s.t.Fatalf("Check: %v", err)
	}
	return r
}
