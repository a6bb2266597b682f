package main

// CPU accounting for `takhin bench`: the client and the broker share this
// machine's cores, so a broker's throughput is bounded by what the client
// leaves it. Each produce and consume phase records the CPU time the bench
// process used (the client, and an in-process broker with it) and, for a
// broker in a process of its own (`takhin serve`, or a reference under
// --references process), that process's, so the report can say how much
// of the machine each side took.

import (
	"runtime"
	"time"
)

// cpuUsage is the CPU time used during one phase, in core-seconds.
type cpuUsage struct {
	// BenchSeconds: this process (the client; an in-process broker too).
	BenchSeconds float64 `json:"bench_seconds"`
	// BrokerSeconds: a broker running as its own process, when measured.
	BrokerSeconds float64 `json:"broker_seconds,omitempty"`
	// BrokerSeparate: BrokerSeconds was measured (the broker is a process).
	BrokerSeparate bool `json:"broker_separate"`
	// Cores is runtime.NumCPU() (what both sides shared).
	Cores int `json:"cores"`
}

// total is every core-second the phase used.
func (u *cpuUsage) total() float64 { return u.BenchSeconds + u.BrokerSeconds }

// cpuMeter reads the CPU clocks of the bench and of a broker process.
type cpuMeter struct {
	// broker returns the broker process's CPU time so far, false when it
	// cannot be read (nil: the broker runs in this process).
	broker func() (time.Duration, bool)
}

type cpuReading struct {
	self, broker time.Duration
	selfOK       bool
	brokerOK     bool
}

func (m cpuMeter) read() cpuReading {
	var r cpuReading
	r.self, r.selfOK = selfCPU()
	if m.broker != nil {
		r.broker, r.brokerOK = m.broker()
	}
	return r
}

// since is the usage between an earlier reading and now; nil when this
// process's clock is unavailable (not Linux).
func (m cpuMeter) since(start cpuReading) *cpuUsage {
	end := m.read()
	if !start.selfOK || !end.selfOK {
		return nil
	}
	u := &cpuUsage{BenchSeconds: (end.self - start.self).Seconds(), Cores: runtime.NumCPU()}
	if start.brokerOK && end.brokerOK {
		u.BrokerSeconds, u.BrokerSeparate = (end.broker - start.broker).Seconds(), true
	}
	return u
}
