package driver

// Goal: /metrics, scraped after a load run, agrees with what the client
// sent (issue 7, operations). N records go out in produce requests of a
// kgo client whose hooks count every produce request, its bytes on the
// wire both ways and every batch; the scrape must show the same request
// count and bytes exactly, N messages in, the batches' bytes in, the
// partition's log end offset and high watermark at N, an fsync observed,
// connections counted, and after consuming everything, bytes out at least
// bytes in. /readyz answers 200 on the recovered node.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/takhin-io/takhin/driver/osfs"
)

// batchOverheadBytes is a v2 record batch's header, which kgo's
// CompressedBytes leaves out.
const batchOverheadBytes = 61

// produceCounts counts what a kgo client put on the wire for Produce.
type produceCounts struct {
	mu                      sync.Mutex
	requests, written, read int
	records, batchBytes     int
}

func (c *produceCounts) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	if key == 0 && err == nil {
		c.mu.Lock()
		c.requests++
		c.written += n
		c.mu.Unlock()
	}
}

func (c *produceCounts) OnBrokerRead(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	if key == 0 && err == nil {
		c.mu.Lock()
		c.read += n
		c.mu.Unlock()
	}
}

func (c *produceCounts) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	c.mu.Lock()
	c.records += m.NumRecords
	c.batchBytes += m.CompressedBytes + batchOverheadBytes
	c.mu.Unlock()
}

func TestMetricsAgreeWithWhatWasSent(t *testing.T) {
	const records, perCall = 1000, 100
	m := NewMetrics()
	cfg := testNodeConfig(t, osfs.New(t.TempDir()))
	cfg.Metrics = m
	n, err := StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	admin, err := ServeAdmin("127.0.0.1:0", m, n.Ready, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if code, body := get(t, "http://"+admin.Addr()+"/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/readyz on a recovered node: %d %q", code, body)
	}
	ctx := testCtx(t)
	if _, err := newAdmin(t, n).CreateTopic(ctx, 1, 1, nil, "load"); err != nil {
		t.Fatal(err)
	}
	counts := produceLoad(t, ctx, n, records, perCall)
	s := scrape(t, "http://"+admin.Addr()+"/metrics")
	expectations := []struct {
		series string
		want   int
	}{
		{`kafka_network_request_total{request="Produce"}`, counts.requests},
		{`kafka_network_request_duration_seconds_count{request="Produce"}`, counts.requests},
		{`kafka_network_request_bytes_total{request="Produce"}`, counts.written},
		{`kafka_network_response_bytes_total{request="Produce"}`, counts.read},
		{`kafka_server_brokertopicmetrics_messages_in_total`, records},
		{`kafka_server_brokertopicmetrics_bytes_in_total`, counts.batchBytes},
		{`kafka_log_log_end_offset{partition="0",topic="load"}`, records},
		{`kafka_cluster_partition_high_watermark{partition="0",topic="load"}`, records},
		{`kafka_log_log_start_offset{partition="0",topic="load"}`, 0},
		{`kafka_server_replicamanager_partition_count`, 1},
		{`kafka_server_replicamanager_offline_partition_count`, 0},
	}
	for _, e := range expectations {
		if got, ok := s[e.series]; !ok || got != float64(e.want) {
			t.Errorf("%s = %v (present %v), want %d", e.series, got, ok, e.want)
		}
	}
	for _, series := range []string{"kafka_log_flush_duration_seconds_count", "kafka_server_socket_server_metrics_connection_creation_total",
		`kafka_network_request_total{request="ApiVersions"}`, `kafka_network_request_total{request="Metadata"}`} {
		if s[series] < 1 {
			t.Errorf("%s = %v, want at least 1", series, s[series])
		}
	}
	for k := range s {
		if strings.HasPrefix(k, "kafka_network_request_errors_total") {
			t.Errorf("an error was counted: %s", k)
		}
	}
	consumeAll(t, ctx, n, "load", records)
	s = scrape(t, "http://"+admin.Addr()+"/metrics")
	if out, in := s["kafka_server_brokertopicmetrics_bytes_out_total"], s["kafka_server_brokertopicmetrics_bytes_in_total"]; out < in {
		t.Errorf("bytes out %v after consuming everything, below bytes in %v", out, in)
	}
}

// produceLoad sends count records with acks=all in ProduceSync calls of
// perCall records each, counting what the client sent.
func produceLoad(t *testing.T, ctx context.Context, n *Node, count, perCall int) *produceCounts {
	counts := &produceCounts{}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic("load"), kgo.WithHooks(counts))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for sent := 0; sent < count; sent += perCall {
		batch := make([]*kgo.Record, perCall)
		for i := range batch {
			batch[i] = &kgo.Record{Key: []byte(fmt.Sprint(sent + i)), Value: []byte(fmt.Sprintf("value-%d", sent+i))}
		}
		if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// kgo may run a batch's hook just after its promise: wait for them.
	settled := func() bool {
		counts.mu.Lock()
		defer counts.mu.Unlock()
		return counts.records == count
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !settled() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the client's hooks never counted %d records", count)
		}
	}
	counts.mu.Lock()
	defer counts.mu.Unlock()
	if counts.requests < count/perCall {
		t.Fatalf("the client counted %d produce requests, want at least %d", counts.requests, count/perCall)
	}
	return counts
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
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

// scrape reads the text exposition into series → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d", url, code)
	}
	series := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	return series
}
