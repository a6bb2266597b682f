package main

// Goal: `takhin serve --admin-addr` answers /readyz 200 once it serves and
// counts requests on /metrics, and refuses an admin address it was told to
// use but cannot. `takhin debug bundle` (issue 7, operations) zips what a bug report
// needs from a real data directory: the config file and log as given, a
// /metrics and /readyz scrape of the node's admin endpoint, a listing of
// every partition directory with sizes and its checkpoints decoded — and
// no segment or index data. Without an endpoint, config or log, the
// bundle still comes out and its manifest says what is missing.

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/driver"
)

// debugDataDir runs a node over a new data directory, produces records
// records to topic "bundle", stops the node and returns the directory and
// the still-serving admin endpoint (its metrics outlive the node).
func debugNodeDataDir(t *testing.T, records int) (string, string) {
	dir := t.TempDir()
	cfg, err := config.LoadBroker(nil, map[string]string{"node.id": "1"})
	if err != nil {
		t.Fatal(err)
	}
	nc := nodeConfig(cfg, dir, "127.0.0.1:0", zap.NewNop(), func(err error) { t.Errorf("fatal: %v", err) })
	nc.Metrics = driver.NewMetrics()
	node, err := driver.StartNode(nc)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := driver.ServeAdmin("127.0.0.1:0", nc.Metrics, node.Ready, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(node.Addr()), kgo.DefaultProduceTopic("bundle"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	for i := range records {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	if err := node.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	return dir, admin.Addr()
}

func readZip(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	entries := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		entries[f.Name] = string(body)
	}
	return entries
}

func TestDebugBundle(t *testing.T) {
	dataDir, adminAddr := debugNodeDataDir(t, 7)
	work := t.TempDir()
	cfgFile, logFile := filepath.Join(work, "takhin.yaml"), filepath.Join(work, "takhin.log")
	if err := os.WriteFile(cfgFile, []byte("num.partitions: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logFile, []byte("INFO takhin serving\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "bundle.zip")
	var stdout, stderr bytes.Buffer
	args := []string{"debug", "bundle", "--data-dir", dataDir, "--admin-addr", adminAddr, "--config", cfgFile, "--log", logFile, "-o", out}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	entries := readZip(t, out)
	contains := map[string][]string{
		"manifest.txt":                             {"config: " + cfgFile, "log: " + logFile, "/metrics: http://" + adminAddr},
		"config/takhin.yaml":                       {"num.partitions: 1"},
		"logs/takhin.log":                          {"INFO takhin serving"},
		"metrics.txt":                              {"HTTP 200 OK", "kafka_server_brokertopicmetrics_messages_in_total 7"},
		"readyz.txt":                               {"HTTP 503", "stopping"},
		"partitions/listing.txt":                   {"bundle-0/", "__cluster_metadata-0/", "  00000000000000000000.log  "},
		"partitions/bundle-0/partition.metadata":   {"topic-id "},
		"partitions/bundle-0/partition.checkpoint": {"recovery-point ", "log-start-offset 0"},
		"partitions/bundle-0/00000000000000000000.snapshot.txt": {"producers"},
	}
	for name, wants := range contains {
		body, ok := entries[name]
		if !ok {
			t.Errorf("no entry %s; entries: %v", name, keys(entries))
			continue
		}
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%s", name, w, body)
			}
		}
	}
	for name := range entries {
		if strings.HasSuffix(name, ".log") && !strings.HasPrefix(name, "logs/") || strings.HasSuffix(name, "index") {
			t.Errorf("segment or index data in the bundle: %s", name)
		}
	}
}

func TestDebugBundleWithoutEndpointConfigOrLog(t *testing.T) {
	dataDir, _ := debugNodeDataDir(t, 1)
	out := filepath.Join(t.TempDir(), "bundle.zip")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"debug", "bundle", "--data-dir", dataDir, "--admin-addr", "off", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	entries := readZip(t, out)
	for _, name := range []string{"metrics.txt", "readyz.txt"} {
		if _, ok := entries[name]; ok {
			t.Errorf("entry %s without an admin endpoint", name)
		}
	}
	for _, w := range []string{"config: none given", "log: none given", "metrics: no admin endpoint"} {
		if !strings.Contains(entries["manifest.txt"], w) {
			t.Errorf("manifest lacks %q:\n%s", w, entries["manifest.txt"])
		}
	}
	if !strings.Contains(entries["partitions/listing.txt"], "bundle-0/") {
		t.Errorf("listing lacks bundle-0:\n%s", entries["partitions/listing.txt"])
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestServeAdminEndpoint(t *testing.T) {
	admin := fmt.Sprintf("127.0.0.1:%d", procFreePort(t))
	p := procServe(t, t.TempDir(), "--admin-addr", admin)
	if code, body := httpGet(t, "http://"+admin+"/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/readyz of a serving process: %d %q, want 200 ok", code, body)
	}
	if code, body := httpGet(t, "http://"+admin+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %q", code, body)
	}
	// procServe polled Metadata until the process served.
	if _, body := httpGet(t, "http://"+admin+"/metrics"); !strings.Contains(body, `kafka_network_request_total{request="Metadata"}`) {
		t.Errorf("/metrics counts no Metadata request:\n%s", body)
	}
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(30 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

func TestServeRefusesATakenAdminAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, out := procRefused(t, "serve", "--kafka-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--admin-addr", ln.Addr().String())
	if code != 1 || !strings.Contains(out, "--admin-addr") {
		t.Errorf("exit %d, want 1 naming --admin-addr:\n%s", code, out)
	}
}
