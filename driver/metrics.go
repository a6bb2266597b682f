package driver

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// Metrics is one node's Prometheus metrics, on a registry of its own (no
// global registry: two nodes in one process, as in tests, never share a
// series). Names follow what Kafka's JMX metrics are called once exported
// to Prometheus, so dashboards read familiarly; README lists them.
//
// Who updates what, and from which goroutine (every metric is atomic, and
// each gauge series has one writer):
//   - request metrics and bytes out: RequestDone, on the broker goroutine;
//   - connection counts: the listener's callbacks;
//   - bytes and messages in, log end offset, fsync latency: a partition's
//     executor goroutine, after each write and sync;
//   - high watermark and log start offset: a partition's machine goroutine,
//     after each step;
//   - partition counts: the node's manager goroutine;
//   - group counts: SetGroupCount, for the group coordinator.
//
// Methods are safe for concurrent use; a nil *Metrics records nothing.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	errors        *prometheus.CounterVec
	requestBytes  *prometheus.CounterVec
	responseBytes *prometheus.CounterVec
	apis          [int(kmsg.MaxKey) + 1]*apiMetrics // broker goroutine only

	bytesIn, bytesOut, messagesIn prometheus.Counter
	flush                         prometheus.Histogram
	logEnd, logStart, hw          *prometheus.GaugeVec
	partitions, offline           prometheus.Gauge
	connections                   prometheus.Gauge
	connectionsCreated            prometheus.Counter
	groups                        *prometheus.GaugeVec
}

// apiMetrics are one API's series, resolved once.
type apiMetrics struct {
	name                  string
	requests              prometheus.Counter
	latency               prometheus.Observer
	requestBytes, respond prometheus.Counter
}

// NewMetrics registers every metric, and the Go runtime and process
// collectors, on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.registerRequests()
	m.registerTopics()
	m.registerNode()
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is what /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) registerRequests() {
	byRequest := []string{"request"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_network_request_total",
		Help: "Requests served, by Kafka API name (kafka.network RequestsPerSec)."}, byRequest)
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kafka_network_request_duration_seconds",
		Help:    "Time from a request's decoding to its response leaving, by API (kafka.network TotalTimeMs).",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18)}, byRequest)
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_network_request_errors_total",
		Help: "Non-zero error codes in responses, one per occurrence, by API and Kafka error name (kafka.network ErrorsPerSec)."},
		[]string{"request", "error"})
	m.requestBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_network_request_bytes_total",
		Help: "Request frame bytes received, size prefix included, by API."}, byRequest)
	m.responseBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_network_response_bytes_total",
		Help: "Response frame bytes sent, size prefix included, by API."}, byRequest)
	m.reg.MustRegister(m.requests, m.latency, m.errors, m.requestBytes, m.responseBytes)
}

func (m *Metrics) registerTopics() {
	m.bytesIn = prometheus.NewCounter(prometheus.CounterOpts{Name: "kafka_server_brokertopicmetrics_bytes_in_total",
		Help: "Record-batch bytes appended to partition logs (BytesInPerSec)."})
	m.bytesOut = prometheus.NewCounter(prometheus.CounterOpts{Name: "kafka_server_brokertopicmetrics_bytes_out_total",
		Help: "Record-batch bytes returned by Fetch responses (BytesOutPerSec)."})
	m.messagesIn = prometheus.NewCounter(prometheus.CounterOpts{Name: "kafka_server_brokertopicmetrics_messages_in_total",
		Help: "Records appended to partition logs (MessagesInPerSec)."})
	m.flush = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kafka_log_flush_duration_seconds",
		Help:    "Duration of a partition log's group-commit fsync, checkpoint included when due (LogFlushRateAndTimeMs).",
		Buckets: prometheus.ExponentialBuckets(25e-6, 2, 18)})
	byPartition := []string{"topic", "partition"}
	m.logEnd = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kafka_log_log_end_offset",
		Help: "The offset after the last batch written to the partition's log."}, byPartition)
	m.logStart = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kafka_log_log_start_offset",
		Help: "The partition's log start offset."}, byPartition)
	m.hw = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kafka_cluster_partition_high_watermark",
		Help: "The partition's high watermark: on one node, its fsynced end."}, byPartition)
	m.reg.MustRegister(m.bytesIn, m.bytesOut, m.messagesIn, m.flush, m.logEnd, m.logStart, m.hw)
}

func (m *Metrics) registerNode() {
	m.partitions = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kafka_server_replicamanager_partition_count",
		Help: "Partitions the metadata image names."})
	m.offline = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kafka_server_replicamanager_offline_partition_count",
		Help: "Partitions that did not recover (fail-stopped: their requests get KAFKA_STORAGE_ERROR or UNKNOWN_TOPIC_OR_PARTITION)."})
	m.connections = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kafka_server_socket_server_metrics_connection_count",
		Help: "Open client connections."})
	m.connectionsCreated = prometheus.NewCounter(prometheus.CounterOpts{Name: "kafka_server_socket_server_metrics_connection_creation_total",
		Help: "Client connections accepted."})
	m.groups = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kafka_coordinator_group_metadata_manager_num_groups",
		Help: "Consumer groups, by state (set by the group coordinator)."}, []string{"state"})
	m.reg.MustRegister(m.partitions, m.offline, m.connections, m.connectionsCreated, m.groups)
}

// RequestDone implements broker.Observer. It runs on the broker
// goroutine (the only one touching m.apis).
func (m *Metrics) RequestDone(d broker.RequestDone) {
	if m == nil || d.APIKey < 0 || int(d.APIKey) >= len(m.apis) {
		return
	}
	a := m.apis[d.APIKey]
	if a == nil {
		name := kmsg.NameForKey(d.APIKey)
		if name == "" {
			name = strconv.Itoa(int(d.APIKey))
		}
		a = &apiMetrics{name: name, requests: m.requests.WithLabelValues(name), latency: m.latency.WithLabelValues(name),
			requestBytes: m.requestBytes.WithLabelValues(name), respond: m.responseBytes.WithLabelValues(name)}
		m.apis[d.APIKey] = a
	}
	a.requests.Inc()
	a.latency.Observe(float64(d.LatencyNs) / 1e9)
	a.requestBytes.Add(float64(d.RequestBytes))
	a.respond.Add(float64(d.ResponseBytes))
	for _, code := range d.Errors {
		m.errors.WithLabelValues(a.name, errorName(code)).Inc()
	}
	if d.FetchedBytes > 0 {
		m.bytesOut.Add(float64(d.FetchedBytes))
	}
}

// errorName is Kafka's name for code (UNKNOWN_TOPIC_OR_PARTITION), or the
// number for a code kerr does not know.
func errorName(code int16) string {
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok && e.Code == code {
		return e.Message
	}
	return strconv.Itoa(int(code))
}

// ConnOpened and ConnClosed count client connections.
func (m *Metrics) ConnOpened() {
	if m != nil {
		m.connections.Inc()
		m.connectionsCreated.Inc()
	}
}

func (m *Metrics) ConnClosed() {
	if m != nil {
		m.connections.Dec()
	}
}

// SetGroupCount is the hook for the group coordinator: the number of
// groups in a state (Kafka's state names: Stable, PreparingRebalance,
// CompletingRebalance, Empty, Dead). Safe from any goroutine.
func (m *Metrics) SetGroupCount(state string, n int) {
	if m != nil {
		m.groups.WithLabelValues(state).Set(float64(n))
	}
}

// setPartitionCounts reports how many partitions the image names and how
// many of them did not recover.
func (m *Metrics) setPartitionCounts(total, offline int) {
	if m != nil {
		m.partitions.Set(float64(total))
		m.offline.Set(float64(offline))
	}
}

// partitionMetrics are one partition's series, resolved once; nil when
// the node has no Metrics.
type partitionMetrics struct {
	m                    *Metrics
	topic, partition     string
	logEnd, logStart, hw prometheus.Gauge
}

func (m *Metrics) partition(topic string, partition int32) *partitionMetrics {
	if m == nil {
		return nil
	}
	p := strconv.Itoa(int(partition))
	return &partitionMetrics{m: m, topic: topic, partition: p,
		logEnd: m.logEnd.WithLabelValues(topic, p), logStart: m.logStart.WithLabelValues(topic, p),
		hw: m.hw.WithLabelValues(topic, p)}
}

// written runs on the executor goroutine after a Persist's batches were
// appended: bytes and records in, and the new log end.
func (pm *partitionMetrics) written(p *replication.Persist, w replication.Written) {
	if w.Err == nil {
		records := 0
		bytes := 0
		for _, b := range p.Batches {
			if h := storage.DecodeBatchHeader(b); !h.IsControl() {
				records += int(h.RecordCount)
			}
			bytes += len(b)
		}
		pm.m.bytesIn.Add(float64(bytes))
		pm.m.messagesIn.Add(float64(records))
	}
	pm.logEnd.Set(float64(w.UpTo))
}

// synced runs on the executor goroutine after each group-commit fsync.
func (pm *partitionMetrics) synced(d time.Duration) { pm.m.flush.Observe(d.Seconds()) }

// stepped runs on the machine goroutine after each step.
func (pm *partitionMetrics) stepped(m *replication.Partition) {
	pm.hw.Set(float64(m.HighWatermark()))
	pm.logStart.Set(float64(m.LogStart()))
}

// forget removes the partition's series (its topic was deleted); called
// once its loop has stopped, so nothing sets them again.
func (pm *partitionMetrics) forget() {
	if pm == nil {
		return
	}
	for _, v := range []*prometheus.GaugeVec{pm.m.logEnd, pm.m.logStart, pm.m.hw} {
		v.DeleteLabelValues(pm.topic, pm.partition)
	}
}
