package main

// Helpers for process_test.go: build `takhin` once per `go test` run,
// start `takhin serve` as a child process with its output in a file, wait
// for it to serve (a poll with a deadline, STYLE rule 27), signal it, and
// produce and consume with franz-go. Every name starts with "proc" so it
// cannot clash with other files of package main.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	procReadyWithin  = 20 * time.Second // start, recovery included, to a Metadata answer
	procExitWithin   = 20 * time.Second // a SIGTERM without load, a SIGKILL
	procRefuseWithin = 10 * time.Second // a refusal: "quickly", with room for -race
	procPollEvery    = 20 * time.Millisecond
)

var procBuild struct {
	once sync.Once
	path string
	err  error
}

// procBinary builds ./cmd/takhin once per test binary. The output goes
// next to the test binary when that lives in go test's work directory
// (which go test removes afterwards), else into a fresh temp dir. Under
// -race the child is built with -race too, and its reports fail the test
// (procServer's cleanup looks for them).
func procBinary(t *testing.T) string {
	t.Helper()
	procBuild.once.Do(func() {
		root, err := procModuleRoot()
		if err != nil {
			procBuild.err = err
			return
		}
		dir, err := procBuildDir()
		if err != nil {
			procBuild.err = err
			return
		}
		args := []string{"build", "-o", filepath.Join(dir, "takhin")}
		if procRace() {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/takhin")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			procBuild.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		procBuild.path = filepath.Join(dir, "takhin")
	})
	if procBuild.err != nil {
		t.Fatalf("building takhin: %v", procBuild.err)
	}
	return procBuild.path
}

// procModuleRoot walks up from the test's working directory (cmd/takhin)
// to the directory holding go.mod.
func procModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func procBuildDir() (string, error) {
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		if strings.HasPrefix(filepath.Base(filepath.Dir(dir)), "go-build") {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "takhin-proc-test-")
}

func procRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// procFreePort returns a port nobody listened on a moment ago.
func procFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// procServer is one `takhin` child process.
type procServer struct {
	t    *testing.T
	cmd  *exec.Cmd
	logf string        // stdout and stderr
	addr string        // host:port of --kafka-addr
	done chan struct{} // closed when the process has exited and been reaped
	code int           // exit code, valid after done; -1 if killed by a signal
}

// procLaunch starts `takhin args...` with dir as its working directory
// and its output appended to a file, and reaps it in the background. The
// cleanup SIGKILLs it if it is still running, and fails the test on a
// race report in its output.
func procLaunch(t *testing.T, dir string, args ...string) *procServer {
	t.Helper()
	logf := filepath.Join(t.TempDir(), "takhin.log")
	out, err := os.OpenFile(logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the child has its own descriptor
	cmd := exec.Command(procBinary(t), args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &procServer{t: t, cmd: cmd, logf: logf, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if strings.Contains(p.output(), "WARNING: DATA RACE") {
			t.Errorf("the race detector reported in takhin %s:\n%s", strings.Join(args, " "), p.output())
		} else if t.Failed() {
			t.Logf("output of takhin %s:\n%s", strings.Join(args, " "), p.output())
		}
	})
	return p
}

// procServe starts `takhin serve --kafka-addr 127.0.0.1:<free port>
// --data-dir dataDir extra...` and waits until it serves. A port taken
// between procFreePort and the child's listen (go test runs packages in
// parallel) is retried with another.
func procServe(t *testing.T, dataDir string, extra ...string) *procServer {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := fmt.Sprintf("127.0.0.1:%d", procFreePort(t))
		args := append([]string{"serve", "--kafka-addr", addr, "--data-dir", dataDir}, extra...)
		p := procLaunch(t, t.TempDir(), args...)
		p.addr = addr
		err := p.ready()
		if err == nil {
			return p
		}
		if attempt < 3 && p.exited() && strings.Contains(p.output(), "address already in use") {
			continue
		}
		t.Fatal(err)
	}
}

func (p *procServer) output() string {
	b, _ := os.ReadFile(p.logf)
	return string(b)
}

func (p *procServer) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady fails the test unless the process serves (see ready).
func (p *procServer) waitReady() {
	p.t.Helper()
	if err := p.ready(); err != nil {
		p.t.Fatal(err)
	}
}

// ready polls until the port accepts connections and a kadm Metadata
// call is answered, and gives up at once if the process exits first.
func (p *procServer) ready() error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(procReadyWithin)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("takhin exited with code %d before serving on %s:\n%s", p.code, p.addr, p.output())
		}
		if last = procMetadata(adm, p.addr); last == nil {
			return nil
		}
		time.Sleep(procPollEvery) // the poll's interval, not an assertion
	}
	return fmt.Errorf("takhin did not serve on %s within %s (last: %v):\n%s", p.addr, procReadyWithin, last, p.output())
}

func procMetadata(adm *kadm.Client, addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	md, err := adm.Metadata(ctx)
	if err == nil && len(md.Brokers) == 0 {
		err = errors.New("metadata lists no broker")
	}
	return err
}

func (p *procServer) signal(s syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatalf("signal %v: %v", s, err)
	}
}

// waitExit waits (with a deadline) for the process to exit and returns
// its exit code, -1 if a signal killed it.
func (p *procServer) waitExit(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		p.t.Fatalf("takhin did not exit within %s:\n%s", within, p.output())
		return 0
	}
}

// procRefused runs `takhin args...` (in a temp working directory), which
// must exit by itself within procRefuseWithin, and returns its exit code
// and output.
func procRefused(t *testing.T, args ...string) (int, string) {
	t.Helper()
	p := procLaunch(t, t.TempDir(), args...)
	code := p.waitExit(procRefuseWithin)
	return code, p.output()
}

// procAcked is one record whose produce callback succeeded.
type procAcked struct {
	partition int32
	offset    int64
	value     string
}

// procProducer produces unique values "<prefix>-<n>" to a topic as fast
// as the client accepts them, until stopped, and records every ack.
type procProducer struct {
	t      *testing.T
	cl     *kgo.Client
	cancel context.CancelFunc
	loop   chan struct{} // closed when the produce loop has returned
	mu     sync.Mutex
	acked  []procAcked
	sent   int
	failed int
	first  error // the first failure, for the log
}

func procStartProducer(t *testing.T, addr, topic, prefix string, opts ...kgo.Opt) *procProducer {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr := &procProducer{t: t, cl: cl, cancel: cancel, loop: make(chan struct{})}
	t.Cleanup(pr.stop)
	go func() {
		defer close(pr.loop)
		for i := 0; ctx.Err() == nil; i++ {
			pr.mu.Lock()
			pr.sent++
			pr.mu.Unlock()
			cl.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", prefix, i)}, pr.ack)
		}
	}()
	return pr
}

func (pr *procProducer) ack(r *kgo.Record, err error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if err != nil {
		if pr.failed++; pr.first == nil {
			pr.first = err
		}
		return
	}
	pr.acked = append(pr.acked, procAcked{r.Partition, r.Offset, string(r.Value)})
}

func (pr *procProducer) ackedCount() int {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return len(pr.acked)
}

// stop ends the produce loop, closes the client, which fails every
// record still buffered, and waits until every record sent has had its
// callback (kgo runs them on its own goroutine, after Close returns).
// Idempotent.
func (pr *procProducer) stop() {
	pr.cancel()
	<-pr.loop
	pr.cl.Close()
	deadline := time.Now().Add(procExitWithin)
	for {
		pr.mu.Lock()
		pending := pr.sent - len(pr.acked) - pr.failed
		pr.mu.Unlock()
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			pr.t.Errorf("kgo ran no callback for %d records within %s of Close", pending, procExitWithin)
			return
		}
		time.Sleep(procPollEvery) // the poll's interval, not an assertion
	}
}

// procTally is what a producer left after stop.
type procTally struct {
	acked  []procAcked
	sent   int   // records given to Produce
	failed int   // unacknowledged: they may or may not be in the log
	first  error // the first failure
}

func (ty procTally) String() string {
	s := fmt.Sprintf("sent %d, acknowledged %d, failed %d", ty.sent, len(ty.acked), ty.failed)
	if ty.first != nil {
		s += fmt.Sprintf(" (first: %v)", ty.first)
	}
	return s
}

func (pr *procProducer) tally() procTally {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return procTally{append([]procAcked(nil), pr.acked...), pr.sent, pr.failed, pr.first}
}

// procWaitFor polls cond until it holds or within elapses.
func procWaitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(procPollEvery) // the poll's interval, not an assertion
	}
}

// procConsumeAll reads every partition of topic from its start to its
// end offset (as listed when called) and returns the values by partition
// and offset.
func procConsumeAll(t *testing.T, addr, topic string) map[int32]map[int64]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("list end offsets: %v %v", err, ends.Error())
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	got := map[int32]map[int64]string{}
	missing := func() bool {
		for p, end := range want {
			if int64(len(got[p])) < end {
				return true
			}
		}
		return false
	}
	for missing() {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consuming %s: %v (have %v of %v)", topic, err, procCounts(got), want)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if got[r.Partition] == nil {
				got[r.Partition] = map[int64]string{}
			}
			got[r.Partition][r.Offset] = string(r.Value)
		})
	}
	return got
}

func procCounts(got map[int32]map[int64]string) map[int32]int {
	n := map[int32]int{}
	for p, recs := range got {
		n[p] = len(recs)
	}
	return n
}

// procCheckAcked asserts every acked record is in log at exactly its
// acknowledged partition and offset with its value.
func procCheckAcked(t *testing.T, log map[int32]map[int64]string, acked []procAcked) {
	t.Helper()
	bad := 0
	for _, a := range acked {
		if got, ok := log[a.partition][a.offset]; !ok || got != a.value {
			if bad++; bad <= 10 {
				t.Errorf("acked %q at partition %d offset %d: the log has %q (present: %v)", a.value, a.partition, a.offset, got, ok)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d acknowledged records are missing or changed", bad, len(acked))
	}
}

// procCheckNoDuplicates asserts no value with prefix appears twice.
func procCheckNoDuplicates(t *testing.T, log map[int32]map[int64]string, prefix string) {
	t.Helper()
	where := map[string]string{}
	for p, recs := range log {
		for o, v := range recs {
			if !strings.HasPrefix(v, prefix) {
				continue
			}
			at := fmt.Sprintf("partition %d offset %d", p, o)
			if prev, dup := where[v]; dup {
				t.Errorf("value %q appears twice: %s and %s", v, prev, at)
			}
			where[v] = at
		}
	}
}

func procCreateTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// procClusterID is the cluster id in a broker's log ("bootstrapping
// metadata" on the first start, "metadata loaded" after), "" if none.
func procClusterID(out string) string {
	const key = `"cluster_id": "`
	i := strings.LastIndex(out, key)
	if i < 0 {
		return ""
	}
	rest := out[i+len(key):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// procProduceSync produces values "<prefix>-<n>", n < count, with acks=all
// and returns them as acknowledged.
func procProduceSync(t *testing.T, addr, topic, prefix string, count int) []procAcked {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, count)
	for i := range recs {
		recs[i] = &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", prefix, i)}
	}
	res := cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	acked := make([]procAcked, 0, count)
	for _, r := range res {
		acked = append(acked, procAcked{r.Record.Partition, r.Record.Offset, string(r.Record.Value)})
	}
	return acked
}

// procFetchWrites is a kgo hook counting Fetch requests written.
type procFetchWrites struct{ n atomic.Int32 }

func (h *procFetchWrites) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == 1 && err == nil { // 1: Fetch
		h.n.Add(1)
	}
}

// procMetadataWithin asks a fresh client for metadata, giving up after
// within.
func procMetadataWithin(addr string, within time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, err = kadm.NewClient(cl).Metadata(ctx)
	return err
}
