package driver

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Readiness is a node's recovery state, as /readyz reports it: ready once
// the metadata image is loaded and every partition the image names has
// recovered, or failed to recover and is reported (a fail-stopped
// partition answers its requests with errors; waiting would never end).
// Not ready again once a graceful stop begins. It is created before the
// node (NodeConfig.Readiness), so an admin endpoint can answer while
// StartNode is still recovering. Safe for concurrent use.
type Readiness struct {
	mu          sync.Mutex
	imageLoaded bool
	recovering  map[string]bool   // partition directories being opened
	failed      map[string]string // partition directory → why it is offline
	stopping    bool
}

// NewReadiness returns the state of a node that has loaded nothing yet.
func NewReadiness() *Readiness {
	return &Readiness{recovering: map[string]bool{}, failed: map[string]string{}}
}

// reasonNamesMax bounds the partitions a reason names.
const reasonNamesMax = 5

// Ready reports whether the node serves every partition it knows of, and
// a short reason: what it waits for, or which partitions are offline.
func (r *Readiness) Ready() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.stopping:
		return false, "stopping"
	case !r.imageLoaded && len(r.recovering) == 0:
		return false, "loading the metadata log"
	case len(r.recovering) > 0:
		return false, fmt.Sprintf("recovering %d partitions: %s", len(r.recovering), names(r.recovering))
	case len(r.failed) > 0:
		return true, fmt.Sprintf("ok; %d partitions offline (did not recover): %s", len(r.failed), names(r.failed))
	}
	return true, "ok"
}

// names lists a few keys of m, sorted.
func names[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > reasonNamesMax {
		keys = append(keys[:reasonNamesMax], "…")
	}
	return strings.Join(keys, ", ")
}

// expect starts an image's application: dirs are the partitions it names
// (an offline partition no longer named is forgotten), opening those that
// are about to be opened.
func (r *Readiness) expect(dirs map[string]bool, opening []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := range r.failed {
		if !dirs[d] {
			delete(r.failed, d)
		}
	}
	for _, d := range opening {
		r.recovering[d] = true
	}
}

// opened records the outcome of one partition's recovery.
func (r *Readiness) opened(dir string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.recovering, dir)
	if ok {
		delete(r.failed, dir)
	} else {
		r.failed[dir] = "did not recover"
	}
}

// offline counts the partitions that did not recover.
func (r *Readiness) offline() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failed)
}

// loaded records that the first image was applied.
func (r *Readiness) loaded() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.imageLoaded = true
}

// stop records that a graceful stop began.
func (r *Readiness) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopping = true
}
