package main

// References as processes. With --binary, `takhin bench --compare` runs
// the ceiling, the disk ceiling and kfake each in a process of its own,
// the bench binary itself started as `takhin bench --serve-reference
// NAME`, so every broker it compares lives where Takhin does: beside the
// client, not inside it. In-process, a reference shares the client's Go
// runtime (one scheduler, one netpoller, one sysmon, wake-ups that never
// cross processes); on a machine where the client and the broker share
// the cores that is an advantage a `takhin serve` process does not have,
// and a ratio against it measures placement as much as the broker. (Also
// the bench's runtime.GC() before each run collects an in-process
// reference's garbage from earlier runs; a process collects its own, as
// takhin serve does.)
// `--references in-process` keeps them in the bench's process.
//
// The child speaks lines on stdin and stdout: it prints "ready ADDR" once
// it listens; to "syncs" it answers one line of the sync durations in
// nanoseconds since the last ask (the disk ceiling's; the others answer an
// empty line); it stops on SIGTERM, SIGINT or the end of stdin, so a bench
// that dies does not leave it behind.

import (
	"bufio"
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
// processes (validate refuses them beside an in-process Takhin).
func (f benchFlags) referenceProcesses() bool {
	return f.binary != "" && f.references != referencesInProcess
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
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	out := bufio.NewWriter(stdout)
	fmt.Fprintf(out, "ready %s\n", b.addr)
	if err := out.Flush(); err != nil {
		_ = b.stop()
		return 1
	}
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
				syncs, _ := b.syncs() // in-process: never fails
				for _, d := range syncs {
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

// referenceReplyTimeout bounds the wait for a reference process's line.
const referenceReplyTimeout = 10 * time.Second

// startReferenceProcess runs this binary as `bench --serve-reference
// name` over dir, its stderr in dir/../NAME.log, and waits for its ready
// line. Its stdout is a pipe of our own rather than cmd.StdoutPipe, so
// that Wait (which closes cmd's pipes) can run while we still read it, and
// reads can have deadlines.
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
	outR, outW, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	cmd := exec.Command(self, "bench", "--serve-reference", name, "--dir", dir)
	cmd.Stdout, cmd.Stderr = outW, logFile
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	outW.Close() // the child holds its own copy
	if err != nil {
		outR.Close()
		logFile.Close()
		return nil, fmt.Errorf("%s process: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	ctl := &referenceControl{stdin: stdin, out: outR, lines: bufio.NewReader(outR)}
	stop := func() error {
		err := stopProcess(name, cmd, exited)
		ctl.close()
		if err != nil {
			return fmt.Errorf("%w (log: %s)", err, logTail(logPath))
		}
		return nil
	}
	line, err := ctl.readLine()
	addr, ok := strings.CutPrefix(line, "ready ")
	if err != nil || !ok || addr == "" {
		_ = stop()
		return nil, fmt.Errorf("%s process did not start: first line %q, %v (log: %s)", name, line, err, logTail(logPath))
	}
	pid := cmd.Process.Pid
	b := &benchBroker{name: name, describe: "process, " + referenceDescribe[name], produceOnly: name != brokerKfake,
		addr: addr, stop: stop, cpu: func() (time.Duration, bool) { return processCPU(pid) }}
	if name == brokerDiskCeiling {
		b.syncs = ctl.syncs
	}
	return b, nil
}

// referenceControl is the parent's end of a reference process's lines.
type referenceControl struct {
	mu    sync.Mutex
	stdin io.WriteCloser
	out   *os.File
	lines *bufio.Reader
}

// readLine reads one line, failing after referenceReplyTimeout.
func (c *referenceControl) readLine() (string, error) {
	if err := c.out.SetReadDeadline(time.Now().Add(referenceReplyTimeout)); err != nil {
		return "", err
	}
	line, err := c.lines.ReadString('\n')
	return strings.TrimSpace(line), err
}

// syncs asks the process for its sync durations since the last ask.
func (c *referenceControl) syncs() ([]time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.stdin, "syncs\n"); err != nil {
		return nil, err
	}
	line, err := c.readLine()
	if err != nil {
		return nil, err
	}
	return parseSyncs(line)
}

func (c *referenceControl) close() {
	c.stdin.Close()
	c.out.Close()
}

// parseSyncs reads a "syncs" answer: durations in nanoseconds.
func parseSyncs(line string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Fields(line) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("malformed syncs line: %q", f)
		}
		out = append(out, time.Duration(ns))
	}
	return out, nil
}
