package linearizability

// Goal: the Porcupine model accepts every order Kafka may produce (concurrent
// sends either way, indeterminate sends that did or did not take effect, a
// plain producer's duplicate append) and rejects a send, list-offsets or
// poll that contradicts the acknowledged end; CloseIndeterminate both
// constrains the search and keeps it fast.

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkTimeout is generous: every history here is small, except the one
// built to time out.
const checkTimeout = 10 * time.Second

func linearizable(t *testing.T, h *History) Result {
	t.Helper()
	r, err := CheckLinearizable(h, checkTimeout)
	if err != nil {
		t.Fatalf("CheckLinearizable: %v", err)
	}
	return r
}

func TestModel(t *testing.T) {
	cases := []struct {
		name  string
		build func(s *script)
		ok    bool
	}{
		{"sequential sends, list and poll", func(s *script) {
			s.sendOK(0, idem("t/0", "a"), 0)
			s.sendOK(0, idem("t/0", "b"), 1)
			s.list(1, "t/0", 2)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"))
		}, true},
		{"a send behind an earlier acknowledged one", func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.sendOK(0, all("t/0", "b"), 1)
			s.sendOK(1, all("t/0", "c"), 1)
		}, false},
		{"list-offsets below an acknowledged send's end", func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.list(1, "t/0", 0)
		}, false},
		{"a poll returning data beyond any write", func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"))
		}, false},
		{"an empty poll constrains nothing", func(s *script) {
			s.poll(1, "t/0", 5)
			s.list(1, "t/0", 0)
		}, true},
		{"concurrent sends linearized one way", func(s *script) { concurrentSends(s, 0, 1) }, true},
		{"concurrent sends linearized the other way", func(s *script) { concurrentSends(s, 1, 0) }, true},
		{"an indeterminate send that took effect", func(s *script) {
			s.sendOutcome(0, all("t/0", "a"), Indeterminate)
			s.sendOK(1, all("t/0", "b"), 1)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"))
		}, true},
		{"an indeterminate send that did not", func(s *script) {
			s.sendOutcome(0, all("t/0", "a"), Indeterminate)
			s.sendOK(1, all("t/0", "b"), 0)
			s.list(1, "t/0", 1)
		}, true},
		{"an indeterminate send that takes effect after a later list", func(s *script) {
			s.sendOutcome(0, all("t/0", "a"), Indeterminate)
			s.list(1, "t/0", 0)
			s.list(1, "t/0", 1)
		}, true},
		{"a closed indeterminate send cannot take effect after its close", func(s *script) {
			id := s.sendOutcome(0, all("t/0", "a"), Indeterminate)
			s.h.CloseIndeterminate(id, s.now)
			s.list(1, "t/0", 0)
			s.list(1, "t/0", 1)
		}, false},
		{"a failed send takes no effect", func(s *script) {
			s.sendOutcome(0, all("t/0", "a"), Failed)
			s.sendOK(1, all("t/0", "b"), 1)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newScript(t)
			c.build(s)
			if r := linearizable(t, &s.h); r.OK != c.ok {
				t.Fatalf("OK = %v, want %v", r.OK, c.ok)
			}
		})
	}
}

// concurrentSends: two overlapping acks=all sends that got offsets a and b.
func concurrentSends(s *script, a, b Offset) {
	first := s.h.Invoke(0, all("t/0", "x"), s.tick())
	second := s.h.Invoke(1, all("t/0", "y"), s.tick())
	s.h.Complete(first, OK, Reply{Offset: a}, s.tick())
	s.h.Complete(second, OK, Reply{Offset: b}, s.tick())
	s.list(2, "t/0", 2)
}

// TestModelPlainRetry: a plain producer's send with two attempts may have
// appended twice; the model allows for the extra attempt, and only then.
func TestModelPlainRetry(t *testing.T) {
	for _, attempts := range []int{1, 2} {
		s := newScript(t)
		id := s.h.Invoke(0, all("t/0", "a"), s.tick())
		s.h.Complete(id, OK, Reply{Offset: 1, Attempts: attempts}, s.tick())
		s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "a"))
		if r := linearizable(t, &s.h); r.OK != (attempts == 2) {
			t.Fatalf("attempts %d: OK = %v", attempts, r.OK)
		}
	}
}

// TestModelSkipsAcks1Partitions: an acks=1 record moves the end unseen by
// the model, so its partition is skipped rather than misjudged.
func TestModelSkipsAcks1Partitions(t *testing.T) {
	s := newScript(t)
	s.sendOK(0, leader("t/1", "a"), 0)
	s.poll(1, "t/1", 0, rec(0, "a"), rec(1, "phantom"))
	s.sendOK(0, all("t/0", "b"), 0)
	r := linearizable(t, &s.h)
	if !r.OK || !slices.Equal(r.Skipped, []string{"t/1"}) {
		t.Fatalf("OK = %v, skipped %v", r.OK, r.Skipped)
	}
}

// openSends builds a history that is linearizable only if send B (offset
// 0) precedes send A (offset 1), with n indeterminate sends invoked while
// A is in flight. Porcupine tries A first; with the indeterminate sends
// open to the end of time, refuting every order with A first explores each
// subset of them. Closed soon after their invocation, they leave a short
// search.
func openSends(n int, closed bool) *History {
	var h History
	a := h.Invoke(0, all("t/0", "A"), 0)
	for i := range n {
		at := int64(10 * (i + 1))
		id := h.Invoke(1+i, all("t/0", "I"+string(rune('a'+i%26))+string(rune('a'+i/26))), at)
		h.Complete(id, Indeterminate, Reply{}, at+5)
		if closed {
			h.CloseIndeterminate(id, at+5)
		}
	}
	end := int64(10 * (n + 1))
	b := h.Invoke(n+1, all("t/0", "B"), end)
	h.Complete(b, OK, Reply{Offset: 0}, end+10)
	h.Complete(a, OK, Reply{Offset: 1}, end+20)
	return &h
}

func TestCloseIndeterminateKeepsTheSearchShort(t *testing.T) {
	const n = 40
	if _, err := CheckLinearizable(openSends(n, false), 300*time.Millisecond); !errors.Is(err, ErrTimedOut) {
		t.Fatalf("open: err = %v, want ErrTimedOut", err)
	}
	r, err := CheckLinearizable(openSends(n, true), checkTimeout)
	if err != nil || !r.OK {
		t.Fatalf("closed: OK = %v, err = %v", r.OK, err)
	}
}

func TestVisualize(t *testing.T) {
	for _, ok := range []bool{true, false} {
		s := newScript(t)
		s.sendOK(0, all("t/0", "a"), 0)
		if ok {
			s.list(1, "t/0", 1)
		} else {
			s.list(1, "t/0", 0)
		}
		r := linearizable(t, &s.h)
		var b bytes.Buffer
		if err := r.Visualize(&b); err != nil {
			t.Fatal(err)
		}
		if r.OK != ok || !strings.Contains(b.String(), "list-latest") {
			t.Fatalf("OK = %v; visualisation lacks the operation (%d bytes)", r.OK, b.Len())
		}
	}
}

func TestDefinitelyFailed(t *testing.T) {
	for _, code := range []int16{2, 3, 10, 18, 19, 21, 32, 45, 47, 53, 87} {
		if !DefinitelyFailed(code) {
			t.Errorf("code %d: want definitely failed", code)
		}
	}
	// NONE, UNKNOWN_SERVER_ERROR, NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT,
	// NOT_ENOUGH_REPLICAS_AFTER_APPEND, NETWORK_EXCEPTION, KAFKA_STORAGE_ERROR.
	for _, code := range []int16{0, -1, 6, 7, 20, 13, 56} {
		if DefinitelyFailed(code) {
			t.Errorf("code %d: want indeterminate", code)
		}
	}
}

func TestHistoryMisusePanics(t *testing.T) {
	cases := map[string]func(h *History){
		"complete twice": func(h *History) {
			id := h.Invoke(0, ListLatest{Partition: "t/0"}, 0)
			h.Complete(id, OK, Reply{}, 1)
			h.Complete(id, OK, Reply{}, 2)
		},
		"invoke back in time": func(h *History) {
			h.Invoke(0, ListLatest{Partition: "t/0"}, 5)
			h.Invoke(0, ListLatest{Partition: "t/0"}, 4)
		},
		"acks=0":        func(h *History) { h.Invoke(0, Send{Partition: "t/0", Acks: 0}, 0) },
		"poll from -2":  func(h *History) { h.Invoke(0, Poll{Partition: "t/0", From: -2}, 0) },
		"unknown op":    func(h *History) { h.Complete(3, OK, Reply{}, 0) },
		"close a list":  func(h *History) { h.CloseIndeterminate(h.Invoke(0, ListLatest{}, 0), 1) },
		"close pending": func(h *History) { h.CloseIndeterminate(h.Invoke(0, all("t/0", "a"), 0), 1) },
	}
	for _, name := range sortedKeys(cases) {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			cases[name](&History{})
		})
	}
}
