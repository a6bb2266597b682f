package main

// The brokers `takhin bench --compare` measures, each started and stopped
// around its own workloads so one's memory and goroutines do not weigh on
// the next: a Takhin node (in-process over driver/osfs, or a real `takhin
// serve` process with --binary), franz-go's in-memory kfake cluster (one
// broker), and the ceiling broker (bench_ceiling.go).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/driver"
)

// benchBroker is one broker under measurement.
type benchBroker struct {
	name        string // takhin, kfake or ceiling
	describe    string // how it runs, for the report
	produceOnly bool   // nothing can be consumed back (the ceiling)
	addr        string
	stop        func() error
	// syncs, when set, returns the broker's own sync durations since the
	// last call (the disk ceiling's: fsync latency under load).
	syncs func() ([]time.Duration, error)
	// cpu, when set, returns the CPU time of the broker's own process
	// (nil: it runs in the bench's process).
	cpu func() (time.Duration, bool)
}

const (
	brokerTakhin  = "takhin"
	brokerKfake   = "kfake"
	brokerCeiling = "ceiling"
	// processStartTimeout bounds how long a `takhin serve` process may
	// take to answer Metadata.
	processStartTimeout = 30 * time.Second
)

func startCeilingBroker() (*benchBroker, error) {
	c, err := startCeiling("127.0.0.1:0", nil)
	if err != nil {
		return nil, fmt.Errorf("ceiling: %w", err)
	}
	return &benchBroker{name: brokerCeiling, describe: "in-process, stores nothing", produceOnly: true,
		addr: c.Addr(), stop: c.Close}, nil
}

func startKfake() (*benchBroker, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return nil, fmt.Errorf("kfake: %w", err)
	}
	stop := func() error { c.Close(); return nil }
	return &benchBroker{name: brokerKfake, describe: "in-process, in memory, 1 broker", addr: c.ListenAddrs()[0], stop: stop}, nil
}

// startTakhinInProcess runs a node as `takhin serve` would (keep the two
// NodeConfigs alike), with Kafka's default broker configs, over dir.
func startTakhinInProcess(dir string) (*benchBroker, error) {
	cfg, err := config.LoadBroker(nil, map[string]string{"node.id": "1"})
	if err != nil {
		return nil, err
	}
	fatal := make(chan error, 1)
	node, err := driver.StartNode(nodeConfig(cfg, dir, "127.0.0.1:0", zap.NewNop(), func(err error) {
		select {
		case fatal <- err:
		default:
		}
	}))
	if err != nil {
		return nil, fmt.Errorf("takhin: %w", err)
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := node.Stop(ctx)
		select {
		case ferr := <-fatal:
			err = errors.Join(err, fmt.Errorf("fatal storage error during the run: %w", ferr))
		default:
		}
		return err
	}
	return &benchBroker{name: brokerTakhin, describe: "in-process node over " + dir, addr: node.Addr(), stop: stop}, nil
}

// startTakhinProcess runs `binary serve` on a free loopback port over dir,
// its log in dir/../takhin-serve.log, and waits until it answers Metadata.
func startTakhinProcess(binary, dir string) (*benchBroker, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(filepath.Dir(dir), "takhin-serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "serve", "--kafka-addr", addr, "--data-dir", dir, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("--binary: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	stop := func() error { return stopProcess("takhin serve", cmd, exited) }
	if err := waitReady(addr, exited); err != nil {
		_ = stop()
		return nil, fmt.Errorf("takhin serve: %w (log: %s)", err, logTail(logPath))
	}
	pid := cmd.Process.Pid
	return &benchBroker{name: brokerTakhin, describe: "`" + binary + " serve` process over " + dir, addr: addr, stop: stop,
		cpu: func() (time.Duration, bool) { return processCPU(pid) }}, nil
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls the listener with Metadata requests until one succeeds,
// the process exits, or processStartTimeout passes.
func waitReady(addr string, exited <-chan error) error {
	deadline := time.Now().Add(processStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before serving: %v", err)
		default:
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = cl.Ping(ctx)
			cancel()
			cl.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not serving within %s", processStartTimeout)
}

// stopProcess sends SIGTERM (a clean stop, as an operator would) and kills
// the process, called name in errors, if it has not exited within 30 s.
func stopProcess(name string, cmd *exec.Cmd, exited <-chan error) error {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		// Already gone: it died during the run, or before serving (which
		// waitReady reported). Say how it ended.
		if err := <-exited; err != nil {
			return fmt.Errorf("%s had exited: %w", name, err)
		}
		return fmt.Errorf("%s had exited before it was stopped", name)
	}
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("%s exited with %w", name, err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within 30 s of SIGTERM; killed", name)
	}
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return path
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}
