package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/broker/group"
	"github.com/takhin-io/takhin/driver"
	"github.com/takhin-io/takhin/driver/osfs"
	"github.com/takhin-io/takhin/driver/tcpnet"
	"github.com/takhin-io/takhin/env"
)

// serveFlags are `takhin serve`'s flags; every one has a working default,
// so `takhin serve` alone runs a broker on 127.0.0.1:9092 over
// ./takhin-data.
type serveFlags struct {
	kafkaAddr, advertised, dataDir, logLevel, configFile string
	adminAddr                                            string
	nodeID                                               int
	set                                                  map[string]bool // flags given explicitly
}

func parseServe(args []string, stderr io.Writer) (serveFlags, bool) {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.kafkaAddr, "kafka-addr", "127.0.0.1:9092", "the Kafka listener's address")
	fs.StringVar(&f.advertised, "advertised-kafka-addr", "", "host:port clients are told to connect to (default: the listener's)")
	fs.StringVar(&f.dataDir, "data-dir", "./takhin-data", "the data directory")
	fs.IntVar(&f.nodeID, "node-id", 1, "node.id; must match the id stored in the data directory")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.configFile, "config", "", "a YAML file of Kafka config names (unknown names are an error)")
	fs.StringVar(&f.adminAddr, "admin-addr", defaultAdminAddr, `the admin endpoint (/metrics, /healthz, /readyz); "" or off disables it`)
	if fs.Parse(args) != nil {
		return f, false
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, true
}

// loadConfig resolves the static broker config (flags over the file over
// Kafka's defaults) and the data directory: --data-dir when given, else
// log.dirs/log.dir from the file, else ./takhin-data (not Kafka's /tmp).
func loadConfig(f serveFlags) (*config.Broker, string, error) {
	var file []byte
	if f.configFile != "" {
		b, err := os.ReadFile(f.configFile)
		if err != nil {
			return nil, "", fmt.Errorf("--config: %w", err)
		}
		file = b
	}
	flags := map[string]string{}
	if f.set["node-id"] || !strings.Contains(string(file), "node.id") {
		flags["node.id"] = strconv.Itoa(f.nodeID)
	}
	if f.set["data-dir"] {
		flags["log.dirs"] = f.dataDir
	}
	if f.set["kafka-addr"] {
		flags["listeners"] = "PLAINTEXT://" + f.kafkaAddr
	}
	if f.set["advertised-kafka-addr"] {
		flags["advertised.listeners"] = "PLAINTEXT://" + f.advertised
	}
	cfg, err := config.LoadBroker(file, flags)
	if err != nil {
		return nil, "", err
	}
	dirs, _ := cfg.Entry("log.dirs")
	dir, _ := cfg.Entry("log.dir")
	if dirs.IsDefault() && dir.IsDefault() {
		return cfg, f.dataDir, nil
	}
	return cfg, cfg.DataDir, nil
}

func runServe(args []string, stdout, stderr io.Writer) int {
	f, ok := parseServe(args, stderr)
	if !ok {
		return 2
	}
	log, err := newLogger(f.logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "takhin serve:", err)
		return 2
	}
	defer log.Sync()
	cfg, dataDir, err := loadConfig(f)
	if err != nil {
		fmt.Fprintln(stderr, "takhin serve:", err)
		return 2
	}
	f.kafkaAddr, f.advertised = listenerAddrs(cfg)
	advHost, advPort, err := advertised(f)
	if err != nil {
		fmt.Fprintln(stderr, "takhin serve:", err)
		return 2
	}
	dir, err := filepath.Abs(dataDir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintln(stderr, "takhin serve: data directory:", err)
		return 1
	}
	unlock, err := driver.LockDataDir(dir)
	if err != nil {
		fmt.Fprintln(stderr, "takhin serve:", err)
		return 1
	}
	defer unlock()
	return serve(f, cfg, dir, advHost, advPort, log)
}

func serve(f serveFlags, cfg *config.Broker, dir, advHost string, advPort int32, log *zap.Logger) int {
	seed := cryptoSeed()
	fatal := make(chan error, 1)
	nc := nodeConfig(cfg, dir, f.kafkaAddr, log, func(err error) {
		select {
		case fatal <- err:
		default:
		}
	})
	nc.AdvertisedHost, nc.AdvertisedPort, nc.Rand = advHost, advPort, env.NewRand(seed, "node")
	nc.Metrics, nc.Readiness = driver.NewMetrics(), driver.NewReadiness()
	admin, err := startAdmin(f, nc.Metrics, nc.Readiness, log)
	if err != nil {
		log.Error("start failed", zap.Error(err))
		return 1
	}
	defer admin.close()
	node, err := driver.StartNode(nc)
	if err != nil {
		log.Error("start failed", zap.Error(err))
		return 1
	}
	log.Info("takhin serving", zap.String("kafka_addr", node.Addr()), zap.String("data_dir", dir),
		zap.Int32("node_id", cfg.NodeID), zap.Uint64("seed", seed))
	if host, _, _ := net.SplitHostPort(f.kafkaAddr); !isLoopback(host) {
		log.Warn("listening beyond loopback without TLS or SASL: anyone who can reach this port can read and write every topic")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sigs:
		log.Info("stopping", zap.String("signal", s.String()))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := node.Stop(ctx); err != nil {
			log.Error("stop", zap.Error(err))
			return 1
		}
		log.Info("stopped cleanly")
		return 0
	case err := <-fatal:
		log.Error("exiting on a fatal storage error; restart to recover", zap.Error(err))
		return 1
	}
}

// defaultAdminAddr is --admin-addr's default (Redpanda's admin port).
const defaultAdminAddr = "127.0.0.1:9644"

// adminEndpoint is the running admin server, or none.
type adminEndpoint struct{ srv *driver.AdminServer }

// startAdmin serves /metrics, /healthz and /readyz on --admin-addr before
// the node recovers, so /readyz answers 503 during recovery. A taken
// address is an error when --admin-addr was given, and only a warning for
// the default (several brokers on one host, tests, the bench).
func startAdmin(f serveFlags, m *driver.Metrics, r *driver.Readiness, log *zap.Logger) (adminEndpoint, error) {
	if f.adminAddr == "" || f.adminAddr == "off" {
		return adminEndpoint{}, nil
	}
	srv, err := driver.ServeAdmin(f.adminAddr, m, r.Ready, log)
	switch {
	case err != nil && f.set["admin-addr"]:
		return adminEndpoint{}, fmt.Errorf("--admin-addr: %w", err)
	case err != nil:
		log.Warn("admin endpoint disabled: its default address is taken (set --admin-addr)", zap.Error(err))
		return adminEndpoint{}, nil
	}
	log.Info("admin endpoint serving /metrics /healthz /readyz", zap.String("admin_addr", srv.Addr()))
	return adminEndpoint{srv}, nil
}

func (a adminEndpoint) close() {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.srv.Close(ctx)
	}
}

// nodeConfig is the node a static broker config describes, listening on
// addr over the data directory dir (serve and the in-process bench share
// it).
func nodeConfig(cfg *config.Broker, dir, addr string, log *zap.Logger, onFatal func(error)) driver.NodeConfig {
	return driver.NodeConfig{
		FS: osfs.New(dir), KafkaAddr: addr, Broker: brokerConfig(cfg, dir),
		Rand: env.NewRand(cryptoSeed(), "node"), Log: log,
		RetentionCheckIntervalMs: cfg.RetentionCheckIntervalMs, ProducerIDExpirationMs: cfg.ProducerIDExpirationMs,
		CheckpointIntervalMs: cfg.RecoveryPointCheckpointIntervalMs,
		Net: tcpnet.Config{MaxFrameBytes: cfg.SocketRequestMaxBytes, MaxConnections: int(cfg.MaxConnections),
			IdleTimeout: time.Duration(cfg.ConnectionsMaxIdleMs) * time.Millisecond},
		OnFatal: onFatal,
	}
}

func brokerConfig(cfg *config.Broker, dir string) broker.Config {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	queued := int(cfg.QueuedMaxRequestBytes)
	if queued <= 0 { // no limit, as Kafka's SocketServer reads any value ≤ 0
		queued = 1 << 40
	}
	return broker.Config{
		NodeID: cfg.NodeID, MaxRequestBytes: cfg.SocketRequestMaxBytes, NonDataRequestBytesMax: 1 << 20,
		QueuedRequestBytesMax: queued, AutoCreateTopics: cfg.AutoCreateTopics, NumPartitions: cfg.NumPartitions,
		ProducerIDBlock: 1000, FetchMaxWaitMsMax: 30_000, TopicDeletionDisabled: !cfg.DeleteTopicEnable,
		Topics: config.TopicConfigs{Broker: cfg}, LogDir: dir,
		Groups: group.Config{
			InitialRebalanceDelayMs: cfg.GroupInitialRebalanceDelayMs, MinSessionTimeoutMs: cfg.GroupMinSessionTimeoutMs,
			MaxSessionTimeoutMs: cfg.GroupMaxSessionTimeoutMs, MaxSize: cfg.GroupMaxSize,
			OffsetsRetentionMs: cfg.OffsetsRetentionMs, OffsetsRetentionCheckMs: cfg.OffsetsRetentionCheckMs,
			OffsetMetadataMaxBytes: cfg.OffsetMetadataMaxBytes,
		},
		OffsetsPartitions: cfg.OffsetsTopicNumPartitions, OffsetsSegmentBytes: cfg.OffsetsTopicSegmentBytes,
		Rand: env.NewRand(cryptoSeed(), "broker"),
	}
}

// listenerAddrs are the host:port the node binds and the one it
// advertises ("" when advertised.listeners is unset: the bound address),
// from the resolved config, where --kafka-addr and
// --advertised-kafka-addr beat the file's listeners and
// advertised.listeners (the config validated both as one
// PLAINTEXT://host:port).
func listenerAddrs(cfg *config.Broker) (bind, adv string) {
	bind = strings.TrimPrefix(cfg.Listeners, "PLAINTEXT://")
	if e, ok := cfg.Entry("advertised.listeners"); ok && !e.IsDefault() {
		adv = strings.TrimPrefix(cfg.AdvertisedListeners, "PLAINTEXT://")
	}
	return bind, adv
}

// advertised checks the advertised address: a client cannot connect to
// 0.0.0.0, so it is refused.
func advertised(f serveFlags) (string, int32, error) {
	if f.advertised == "" {
		host, _, err := net.SplitHostPort(f.kafkaAddr)
		if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
			return "", 0, fmt.Errorf("the listener %s (--kafka-addr or listeners) binds every interface: "+
				"set --advertised-kafka-addr (or advertised.listeners) to the address clients should use", f.kafkaAddr)
		}
		return "", 0, err
	}
	host, port, err := net.SplitHostPort(f.advertised)
	if err != nil {
		return "", 0, fmt.Errorf("--advertised-kafka-addr or advertised.listeners: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		return "", 0, fmt.Errorf("--advertised-kafka-addr or advertised.listeners %s: clients cannot connect to an unspecified address", f.advertised)
	}
	var p int
	if _, err := fmt.Sscanf(port, "%d", &p); err != nil || p <= 0 || p > 65535 {
		return "", 0, fmt.Errorf("--advertised-kafka-addr or advertised.listeners: bad port %q", port)
	}
	return host, int32(p), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func cryptoSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

func newLogger(level string, w io.Writer) (*zap.Logger, error) {
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), l)
	return zap.New(core), nil
}
