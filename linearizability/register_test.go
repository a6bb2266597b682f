package linearizability

// Goal: the register checker (committed offsets as linearizable
// registers) rejects what a register cannot do — a read of a stale
// acknowledged value, a read of a value never written, a closed
// indeterminate write appearing after its close — and accepts what it may
// do: an indeterminate write seen or never seen, concurrent writes read in
// either order, the initial value before any write, keys independent.

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// regScript builds register histories; like script, each helper's
// operation takes 10ns and they run one after another unless a test
// invokes and completes by hand.
type regScript struct {
	h   RegisterHistory
	now int64
}

func (s *regScript) tick() int64 {
	s.now += 10
	return s.now
}

func (s *regScript) write(client int, key string, v int64, outcome Outcome) OpID {
	id := s.h.Write(client, key, v, s.tick())
	s.h.Complete(id, outcome, 0, s.tick())
	return id
}

func (s *regScript) read(client int, key string, got int64) OpID {
	id := s.h.Read(client, key, s.tick())
	s.h.Complete(id, OK, got, s.tick())
	return id
}

func TestRegisterModel(t *testing.T) {
	cases := []struct {
		name  string
		build func(s *regScript)
		ok    bool
	}{
		{"the initial value before any write", func(s *regScript) { s.read(0, "g/0", -1) }, true},
		{"a read of the latest acknowledged write", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.write(0, "g/0", 7, OK)
			s.read(1, "g/0", 7)
		}, true},
		{"a read of a stale acknowledged value", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.write(0, "g/0", 7, OK)
			s.read(1, "g/0", 5)
		}, false},
		{"a read of a value never written", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.read(1, "g/0", 6)
		}, false},
		{"a read of the initial value after an acknowledged write (lost commit)", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.read(1, "g/0", -1)
		}, false},
		{"a failed write is never visible", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.write(0, "g/0", 9, Failed)
			s.read(1, "g/0", 9)
		}, false},
		{"an indeterminate write that took effect", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.write(0, "g/0", 9, Indeterminate)
			s.read(1, "g/0", 9)
		}, true},
		{"an indeterminate write that did not", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.write(0, "g/0", 9, Indeterminate)
			s.read(1, "g/0", 5)
		}, true},
		{"an indeterminate write that lands after a later read", func(s *regScript) {
			s.write(0, "g/0", 9, Indeterminate)
			s.read(1, "g/0", -1)
			s.read(1, "g/0", 9)
		}, true},
		{"an indeterminate write cannot be seen, then unseen", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.write(0, "g/0", 9, Indeterminate)
			s.read(1, "g/0", 9)
			s.read(1, "g/0", 5)
		}, false},
		{"an indeterminate write may land after a later acknowledged one", func(s *regScript) {
			s.write(0, "g/0", 9, Indeterminate)
			s.write(1, "g/0", 5, OK)
			s.read(1, "g/0", 9)
		}, true},
		{"a closed indeterminate write cannot land after its close", func(s *regScript) {
			id := s.write(0, "g/0", 9, Indeterminate)
			s.h.CloseRegisterWrite(id, s.now)
			s.write(1, "g/0", 5, OK)
			s.read(1, "g/0", 9)
		}, false},
		{"a closed indeterminate write need not have landed", func(s *regScript) {
			id := s.write(0, "g/0", 9, Indeterminate)
			s.h.CloseRegisterWrite(id, s.now)
			s.read(1, "g/0", -1)
		}, true},
		{"a pending write may land late", func(s *regScript) {
			s.h.Write(0, "g/0", 9, s.tick())
			s.write(1, "g/0", 5, OK)
			s.read(1, "g/0", 9)
		}, true},
		{"concurrent writes read one way", func(s *regScript) { concurrentWrites(s, 5) }, true},
		{"concurrent writes read the other way", func(s *regScript) { concurrentWrites(s, 7) }, true},
		{"keys are independent", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			s.write(0, "g/1", 7, OK)
			s.read(1, "g/0", 5)
			s.read(1, "g/1", 7)
			s.read(1, "h/0", -1)
		}, true},
		{"a failed read constrains nothing", func(s *regScript) {
			s.write(0, "g/0", 5, OK)
			id := s.h.Read(1, "g/0", s.tick())
			s.h.Complete(id, Failed, 0, s.tick())
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &regScript{}
			tc.build(s)
			r, err := CheckRegisters(&s.h, -1, checkTimeout)
			if err != nil {
				t.Fatalf("CheckRegisters: %v", err)
			}
			if r.OK != tc.ok {
				t.Fatalf("OK = %v, want %v; failed %v\n%s", r.OK, tc.ok, r.Failed, r.Explanations)
			}
			if !r.OK && (len(r.Failed) != 1 || r.Failed[0] != "g/0" || !strings.Contains(r.Explanations["g/0"], "op 0")) {
				t.Fatalf("failed keys %v, explanations %v", r.Failed, r.Explanations)
			}
		})
	}
}

// concurrentWrites: two overlapping acknowledged writes (5, 7), then a
// read of got.
func concurrentWrites(s *regScript, got int64) {
	a := s.h.Write(0, "g/0", 5, s.tick())
	b := s.h.Write(1, "g/0", 7, s.tick())
	s.h.Complete(a, OK, 0, s.tick())
	s.h.Complete(b, OK, 0, s.tick())
	s.read(2, "g/0", got)
}

// TestRegisterManyIndeterminate: many indeterminate writes on one key stay
// cheap when each is closed by the next crash (as the simulator closes
// them): only the few open at once are searched over.
func TestRegisterManyIndeterminate(t *testing.T) {
	s := &regScript{}
	var open []OpID
	for i := range int64(400) {
		open = append(open, s.write(int(i%4), "g/0", i, Indeterminate))
		if i%8 == 7 { // a crash: nothing in flight lands after it
			crash := s.tick()
			for _, id := range open {
				s.h.CloseRegisterWrite(id, crash)
			}
			open = open[:0]
			s.write(0, "g/0", 1000+i, OK)
			s.read(1, "g/0", 1000+i)
		}
	}
	s.read(1, "g/0", 1399)
	start := time.Now()
	r, err := CheckRegisters(&s.h, -1, checkTimeout)
	if err != nil || !r.OK {
		t.Fatalf("CheckRegisters: %v, %+v", err, r)
	}
	t.Logf("checked %d operations in %v", s.h.Len(), time.Since(start))
}

func TestRegisterHistoryMisuse(t *testing.T) {
	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		fn()
	}
	var h RegisterHistory
	w := h.Write(0, "k", 1, 10)
	r := h.Read(0, "k", 20)
	h.Complete(r, OK, 1, 30)
	mustPanic("completing twice", func() { h.Complete(r, OK, 1, 40) })
	mustPanic("closing a read", func() { h.CloseRegisterWrite(r, 40) })
	mustPanic("closing before the invocation", func() { h.CloseRegisterWrite(w, 5) })
	mustPanic("invoking back in time", func() { h.Read(0, "k", 15) })
	h.Complete(w, OK, 0, 50)
	mustPanic("closing an acknowledged write", func() { h.CloseRegisterWrite(w, 60) })
	if _, err := CheckRegisters(&h, -1, checkTimeout); errors.Is(err, ErrTimedOut) {
		t.Fatal("a two-operation history timed out")
	}
}
