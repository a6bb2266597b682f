package driver

// Goal: hostile and broken clients against a whole node over real
// sockets. Bad input never crashes the node or loses data, and one bad
// client never stops the node serving everyone else: each test ends by
// checking a well-behaved connection is still answered. Waits poll with a
// deadline; none sleeps and then asserts.

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
	"github.com/takhin-io/takhin/driver/osfs"
)

// hostileDeadline bounds every socket wait in these tests.
const hostileDeadline = 10 * time.Second

func startHostileNode(t *testing.T, tune func(*NodeConfig)) *Node {
	t.Helper()
	cfg := testNodeConfig(t, osfs.New(t.TempDir()))
	if tune != nil {
		tune(&cfg)
	}
	n, err := StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopNode(t, n) })
	return n
}

func dialNode(t *testing.T, n *Node) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(hostileDeadline))
	return c
}

// frameRequest formats req at version with correlation id corr.
func frameRequest(req kmsg.Request, version int16, corr int32) []byte {
	req.SetVersion(version)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("hostile")).AppendRequest(nil, req, corr)
}

// readFrame reads one response frame (without its size prefix).
func readFrame(t *testing.T, c net.Conn) ([]byte, error) {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c, body)
	return body, err
}

// expectClosed fails unless the node closes c (EOF or reset) before the
// deadline, without answering.
func expectClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(hostileDeadline))
	body, err := readFrame(t, c)
	var ne net.Error
	switch {
	case err == nil:
		t.Fatalf("%s: answered (%d bytes), want the connection closed", what, len(body))
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("%s: still open after %v, want it closed", what, hostileDeadline)
	}
}

// checkServing fails unless a fresh connection gets its ApiVersions answer.
func checkServing(t *testing.T, n *Node) {
	t.Helper()
	c := dialNode(t, n)
	if _, err := c.Write(frameRequest(kmsg.NewPtrApiVersionsRequest(), 3, 7)); err != nil {
		t.Fatal(err)
	}
	body, err := readFrame(t, c)
	if err != nil {
		t.Fatalf("a well-behaved client is not answered: %v", err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != 7 {
		t.Fatalf("correlation id %d, want 7", corr)
	}
	_ = c.Close()
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestHostileBadSizePrefixes: a negative, zero or oversized size prefix
// closes that connection only; a prefix cut short, or a frame cut short,
// then a close, leaves nothing behind.
func TestHostileBadSizePrefixes(t *testing.T) {
	n := startHostileNode(t, nil)
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"negative size", []byte{0xff, 0xff, 0xff, 0xfe}},
		{"zero size", []byte{0, 0, 0, 0}},
		{"over the max", []byte{0x47, 0x45, 0x54, 0x20}}, // "GET "
	} {
		c := dialNode(t, n)
		if _, err := c.Write(tc.bytes); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c, tc.name)
	}
	for _, partial := range [][]byte{{0, 0, 0}, {0, 0, 0, 100, 0, 1}, {0x06, 0x40, 0, 0, 1}} {
		c := dialNode(t, n)
		if _, err := c.Write(partial); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	}
	checkServing(t, n)
}

// TestHostileUnknownKeyAndVersion: an unknown API key or an unsupported
// version closes the connection, as Kafka does, except ApiVersions, which
// gets a v0 UNSUPPORTED_VERSION answer with its own range (KIP-511).
func TestHostileUnknownKeyAndVersion(t *testing.T) {
	n := startHostileNode(t, nil)
	unknown := frameRequest(kmsg.NewPtrApiVersionsRequest(), 0, 1)
	binary.BigEndian.PutUint16(unknown[4:], 999)
	c := dialNode(t, n)
	_, _ = c.Write(unknown)
	expectClosed(t, c, "unknown API key")

	c = dialNode(t, n)
	_, _ = c.Write(frameRequest(kmsg.NewPtrMetadataRequest(), 99, 2))
	expectClosed(t, c, "Metadata v99")

	c = dialNode(t, n)
	_, _ = c.Write(frameRequest(kmsg.NewPtrApiVersionsRequest(), 99, 3))
	body, err := readFrame(t, c)
	if err != nil {
		t.Fatalf("ApiVersions v99: %v", err)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	if err := resp.ReadFrom(body[4:]); err != nil || resp.ErrorCode != 35 || len(resp.ApiKeys) != 1 || resp.ApiKeys[0].ApiKey != 18 {
		t.Fatalf("ApiVersions v99: %+v %v, want UNSUPPORTED_VERSION with key 18's range", resp, err)
	}
	checkServing(t, n)
}

// fetchRequest asks for up to 1 MiB of topic's partition 0 from offset 0,
// without waiting.
func fetchRequest(topic string) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxBytes, req.MaxWaitMillis = -1, 1<<20, 0
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes, rp.LogStartOffset = 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func produceBig(t *testing.T, n *Node, topic string, valueBytes int) {
	t.Helper()
	ctx := testCtx(t)
	if _, err := newAdmin(t, n).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, valueBytes)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestHostileFetchesNeverRead: a client sends small Fetch requests, each
// answered with about 900 KiB, and never reads. The node stops reading it
// once its unwritten answers pass tcpnet's SendQueueBytesMax, so it pins a
// few MiB, not 96 answers, and keeps serving others.
func TestHostileFetchesNeverRead(t *testing.T) {
	n := startHostileNode(t, nil)
	produceBig(t, n, "big", 900<<10)
	before := heapInuse()
	c := dialNode(t, n)
	for i := range 96 {
		if _, err := c.Write(frameRequest(fetchRequest("big"), 11, int32(i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // a client's pace: each is answered before the next
	}
	checkServing(t, n)
	if grown := int64(heapInuse()) - int64(before); grown > 32<<20 {
		t.Fatalf("one connection that never reads pins %d MiB of responses", grown>>20)
	}
}

// TestHostileFetchBurstNeverRead is the same client sending its 96
// requests at once: they are all read before the first answer is queued,
// and the broker takes every frame it is given (its per-connection queue
// is bounded only by queued.max.request.bytes, unlimited by default), so
// the node pins about 90 MiB for 10 KiB sent. Kafka mutes a connection
// until its answer is written. Here a pipeline slot must be freed only
// once its answer is written (written-frame events from tcpnet and simnet
// to the broker), or the broker must pause a connection whose pipeline is
// full with delivery stopped before each frame (tcpnet's PauseAfterFrame):
// a pause the broker sends after a FrameIn arrives too late for the other
// frames of the same read.
func TestHostileFetchBurstNeverRead(t *testing.T) {
	t.Skip("open: see the comment and ARCHITECTURE, Connections serve a pipeline")
	n := startHostileNode(t, nil)
	produceBig(t, n, "big", 900<<10)
	before := heapInuse()
	c := dialNode(t, n)
	var out []byte
	for i := range 96 {
		out = append(out, frameRequest(fetchRequest("big"), 11, int32(i))...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	for watch := time.Now().Add(time.Second); time.Now().Before(watch); {
		if grown := int64(heapInuse()) - int64(before); grown > 32<<20 {
			t.Fatalf("one connection that never reads pins %d MiB of responses", grown>>20)
		}
	}
	checkServing(t, n)
}

// TestHostileDeclaredMaxFramesPinLittle: connections that declare a 100
// MiB request and send 4 KiB of it pin what they sent (a bounded multiple),
// not what they declared, and the node serves others meanwhile.
func TestHostileDeclaredMaxFramesPinLittle(t *testing.T) {
	n := startHostileNode(t, nil)
	const conns, sent = 64, 4 << 10
	before := heapInuse()
	var cs []net.Conn
	for range conns {
		c := dialNode(t, n)
		prefix := binary.BigEndian.AppendUint32(nil, uint32(100<<20))
		if _, err := c.Write(append(prefix, make([]byte, sent)...)); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	checkServing(t, n)
	// Each holds its first 64 KiB (the Framer's first reservation), its
	// read buffer and goroutines: not the 100 MiB it declared.
	if grown := int64(heapInuse()) - int64(before); grown > conns*256<<10 {
		t.Fatalf("%d connections declaring 100 MiB and sending %d bytes pin %d KiB", conns, sent, grown>>10)
	}
	for _, c := range cs {
		_ = c.Close()
	}
}

// TestHostileIdleAndMaxConnections: connections.max.idle.ms closes silent
// connections, and max.connections refuses one more at once.
func TestHostileIdleAndMaxConnections(t *testing.T) {
	n := startHostileNode(t, func(cfg *NodeConfig) {
		cfg.Net.IdleTimeout = 300 * time.Millisecond
		cfg.Net.MaxConnections = 4
	})
	var cs []net.Conn
	for range 4 {
		cs = append(cs, dialNode(t, n))
	}
	// One accept loop admits in order: the fifth is over the limit.
	expectClosed(t, dialNode(t, n), "a connection over max.connections")
	for _, c := range cs {
		expectClosed(t, c, "an idle connection")
	}
	// Their slots come back once their closes are delivered.
	deadline := time.Now().Add(hostileDeadline)
	for !answers(t, n) {
		if time.Now().After(deadline) {
			t.Fatal("no slot came back after the idle connections closed")
		}
	}
}

// answers reports whether a new connection gets its ApiVersions answer.
func answers(t *testing.T, n *Node) bool {
	c := dialNode(t, n)
	defer c.Close()
	if _, err := c.Write(frameRequest(kmsg.NewPtrApiVersionsRequest(), 3, 7)); err != nil {
		return false
	}
	_, err := readFrame(t, c)
	return err == nil
}

// resetConn closes c with a TCP reset (SO_LINGER 0).
func resetConn(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

// awaitIdle waits until the broker has nothing in flight.
func awaitIdle(t *testing.T, n *Node, what string) {
	t.Helper()
	deadline := time.Now().Add(hostileDeadline)
	for !(n.idle.Load() && n.inbox.empty()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the broker still has requests in flight", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestHostileResetWhileParked: a reset in the middle of a long-poll Fetch
// or of a JoinGroup parked for a rebalance drops the parked request (the
// broker has nothing in flight), and the group serves a later member.
func TestHostileResetWhileParked(t *testing.T) {
	n := startHostileNode(t, func(cfg *NodeConfig) {
		cfg.Broker.OffsetsPartitions = 1
		cfg.Broker.Groups = group.DefaultConfig()
		cfg.Broker.Groups.InitialRebalanceDelayMs = 200
		cfg.Broker.Groups.MinSessionTimeoutMs = 100
	})
	ctx := testCtx(t)
	if _, err := newAdmin(t, n).CreateTopic(ctx, 1, 1, nil, "quiet"); err != nil {
		t.Fatal(err)
	}
	c := dialNode(t, n)
	fetch := fetchRequest("quiet")
	fetch.MaxWaitMillis, fetch.MinBytes = 20_000, 1
	_, _ = c.Write(frameRequest(fetch, 11, 1))
	resetConn(t, c)
	awaitIdle(t, n, "after a reset during a long-poll")

	c = dialNode(t, n)
	for corr := int32(10); ; corr++ {
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey = "g"
		_, _ = c.Write(frameRequest(fc, 2, corr))
		body, err := readFrame(t, c)
		if err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrFindCoordinatorResponse()
		resp.SetVersion(2)
		if err := resp.ReadFrom(body[4:]); err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode == 0 {
			break
		}
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = "g", 500, 500, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = "range"
	join.Protocols = append(join.Protocols, p)
	_, _ = c.Write(frameRequest(join, 3, 2))
	deadline := time.Now().Add(hostileDeadline)
	for n.idle.Load() { // until the join is parked
		if time.Now().After(deadline) {
			t.Fatal("JoinGroup not parked")
		}
		time.Sleep(time.Millisecond)
	}
	resetConn(t, c)
	awaitIdle(t, n, "after a reset during a parked JoinGroup")
	// The group goes on without the reset member: a new one is answered
	// once the dead member's session expires.
	c = dialNode(t, n)
	_, _ = c.Write(frameRequest(join, 3, 3))
	body, err := readFrame(t, c)
	if err != nil {
		t.Fatalf("a later member's JoinGroup: %v", err)
	}
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.SetVersion(3)
	if err := resp.ReadFrom(body[4:]); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("a later member's JoinGroup: %+v %v", resp, err)
	}
	checkServing(t, n)
}

// TestHostileHalfCloseStillAnswered: a client that shuts its write side
// after a request still gets the answer, as from Kafka (which reads the
// EOF only once the muted connection's response is sent): here a
// long-poll Fetch answered 300 ms after the EOF arrived.
func TestHostileHalfCloseStillAnswered(t *testing.T) {
	n := startHostileNode(t, nil)
	if _, err := newAdmin(t, n).CreateTopic(testCtx(t), 1, 1, nil, "quiet"); err != nil {
		t.Fatal(err)
	}
	c := dialNode(t, n)
	fetch := fetchRequest("quiet")
	fetch.MaxWaitMillis, fetch.MinBytes = 300, 1
	if _, err := c.Write(frameRequest(fetch, 11, 5)); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	body, err := readFrame(t, c)
	if err != nil {
		t.Fatalf("half-closed client not answered: %v", err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != 5 {
		t.Fatalf("correlation id %d, want 5", corr)
	}
	expectClosed(t, c, "the connection after its answer")
}
