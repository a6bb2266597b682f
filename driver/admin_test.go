package driver

// Goal: readiness is derived from recovery (issue 7, operations). A node
// restarted over a disk that holds one partition's recovery back is not
// ready — /readyz answers 503 naming that partition — until the partition
// has recovered, then ready; a partition that cannot recover is reported
// and does not keep the node unready; a graceful stop is unready again.
// No sleeps: the held disk says when recovery reached it.

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/driver/osfs"
	"github.com/takhin-io/takhin/env"
)

// heldFS holds every operation on one partition directory until release
// (or fails them with err), and closes entered when the first arrives.
type heldFS struct {
	env.FS
	dir     string
	err     error
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newHeldFS(fs env.FS, dir string, err error) *heldFS {
	return &heldFS{FS: fs, dir: dir, err: err, entered: make(chan struct{}), release: make(chan struct{})}
}

func (h *heldFS) hold(name string) error {
	if name != h.dir && !strings.HasPrefix(name, h.dir+"/") {
		return nil
	}
	h.once.Do(func() { close(h.entered) })
	<-h.release
	return h.err
}

func (h *heldFS) Open(name string) (env.File, error) {
	if err := h.hold(name); err != nil {
		return nil, err
	}
	return h.FS.Open(name)
}

func (h *heldFS) OpenReadWrite(name string) (env.File, error) {
	if err := h.hold(name); err != nil {
		return nil, err
	}
	return h.FS.OpenReadWrite(name)
}

func (h *heldFS) Create(name string) (env.File, error) {
	if err := h.hold(name); err != nil {
		return nil, err
	}
	return h.FS.Create(name)
}

func (h *heldFS) List(name string) ([]string, error) {
	if err := h.hold(name); err != nil {
		return nil, err
	}
	return h.FS.List(name)
}

func (h *heldFS) MkdirAll(name string) error {
	if err := h.hold(name); err != nil {
		return err
	}
	return h.FS.MkdirAll(name)
}

func testNodeConfig(t *testing.T, fs env.FS) NodeConfig {
	return NodeConfig{
		FS: fs, KafkaAddr: "127.0.0.1:0", Rand: env.NewRand(1, "node"),
		Broker: broker.Config{
			NodeID: 1, MaxRequestBytes: env.DefaultMaxFrameBytes, NonDataRequestBytesMax: 1 << 20,
			QueuedRequestBytesMax: 100 << 20, AutoCreateTopics: true, NumPartitions: 1,
			ProducerIDBlock: 1000, FetchMaxWaitMsMax: 30_000,
			Topics: config.TopicConfigs{Broker: testBrokerConfig(t)},
		},
		OnFatal: func(err error) { t.Errorf("fatal: %v", err) },
	}
}

// dataDirWithTopic leaves a stopped node's data directory holding topic
// "t" with two partitions.
func dataDirWithTopic(t *testing.T) string {
	dir := t.TempDir()
	n := startTestNode(t, dir)
	if _, err := newAdmin(t, n).CreateTopic(testCtx(t), 2, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	stopNode(t, n)
	return dir
}

type started struct {
	n   *Node
	err error
}

// startHeld starts a node over dir with t-1's recovery held, returning
// its readiness and where StartNode's result arrives.
func startHeld(t *testing.T, dir string, fail error) (*heldFS, *Readiness, chan started) {
	held := newHeldFS(osfs.New(dir), "t-1", fail)
	cfg := testNodeConfig(t, held)
	cfg.Readiness = NewReadiness()
	result := make(chan started, 1)
	go func() {
		n, err := StartNode(cfg)
		result <- started{n, err}
	}()
	select {
	case <-held.entered:
	case <-testCtx(t).Done():
		t.Fatal("recovery never reached partition t-1")
	}
	return held, cfg.Readiness, result
}

func readyz(t *testing.T, ready func() (bool, string)) (int, string) {
	rec := httptest.NewRecorder()
	AdminHandler(nil, ready).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, strings.TrimSpace(string(body))
}

func TestReadyOnlyAfterEveryPartitionRecovered(t *testing.T) {
	dir := dataDirWithTopic(t)
	held, readiness, result := startHeld(t, dir, nil)

	ok, reason := readiness.Ready()
	if ok || !strings.Contains(reason, "recovering 1 partitions: t-1") {
		t.Errorf("while t-1 recovers: ready=%v %q, want not ready, recovering t-1 only", ok, reason)
	}
	if code, body := readyz(t, readiness.Ready); code != http.StatusServiceUnavailable || body != reason {
		t.Errorf("/readyz while recovering: %d %q, want 503 %q", code, body, reason)
	}
	close(held.release)
	s := <-result
	if s.err != nil {
		t.Fatal(s.err)
	}
	if ok, reason := s.n.Ready(); !ok || reason != "ok" {
		t.Errorf("after StartNode: ready=%v %q, want ready \"ok\"", ok, reason)
	}
	if code, body := readyz(t, s.n.Ready); code != http.StatusOK || body != "ok" {
		t.Errorf("/readyz after recovery: %d %q, want 200 ok", code, body)
	}
	stopNode(t, s.n)
	if ok, reason := s.n.Ready(); ok || reason != "stopping" {
		t.Errorf("after Stop: ready=%v %q, want not ready, stopping", ok, reason)
	}
}

func TestPartitionThatDoesNotRecoverIsReported(t *testing.T) {
	dir := dataDirWithTopic(t)
	held, readiness, result := startHeld(t, dir, errors.New("injected EIO"))
	if ok, _ := readiness.Ready(); ok {
		t.Error("ready while t-1 recovers")
	}
	close(held.release)
	s := <-result
	if s.err != nil {
		t.Fatal(s.err)
	}
	defer stopNode(t, s.n)
	ok, reason := s.n.Ready()
	if !ok || !strings.Contains(reason, "1 partitions offline") || !strings.Contains(reason, "t-1") {
		t.Errorf("with t-1 offline: ready=%v %q, want ready, reporting t-1 offline", ok, reason)
	}
}

func TestHealthz(t *testing.T) {
	rec := httptest.NewRecorder()
	AdminHandler(NewMetrics(), NewReadiness().Ready).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "ok" {
		t.Errorf("/healthz: %d %q, want 200 ok", rec.Code, rec.Body.String())
	}
}

// The runtime's profiles are served for `go tool pprof`.
func TestPprof(t *testing.T) {
	rec := httptest.NewRecorder()
	AdminHandler(NewMetrics(), NewReadiness().Ready).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/goroutine?debug=1", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "goroutine profile") {
		t.Errorf("/debug/pprof/goroutine: %d %.80q", rec.Code, rec.Body.String())
	}
}
