package linearizability

// Goal: no false alarms on correct behaviour. The model: a set of
// partition logs, each a slice of values, changed by one operation at a
// time. Every history generated from it (sends of every outcome and
// producer kind, lists, polls from explicit offsets or a consumer's own
// position, final polls that read everything) passes every content checker
// and the Porcupine model.

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

var propertyPartitions = []string{"t/0", "t/1"}

// modelLog is the reference: the logs, and each consumer's next offset.
type modelLog struct {
	h      History
	now    int64
	logs   map[string][]string
	next   map[[2]string]Offset // (client, partition) → next offset to read
	values int
}

func (m *modelLog) tick() int64 {
	m.now++
	return m.now
}

func (m *modelLog) send(t *rapid.T) {
	p := rapid.SampledFrom(propertyPartitions).Draw(t, "partition")
	acks := -1
	if p == "t/1" { // acks=1 only on t/1, which the model then skips
		acks = rapid.SampledFrom([]int{-1, 1}).Draw(t, "acks")
	}
	m.values++
	s := Send{Partition: p, Value: fmt.Sprintf("v%d", m.values), Acks: acks,
		Idempotent: rapid.Bool().Draw(t, "idempotent"), Producer: rapid.IntRange(0, 2).Draw(t, "producer")}
	id := m.h.Invoke(s.Producer, s, m.tick())
	reply := Reply{Offset: Offset(len(m.logs[p])), Attempts: rapid.IntRange(0, 3).Draw(t, "attempts")}
	switch outcome := rapid.SampledFrom([]string{"ok", "failed", "applied", "lost"}).Draw(t, "outcome"); outcome {
	case "ok":
		m.logs[p] = append(m.logs[p], s.Value)
		m.h.Complete(id, OK, reply, m.tick())
	case "failed":
		m.h.Complete(id, Failed, Reply{}, m.tick())
	default: // indeterminate, appended or not
		if outcome == "applied" {
			m.logs[p] = append(m.logs[p], s.Value)
		}
		m.h.Complete(id, Indeterminate, Reply{Attempts: reply.Attempts}, m.tick())
		if rapid.Bool().Draw(t, "close") {
			m.h.CloseIndeterminate(id, m.now)
		}
	}
}

func (m *modelLog) poll(t *rapid.T, client int, p string, from Offset, limit int) {
	key := [2]string{fmt.Sprint(client), p}
	start, known := m.next[key]
	if from != Continue || !known {
		from = min(from, Offset(len(m.logs[p])))
		if from == Continue {
			from = 0
		}
		start = from
	}
	var records []Record
	for o := start; o < Offset(len(m.logs[p])) && len(records) < limit; o++ {
		records = append(records, Record{o, m.logs[p][o]})
	}
	id := m.h.Invoke(client, Poll{Partition: p, From: from}, m.tick())
	m.h.Complete(id, OK, Reply{Records: records}, m.tick())
	m.next[key] = start + Offset(len(records))
}

func (m *modelLog) step(t *rapid.T) {
	switch rapid.IntRange(0, 2).Draw(t, "op") {
	case 0:
		m.send(t)
	case 1:
		p := rapid.SampledFrom(propertyPartitions).Draw(t, "partition")
		from := Offset(rapid.IntRange(-1, 8).Draw(t, "from")) // -1 is Continue
		m.poll(t, rapid.IntRange(0, 2).Draw(t, "consumer"), p, from, rapid.IntRange(0, 3).Draw(t, "limit"))
	default:
		p := rapid.SampledFrom(propertyPartitions).Draw(t, "partition")
		id := m.h.Invoke(3, ListLatest{Partition: p}, m.tick())
		m.h.Complete(id, OK, Reply{Offset: Offset(len(m.logs[p]))}, m.tick())
	}
}

func TestSequentialHistoriesPassEveryChecker(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &modelLog{logs: map[string][]string{}, next: map[[2]string]Offset{}}
		for range rapid.IntRange(0, 40).Draw(t, "steps") {
			m.step(t)
		}
		for _, p := range propertyPartitions { // a final reader catches up
			m.poll(t, 9, p, 0, len(m.logs[p]))
		}
		crashes := rapid.Bool().Draw(t, "crashes") // exemptions must not create anomalies
		r, err := Check(&m.h, Options{Crashes: crashes})
		if err != nil || !r.OK() {
			t.Fatalf("Check: %v\n%s", err, r)
		}
		lin, err := CheckLinearizable(&m.h, checkTimeout)
		if err != nil || !lin.OK {
			t.Fatalf("CheckLinearizable: OK = %v, err = %v", lin.OK, err)
		}
	})
}
