package main

// References as processes. With --binary, `takhin bench --compare` runs
// the ceiling, the disk ceiling and kfake each in a process of its own,
// the bench binary itself started as `takhin bench --serve-reference
// NAME`, so every broker it compares lives where Takhin does: beside the
// client, not inside it. In-process, a reference shares the client's Go
// runtime (one scheduler, one netpoller, one sysmon, wake-ups that never
// cross processes); on a machine where the client and the broker share
// the cores that is an advantage a `takhin serve` process does not have,
// and a ratio against it measures placement as much as the broker.
// `--references in-process` keeps them in the bench's process.
//
// The child speaks lines on stdin and stdout: it prints "ready ADDR" once
// it listens; to "syncs" it answers one line of the sync durations in
// nanoseconds since the last ask (the disk ceiling's; the others answer an
// empty line); it stops on SIGTERM, SIGINT or the end of stdin, so a bench
// that dies does not leave it behind.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Values of --references.
const (
	referencesAuto      = "auto" // processes with --binary, in-process without
	referencesProcess   = "process"
	referencesInProcess = "in-process"
)

// referenceProcesses reports whether --compare runs its references as
// processes.
func (f benchFlags) referenceProcesses() bool {
	return f.references == referencesProcess || f.references == referencesAuto && f.binary != ""
}

// startReferenceInProcess starts the named reference in this process.
func startReferenceInProcess(name, dir string) (*benchBroker, error) {
	switch name {
	case brokerCeiling:
		return startCeilingBroker()
	case brokerDiskCeiling:
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return startDiskCeilingBroker(dir)
	case brokerKfake:
		return startKfake()
	}
	return nil, fmt.Errorf("no reference broker %q (want %s, %s or %s)", name, brokerCeiling, brokerDiskCeiling, brokerKfake)
}

// serveReference is `takhin bench --serve-reference NAME`: the child side.
func serveReference(name, dir string, stdin io.Reader, stdout, stderr io.Writer) int {
	b, err := startReferenceInProcess(name, dir)
	if err != nil {
		fmt.Fprintln(stderr, "takhin bench:", err)
		return 1
	}
	out := bufio.NewWriter(stdout)
	fmt.Fprintf(out, "ready %s\n", b.addr)
	if err := out.Flush(); err != nil {
		_ = b.stop()
		return 1
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	inputEnded := make(chan struct{})
	go func() {
		defer close(inputEnded)
		in := bufio.NewScanner(stdin)
		for in.Scan() {
			if in.Text() != "syncs" {
				continue
			}
			var line []string
			if b.syncs != nil {
				for _, d := range b.syncs() {
					line = append(line, strconv.FormatInt(int64(d), 10))
				}
			}
			fmt.Fprintln(out, strings.Join(line, " "))
			if out.Flush() != nil {
				return
			}
		}
	}()
	select {
	case <-signals:
	case <-inputEnded:
	}
	if err := b.stop(); err != nil {
		fmt.Fprintf(stderr, "takhin bench: %s: stop: %v\n", name, err)
		return 1
	}
	return 0
}

// referenceDescribe says how each reference runs, for the report.
var referenceDescribe = map[string]string{
	brokerCeiling:     "stores nothing",
	brokerDiskCeiling: "appends and group-syncs, nothing else",
	brokerKfake:       "in memory, 1 broker",
}

// startReferenceProcess runs this binary as `bench --serve-reference
// name` over dir, its stderr in dir/../NAME.log, and waits for its ready
// line.
func startReferenceProcess(name, dir string) (*benchBroker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(filepath.Dir(dir), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "bench", "--serve-reference", name, "--dir", dir)
	cmd.Stderr = logFile
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s process: %w", name, err)
	}
	lines := bufio.NewReader(stdoutPipe)
	ready := make(chan string, 1)
	go func() {
		line, _ := lines.ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	stop := func() error { err := stopProcess(name, cmd, exited); stdin.Close(); return err }
	var addr string
	select {
	case line := <-ready:
		addr, _ = strings.CutPrefix(line, "ready ")
	case <-time.After(processStartTimeout):
	}
	if addr == "" {
		_ = stop()
		return nil, fmt.Errorf("%s process did not start (log: %s)", name, logTail(logPath))
	}
	pid := cmd.Process.Pid
	b := &benchBroker{name: name, describe: "process, " + referenceDescribe[name], produceOnly: name != brokerKfake,
		addr: addr, stop: stop, cpu: func() (time.Duration, bool) { return processCPU(pid) }}
	if name == brokerDiskCeiling {
		var mu sync.Mutex
		b.syncs = func() []time.Duration {
			mu.Lock()
			defer mu.Unlock()
			syncs, err := askSyncs(stdin, lines)
			if err != nil {
				fmt.Fprintf(os.Stderr, "takhin bench: %s: syncs: %v\n", name, err)
			}
			return syncs
		}
	}
	return b, nil
}

// askSyncs asks a reference process for its sync durations since the last
// ask.
func askSyncs(stdin io.Writer, lines *bufio.Reader) ([]time.Duration, error) {
	if _, err := io.WriteString(stdin, "syncs\n"); err != nil {
		return nil, err
	}
	line, err := lines.ReadString('\n')
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for _, f := range strings.Fields(line) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, errors.New("malformed syncs line")
		}
		out = append(out, time.Duration(ns))
	}
	return out, nil
}
