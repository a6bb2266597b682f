package main

// `takhin bench` output: small aligned tables for people, --format json
// for scripts (the same structs, whole).

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// human prints a rate with three significant digits: 1.23M, 456k, 78.9.
func human(x float64) string {
	switch {
	case x >= 1e12:
		return "inf"
	case x >= 1e6:
		return fmt.Sprintf("%.3gM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.3gk", x/1e3)
	}
	return fmt.Sprintf("%.3g", x)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func inflightLine(w workload) string {
	if w.Acks == "all" {
		return fmt.Sprintf("%d in flight per broker (idempotent)", w.inflight())
	}
	return fmt.Sprintf("%d in flight per broker (idempotence off)", w.inflight())
}

func writeSingleText(out io.Writer, rep singleReport) {
	w := rep.Workload
	fmt.Fprintf(out, "takhin bench: %s, topic %s (%d partitions), codec %s, linger 0, %s\n",
		w.label(), w.Topic, w.Partitions, w.Codec, inflightLine(w))
	t := newTable(out)
	fmt.Fprintln(t, "\tRECORDS\tSECONDS\tREC/S\tMB/S\t")
	p := rep.Produce
	if p.Seconds > 0 {
		fmt.Fprintf(t, "produce\t%d\t%.2f\t%s\t%.1f\t\n", p.Records, p.Seconds, human(p.RecordsPerSec), p.MBPerSec)
	}
	if c := rep.Consume; c != nil {
		fmt.Fprintf(t, "consume\t%d\t%.2f\t%s\t%.1f\tverified=%v\n", c.Records, c.Seconds, human(c.RecordsPerSec), c.MBPerSec, c.Verified)
	}
	t.Flush()
	if u := p.CPU; u != nil {
		fmt.Fprintf(out, "produce CPU: %s core-seconds of %d cores x %.2f s\n", cpuCell(u), u.Cores, p.Seconds)
	}
	if l := p.Latency; l != nil {
		fmt.Fprintf(out, "latency at %d rec/s over %d records: p50 %.2f ms  p99 %.2f ms  p999 %.2f ms  max %.2f ms\n",
			l.Rate, l.Samples, l.P50Ms, l.P99Ms, l.P999Ms, l.MaxMs)
	}
	if rep.Error != "" {
		fmt.Fprintln(out, "error:", rep.Error)
	}
}

func writeCompareText(out io.Writer, rep *compareReport) {
	fmt.Fprintf(out, "takhin bench --compare: scale %g, codec %s, %d partitions, linger 0, batches <= %d B, <= %d buffered records\n",
		rep.Scale, rep.Codec, rep.Partitions, rep.BatchBytesMax, rep.MaxBufferedRecords)
	for _, w := range rep.workloads[:min(2, len(rep.workloads))] {
		fmt.Fprintf(out, "  acks=%s: %s\n", w.Acks, inflightLine(w))
	}
	for _, b := range rep.Brokers {
		fmt.Fprintf(out, "  %-8s %s\n", b.Name, b.Describe)
	}
	f := rep.Fsync
	fmt.Fprintf(out, "  fsync    4 KiB append + fsync x %d in %s: p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
		f.Samples, f.Dir, f.P50Ms, f.P99Ms, f.MaxMs)
	fmt.Fprintf(out, "  disk     256 MiB in 1 MiB appends, each fsynced: %.0f MB/s\n", f.WriteMBps)
	if pc := rep.PageCache; len(pc.KeptCPUMs) > 0 {
		fmt.Fprintf(out, "  page cache  CPU to write %d MiB (unsynced) to each of %d new files, kept: %s ms; to one more after removing them: %.0f ms\n",
			pc.Bytes>>20, len(pc.KeptCPUMs), joinMs(pc.KeptCPUMs), pc.ReusedCPUMs)
	}
	fmt.Fprintln(out)
	writeRuns(out, rep)
	writeRatios(out, rep)
	writeLatencies(out, rep)
	fmt.Fprintln(out, "targets (issue 4; a report, not a test):")
	for _, t := range rep.Targets {
		verdict := "MISS"
		if t.Pass {
			verdict = "PASS"
		}
		fmt.Fprintf(out, "  %s  %s\n        %s\n", verdict, t.Name, t.Detail)
	}
	if len(rep.Errors) > 0 {
		fmt.Fprintf(out, "\nerrors:\n  %s\n", strings.Join(rep.Errors, "\n  "))
	}
}

func writeRuns(out io.Writer, rep *compareReport) {
	t := newTable(out)
	fmt.Fprintln(t, "WORKLOAD\tBROKER\tPRODUCE REC/S\tMB/S\tCPU S\tCONSUME REC/S\tMB/S\tVERIFIED\tCPU S\tPRODUCE RUNS\t")
	for _, w := range rep.workloads {
		for _, b := range rep.Brokers {
			r := rep.run(b.Name, w)
			if r == nil {
				continue
			}
			produce, consume := "-\t-\t-", "-\t-\t-\t-"
			if p := r.Produce; p != nil {
				produce = fmt.Sprintf("%s\t%.1f\t%s", human(p.RecordsPerSec), p.MBPerSec, cpuCell(p.CPU))
			}
			if c := r.Consume; c != nil {
				consume = fmt.Sprintf("%s\t%.1f\t%v\t%s", human(c.RecordsPerSec), c.MBPerSec, c.Verified, cpuCell(c.CPU))
			}
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t\n", w.label(), b.Name, produce, consume, spread(r.ProduceRuns))
		}
	}
	t.Flush()
	fmt.Fprintln(out, "CPU S: core-seconds used during the phase, bench (the client) + broker process, or bench alone with the broker in it")
	fmt.Fprintln(out)
}

// cpuCell is a phase's CPU time: "0.86 = 0.58+0.28" when the broker is a
// process of its own, else the bench's alone (the broker included).
func cpuCell(u *cpuUsage) string {
	switch {
	case u == nil:
		return "-"
	case u.BrokerSeparate:
		return fmt.Sprintf("%.2f = %.2f+%.2f", u.total(), u.BenchSeconds, u.BrokerSeconds)
	}
	return fmt.Sprintf("%.2f", u.BenchSeconds)
}

// spread is every repeat's rate, when there was more than one.
func spread(rates []float64) string {
	if len(rates) < 2 {
		return ""
	}
	parts := make([]string, len(rates))
	for i, r := range rates {
		parts[i] = human(r)
	}
	return strings.Join(parts, " ")
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func writeRatios(out io.Writer, rep *compareReport) {
	t := newTable(out)
	fmt.Fprintln(t, "WORKLOAD\tPRODUCE TAKHIN/KFAKE\tPRODUCE TAKHIN/CEILING\tPRODUCE TAKHIN/DISK CEILING\tCONSUME TAKHIN/KFAKE\t")
	for _, w := range rep.workloads {
		takhin := rep.produceRate(brokerTakhin, w)
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t\n", w.label(), ratio(takhin, rep.produceRate(brokerKfake, w)),
			ratio(takhin, rep.produceRate(brokerCeiling, w)), ratio(takhin, rep.produceRate(brokerDiskCeiling, w)),
			ratio(rep.consumeRate(brokerTakhin, w), rep.consumeRate(brokerKfake, w)))
	}
	t.Flush()
	fmt.Fprintln(out)
}

func writeLatencies(out io.Writer, rep *compareReport) {
	w := rep.latencyWorkload
	fmt.Fprintf(out, "produce latency, Produce call to callback: %s at %d rec/s, linger 0\n", w.label(), w.Rate)
	t := newTable(out)
	fmt.Fprintln(t, "BROKER\tP50 MS\tP99 MS\tP999 MS\tMAX MS\t")
	for _, l := range rep.Latency {
		if l.Latency == nil {
			fmt.Fprintf(t, "%s\t-\t-\t-\t-\t\n", l.Broker)
			continue
		}
		fmt.Fprintf(t, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t\n", l.Broker, l.Latency.P50Ms, l.Latency.P99Ms, l.Latency.P999Ms, l.Latency.MaxMs)
	}
	t.Flush()
	for _, l := range rep.Latency {
		if f := l.LoadedFsync; f != nil {
			fmt.Fprintf(out, "%s's %d syncs during this run: p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", l.Broker, f.Samples, f.P50Ms, f.P99Ms, f.MaxMs)
		}
	}
	fmt.Fprintln(out)
}

func joinMs(ms []float64) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%.0f", m)
	}
	return strings.Join(parts, ", ")
}
