package main

// The disk probe of `takhin bench --compare`: the latency of appending
// 4 KiB and fsyncing it, in the directory the Takhin node's data goes to,
// which is what every acks=all produce waits for at least once. It writes
// and syncs through driver/osfs, the very calls the log makes (fdatasync on
// Linux).

import (
	"fmt"
	"time"

	"github.com/takhin-io/takhin/driver/osfs"
	"github.com/takhin-io/takhin/env"
)

// probeFile creates name in dir through osfs; done removes it.
func probeFile(dir, name string) (f env.File, done func(), err error) {
	fsys := osfs.New(dir)
	f, err = fsys.Create(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { _ = f.Close(); _ = fsys.Remove(name) }, nil
}

const fsyncProbeBytes = 4 << 10

// fsyncResult is the probe's outcome, in milliseconds.
type fsyncResult struct {
	Dir     string  `json:"dir"`
	Samples int     `json:"samples"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
	// WriteMBps is the disk's synced sequential write bandwidth: 256 MiB
	// appended in 1 MiB writes, each fsynced, as group commits write a
	// log segment.
	WriteMBps float64 `json:"write_mbps"`
}

const bandwidthProbeBytes, bandwidthProbeChunk = 256 << 20, 1 << 20

// probeBandwidth measures WriteMBps in dir.
func probeBandwidth(dir string) (float64, error) {
	f, done, err := probeFile(dir, "bandwidth-probe")
	if err != nil {
		return 0, err
	}
	defer done()
	chunk := make([]byte, bandwidthProbeChunk)
	start := time.Now()
	for n := 0; n < bandwidthProbeBytes; n += len(chunk) {
		chunk[0] = byte(n)
		if _, err := f.Write(chunk); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("fsync: %w", err)
		}
	}
	return float64(bandwidthProbeBytes) / 1e6 / time.Since(start).Seconds(), nil
}

// probeFsync times samples rounds of (write 4 KiB at the end of a file,
// fsync it) in dir, then removes the file.
func probeFsync(dir string, samples int) (fsyncResult, error) {
	res := fsyncResult{Dir: dir}
	f, done, err := probeFile(dir, "fsync-probe")
	if err != nil {
		return res, err
	}
	defer done()
	block := make([]byte, fsyncProbeBytes)
	took := make([]time.Duration, 0, samples)
	for i := range samples {
		block[0] = byte(i)
		start := time.Now()
		if _, err := f.Write(block); err != nil {
			return res, err
		}
		if err := f.Sync(); err != nil {
			return res, fmt.Errorf("fsync: %w", err)
		}
		took = append(took, time.Since(start))
	}
	lat := percentiles(took, 0)
	res.Samples, res.P50Ms, res.P99Ms, res.MaxMs = lat.Samples, lat.P50Ms, lat.P99Ms, lat.MaxMs
	return res, nil
}

// pageCacheResult is what writing into the page cache costs this process
// in CPU: the same Bytes (200 MiB at scale 1) written to each of
// pageCacheProbeFiles new
// files that are kept (so each takes pages no other file gave back), then
// once more after they are removed (so it may reuse theirs). A broker's
// log grows by taking new pages. On most machines the rounds cost alike;
// on a VM that returns freed memory to its host (Linux free page
// reporting, as on this project's Firecracker VMs) a page the guest has
// not touched lately costs a fault in the host, and the kept rounds cost
// several times the reused one once recently freed memory runs out.
type pageCacheResult struct {
	Bytes       int       `json:"bytes"`
	KeptCPUMs   []float64 `json:"kept_cpu_ms"`
	ReusedCPUMs float64   `json:"reused_cpu_ms"`
}

const pageCacheProbeBytes, pageCacheProbeFiles = 200 << 20, 4

// probePageCache measures a pageCacheResult in dir (no syncs: the page
// cache alone) at the bench's scale, removing its files after.
func probePageCache(dir string, scale float64) (pageCacheResult, error) {
	res := pageCacheResult{Bytes: max(1, int(min(scale, 1)*pageCacheProbeBytes)/bandwidthProbeChunk) * bandwidthProbeChunk}
	chunk := make([]byte, bandwidthProbeChunk)
	round := func(name string) (float64, func(), error) {
		f, done, err := probeFile(dir, name)
		if err != nil {
			return 0, nil, err
		}
		start, _ := selfCPU()
		for n := 0; n < res.Bytes && err == nil; n += len(chunk) {
			_, err = f.Write(chunk)
		}
		end, _ := selfCPU()
		return float64(end-start) / 1e6, done, err
	}
	var kept []func()
	defer func() {
		for _, done := range kept {
			done()
		}
	}()
	for i := range pageCacheProbeFiles {
		ms, done, err := round(fmt.Sprintf("page-cache-probe-%d", i))
		if done != nil {
			kept = append(kept, done)
		}
		if err != nil {
			return res, err
		}
		res.KeptCPUMs = append(res.KeptCPUMs, ms)
	}
	for _, done := range kept {
		done()
	}
	kept = nil
	ms, done, err := round("page-cache-probe-reused")
	if done != nil {
		done()
	}
	res.ReusedCPUMs = ms
	return res, err
}
