package main

// Goal: the built `takhin` binary as a separate process (issue 4,
// criterion 2). kill -9 mid-stream loses no acknowledged record and
// duplicates none; SIGTERM stops cleanly (exit 0) with every acknowledged
// record on disk; the data-directory lock, a node-id mismatch, an
// unspecified advertised address and an unknown config key are refused
// with a non-zero exit and a message naming the problem; and `takhin
// serve` with no flags serves on 127.0.0.1:9092 over ./takhin-data.
// Every wait is a poll with a deadline (STYLE rule 27).

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// procRecordsBeforeSignal is how many acknowledged records a test waits
// for before it kills or stops the broker: thousands, not millions, to
// keep the file well under a minute.
const procRecordsBeforeSignal = 5_000

// TestKill9MidStream kills the broker with SIGKILL while an idempotent
// acks=all producer streams into three partitions, restarts it on the
// same data directory and reads everything back.
//
// The page cache survives kill -9, so this proves recovery (the segment,
// index and producer-state files are read back correctly after an
// unclean stop, and the flock is released by the kernel), not the order
// of fsyncs: the simulator, whose file system loses unsynced writes,
// proves that.
func TestKill9MidStream(t *testing.T) {
	data := t.TempDir()
	srv := procServe(t, data)
	procCreateTopic(t, srv.addr, "kill9", 3)
	pr := procStartProducer(t, srv.addr, "kill9", "k9") // acks=all and idempotence are kgo's defaults
	procWaitFor(t, 30*time.Second, "acknowledged records", func() bool { return pr.ackedCount() >= procRecordsBeforeSignal })

	srv.signal(syscall.SIGKILL) // mid-stream: the producer is still sending
	if code := srv.waitExit(procExitWithin); code != -1 {
		t.Fatalf("after SIGKILL the exit code is %d, want -1 (killed by a signal)", code)
	}
	pr.stop()
	ty := pr.tally()
	t.Logf("%v", ty)
	if ty.failed == 0 {
		t.Logf("no record was in flight at the kill: the kill was not mid-stream this time")
	}

	cluster := procClusterID(srv.output())
	srv = procServe(t, data) // the flock must be free again
	if got := procClusterID(srv.output()); cluster == "" || got != cluster {
		t.Errorf("cluster id %q before the kill, %q after", cluster, got)
	}
	// The recovered log takes new records after the old ones.
	after := procProduceSync(t, srv.addr, "kill9", "after", 300)
	log := procConsumeAll(t, srv.addr, "kill9")
	procCheckAcked(t, log, append(ty.acked, after...))
	procCheckNoDuplicates(t, log, "k9-")
	procCheckNoDuplicates(t, log, "after-")
	srv.signal(syscall.SIGTERM)
	if code := srv.waitExit(procExitWithin); code != 0 {
		t.Errorf("SIGTERM after recovery: exit code %d, want 0", code)
	}
}

// TestSigtermLosesNothing stops the broker with SIGTERM while an acks=all
// idempotent producer and an acks=1 producer stream into it: it must
// finish what is in flight, exit 0 saying it stopped cleanly, and have
// every acknowledged record after a restart.
func TestSigtermLosesNothing(t *testing.T) {
	r := procSigtermMidStream(t, procRecordsBeforeSignal)
	t.Logf("acks=all: %v; acks=1: %v", r.all, r.one)
	procCheckAcked(t, r.log, append(r.all.acked, r.one.acked...))
	// Only the idempotent producer promises no duplicates: an acks=1
	// producer without idempotence may legitimately write a retry twice.
	procCheckNoDuplicates(t, r.log, "all-")
}

// procSigtermRun is one SIGTERM mid-stream: what the two producers were
// told and the log read back after a restart (srv, still running).
type procSigtermRun struct {
	all, one procTally
	log      map[int32]map[int64]string
	srv      *procServer
}

// procSigtermMidStream streams into a 3-partition topic from an acks=all
// idempotent producer ("all-<n>") and an acks=1 one ("one-<n>"), sends
// SIGTERM once both have acknowledgements and together at least
// threshold, checks the clean exit, restarts and reads the topic back.
func procSigtermMidStream(t *testing.T, threshold int) procSigtermRun {
	t.Helper()
	data := t.TempDir()
	srv := procServe(t, data)
	procCreateTopic(t, srv.addr, "sigterm", 3)
	all := procStartProducer(t, srv.addr, "sigterm", "all")
	one := procStartProducer(t, srv.addr, "sigterm", "one",
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	procWaitFor(t, 30*time.Second, "acknowledged records from both producers", func() bool {
		a, o := all.ackedCount(), one.ackedCount()
		return a+o >= threshold && a > 0 && o > 0
	})

	srv.signal(syscall.SIGTERM)
	if code := srv.waitExit(procExitWithin + 30*time.Second); code != 0 { // serve's own stop budget is 30s
		t.Fatalf("SIGTERM: exit code %d, want 0:\n%s", code, srv.output())
	}
	if out := srv.output(); !strings.Contains(out, "stopped cleanly") {
		t.Errorf("the log does not say it stopped cleanly:\n%s", out)
	}
	all.stop()
	one.stop()
	r := procSigtermRun{all: all.tally(), one: one.tally()}
	r.srv = procServe(t, data)
	r.log = procConsumeAll(t, r.srv.addr, "sigterm")
	return r
}

// TestSigtermAnswersWhatItWrote checks the "finish in-flight requests"
// half of a clean stop: a record in the log after SIGTERM must have been
// acknowledged, since nothing was retried. It caught a race (Node.Stop's
// drain looked only at broker.InFlight, so a request already in the node's
// inbox was executed but never answered; about one SIGTERM in ten under
// this load hit it): the drain now waits for an empty inbox too. CI runs
// 4 rounds (2 s each: the close linger); TAKHIN_PROC_REPRO=1 runs 20.
func TestSigtermAnswersWhatItWrote(t *testing.T) {
	rounds := 4
	if os.Getenv("TAKHIN_PROC_REPRO") != "" {
		rounds = 20
	}
	for round := 1; round <= rounds && !t.Failed(); round++ {
		r := procSigtermMidStream(t, 1000*round)
		acked := map[string]bool{}
		for _, a := range append(r.all.acked, r.one.acked...) {
			acked[a.value] = true
		}
		unanswered := map[string]int{}
		for _, recs := range r.log {
			for _, v := range recs {
				if !acked[v] {
					unanswered[strings.SplitN(v, "-", 2)[0]]++
				}
			}
		}
		if len(unanswered) > 0 {
			t.Errorf("round %d: records in the log that were never acknowledged, by producer: %v (acks=all: %v; acks=1: %v)",
				round, unanswered, r.all, r.one)
		}
		r.srv.signal(syscall.SIGKILL)
		r.srv.waitExit(procExitWithin)
	}
}

// TestSigtermWithParkedFetch stops the broker while a consumer's fetch is
// parked on an empty partition (a long-poll of fetch.max.wait.ms = 25 s):
// the stop must refuse new connections at once ("stop accepting") and
// must not wait for the long-poll to expire. Both failed at first: the
// listener stayed open during the drain (a new client was served, its
// produce even acknowledged), and a parked fetch held the drain for its
// whole wait. Now the listener closes first and a stopping broker answers
// parked long-polls at once.
func TestSigtermWithParkedFetch(t *testing.T) {
	srv := procServe(t, t.TempDir())
	procCreateTopic(t, srv.addr, "idle", 1)
	var fetches procFetchWrites
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.addr), kgo.ConsumeTopics("idle"),
		kgo.FetchMaxWait(25*time.Second), kgo.WithHooks(&fetches))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cl.PollFetches(ctx)
	procWaitFor(t, 10*time.Second, "the consumer's fetch", func() bool { return fetches.n.Load() > 0 })

	start := time.Now()
	srv.signal(syscall.SIGTERM)
	procWaitFor(t, 10*time.Second, "the stopping log line", func() bool { return strings.Contains(srv.output(), "stopping") })
	if !srv.exited() {
		if err := procMetadataWithin(srv.addr, 2*time.Second); err == nil {
			t.Errorf("a new client got a Metadata answer %s after SIGTERM: the broker still accepts", time.Since(start).Round(time.Millisecond))
		}
	}
	const promptly = 10 * time.Second
	select {
	case <-srv.done:
		if srv.code != 0 {
			t.Errorf("exit code %d, want 0", srv.code)
		}
	case <-time.After(time.Until(start.Add(promptly))):
		code := srv.waitExit(procExitWithin + 30*time.Second)
		t.Errorf("SIGTERM with a parked fetch: exit (code %d) took %s, want under %s",
			code, time.Since(start).Round(time.Millisecond), promptly)
	}
}

// TestSecondProcessRefused starts a second broker on a data directory a
// running one holds: it must exit non-zero at once, naming the lock, and
// leave the first one serving.
func TestSecondProcessRefused(t *testing.T) {
	data := t.TempDir()
	srv := procServe(t, data)
	code, out := procRefused(t, "serve", "--kafka-addr", "127.0.0.1:0", "--data-dir", data)
	if code <= 0 {
		t.Errorf("second process: exit code %d, want non-zero", code)
	}
	if !strings.Contains(out, "in use") && !strings.Contains(strings.ToLower(out), "lock") {
		t.Errorf("second process: the message names neither the lock nor the directory being in use:\n%s", out)
	}
	srv.waitReady() // the first one still serves
}

// TestNodeIDMismatchRefused restarts a data directory bootstrapped by
// node 1 (and stopped with SIGINT) as node 2.
func TestNodeIDMismatchRefused(t *testing.T) {
	data := t.TempDir()
	srv := procServe(t, data)
	srv.signal(syscall.SIGINT) // Ctrl-C stops as cleanly as SIGTERM
	if code := srv.waitExit(procExitWithin); code != 0 || !strings.Contains(srv.output(), "stopped cleanly") {
		t.Fatalf("SIGINT: exit code %d, want 0 and a clean stop:\n%s", code, srv.output())
	}
	code, out := procRefused(t, "serve", "--kafka-addr", "127.0.0.1:0", "--data-dir", data, "--node-id", "2")
	if code <= 0 || !strings.Contains(out, "node id") {
		t.Errorf("--node-id 2 over node 1's data: exit code %d, want non-zero with a message about the node id:\n%s", code, out)
	}
}

// TestAdvertiseUnspecifiedRefused listens on every interface without an
// advertised address, which clients could not connect to: a usage error.
func TestAdvertiseUnspecifiedRefused(t *testing.T) {
	code, out := procRefused(t, "serve", "--kafka-addr", "0.0.0.0:0", "--data-dir", t.TempDir())
	if code != 2 || !strings.Contains(out, "--advertised-kafka-addr") {
		t.Errorf("--kafka-addr 0.0.0.0:0 alone: exit code %d, want 2 with a message naming --advertised-kafka-addr:\n%s", code, out)
	}
}

// TestBadConfigRefused gives a config file with a key Kafka does not
// have.
func TestBadConfigRefused(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "takhin.yaml")
	if err := os.WriteFile(cfg, []byte("num.partitions: 3\nno.such.config.key: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := procRefused(t, "serve", "--kafka-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--config", cfg)
	if code <= 0 || !strings.Contains(out, "no.such.config.key") {
		t.Errorf("unknown config key: exit code %d, want non-zero with a message naming no.such.config.key:\n%s", code, out)
	}
}

// TestZeroConfig runs `takhin serve` with no flags in an empty working
// directory: it serves on 127.0.0.1:9092 over ./takhin-data. Port 9092
// belongs to the machine, so a busy port skips the test.
func TestZeroConfig(t *testing.T) {
	const addr = "127.0.0.1:9092"
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("%s is in use on this machine (%v): cannot check the default listener", addr, err)
	}
	ln.Close()
	wd := t.TempDir()
	srv := procLaunch(t, wd, "serve")
	srv.addr = addr
	// Someone may take the port between the check and the listen:
	// wait for the broker's own word on where it serves before asking
	// the port, so a stranger on 9092 is never mistaken for it.
	procWaitFor(t, procReadyWithin, "the serving log line or an exit", func() bool {
		return srv.exited() || strings.Contains(srv.output(), "takhin serving")
	})
	if out := srv.output(); srv.exited() && strings.Contains(out, "address already in use") {
		t.Skipf("%s was taken between the check and the listen:\n%s", addr, out)
	}
	srv.waitReady()
	if out := srv.output(); !strings.Contains(out, `"kafka_addr": "`+addr+`"`) {
		t.Errorf("the serving line does not name %s:\n%s", addr, out)
	}
	lock := filepath.Join(wd, "takhin-data", ".lock")
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("no ./takhin-data in the working directory: %v", err)
	}
	if out := srv.output(); !strings.Contains(out, `/takhin-data"`) || procClusterID(out) == "" {
		t.Errorf("the log names neither the data directory nor the cluster id:\n%s", out)
	}
	srv.signal(syscall.SIGTERM)
	if code := srv.waitExit(procExitWithin); code != 0 {
		t.Errorf("SIGTERM: exit code %d, want 0", code)
	}
}

// TestListenersFromTheConfigFile: with no --kafka-addr, the file's
// listeners is bound and its advertised.listeners is what Metadata tells
// clients; DescribeConfigs reports both as the file set them.
func TestListenersFromTheConfigFile(t *testing.T) {
	port := procFreePort(t)
	listen := fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", port)
	adv := fmt.Sprintf("PLAINTEXT://localhost:%d", port)
	cfg := filepath.Join(t.TempDir(), "takhin.yaml")
	if err := os.WriteFile(cfg, []byte("listeners: "+listen+"\nadvertised.listeners: "+adv+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := procLaunch(t, t.TempDir(), "serve", "--data-dir", t.TempDir(), "--config", cfg)
	srv.addr = fmt.Sprintf("127.0.0.1:%d", port)
	srv.waitReady()
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := adm.BrokerMetadata(ctx)
	if err != nil || len(md.Brokers) != 1 || md.Brokers[0].Host != "localhost" || md.Brokers[0].Port != int32(port) {
		t.Fatalf("metadata brokers %+v (%v), want localhost:%d from advertised.listeners", md.Brokers, err, port)
	}
	configs, err := adm.DescribeBrokerConfigs(ctx, md.Brokers[0].NodeID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On(fmt.Sprint(md.Brokers[0].NodeID), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"listeners": listen, "advertised.listeners": adv}
	for _, c := range rc.Configs {
		if w, ok := want[c.Key]; ok {
			if c.Value == nil || *c.Value != w {
				t.Errorf("%s = %v, want %s", c.Key, c.Value, w)
			}
			delete(want, c.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("DescribeConfigs left out %v", want)
	}
}
