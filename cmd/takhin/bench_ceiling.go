package main

// The ceiling broker: a Kafka listener that answers just what a kgo
// producer needs (ApiVersions, Metadata, CreateTopics, InitProducerId,
// Produce) and stores nothing. Produce frames are decoded with kmsg, as a
// real broker must, and each partition's offsets advance by the records in
// its batches, but the bytes are dropped. What the client reaches against
// it is the client's own ceiling on this machine: a broker can only do
// worse. Nothing can be consumed from it.
//
// One goroutine per connection reads a frame, answers it and writes the
// answer before reading the next, so answers go out in request order as
// Kafka requires. Headers use broker.ParseRequest and
// broker.AppendResponse, the same code the Takhin broker runs.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/env"
)

// ceilingAPIs are the keys the ceiling answers and the versions it
// advertises (the same maxima as Takhin's dispatch table).
var ceilingAPIs = []struct{ key, min, max int16 }{
	{0, 3, 12}, // Produce (v13+ names topics by ID)
	{3, 0, 12}, // Metadata
	{18, 0, 4}, // ApiVersions
	{19, 2, 7}, // CreateTopics
	{22, 0, 5}, // InitProducerId
}

const (
	apiVersionsKeyCeiling = 18
	ceilingAPIVersionsMin = 0
	ceilingAPIVersionsMax = 4
	ceilingNodeID         = 0
)

// ceiling is the server. Its topics are shared by every connection.
type ceiling struct {
	ln   net.Listener
	host string
	port int32

	mu         sync.Mutex
	topics     map[string]*ceilingTopic
	producerID int64
	conns      map[net.Conn]bool
	closed     bool
	wg         sync.WaitGroup

	// disk, when set, makes this the disk ceiling (bench_ceiling_disk.go).
	disk *diskLogs
}

type ceilingTopic struct {
	id   [16]byte
	next []int64 // per partition, the next offset
}

// startCeiling listens on addr (e.g. 127.0.0.1:0); disk, when set, makes
// it the disk ceiling.
func startCeiling(addr string, disk *diskLogs) (*ceiling, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	c := &ceiling{ln: ln, host: host, port: int32(p), topics: map[string]*ceilingTopic{}, conns: map[net.Conn]bool{}, disk: disk}
	c.wg.Add(1)
	go c.accept()
	return c, nil
}

func (c *ceiling) Addr() string { return c.ln.Addr().String() }

// Close stops listening, closes every connection and waits for them.
func (c *ceiling) Close() error {
	err := c.ln.Close()
	c.mu.Lock()
	c.closed = true
	for conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
	return err
}

func (c *ceiling) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			conn.Close()
			return
		}
		c.conns[conn] = true
		c.wg.Add(1)
		c.mu.Unlock()
		go c.serve(conn)
	}
}

// serve answers one connection's requests in order until it closes or
// sends something the ceiling does not handle.
func (c *ceiling) serve(conn net.Conn) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		delete(c.conns, conn)
		c.mu.Unlock()
		conn.Close()
	}()
	if c.disk != nil {
		c.serveDurable(conn)
		return
	}
	in := bufio.NewReaderSize(conn, 64<<10)
	var frame, out []byte
	for {
		var err error
		if frame, err = readFrame(in, frame); err != nil {
			return
		}
		if out, err = c.answer(out[:0], frame); err != nil {
			return
		}
		if _, err := conn.Write(out); len(out) > 0 && err != nil {
			return
		}
	}
}

// readFrame reads one size-prefixed frame into buf (grown when too small)
// and returns it without its prefix.
func readFrame(in io.Reader, buf []byte) ([]byte, error) {
	var size [env.FrameHeaderBytes]byte
	if _, err := io.ReadFull(in, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || n > env.DefaultMaxFrameBytes {
		return nil, fmt.Errorf("ceiling: frame size %d", n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(in, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// answer appends the response frame to dst (nothing for acks=0 Produce).
func (c *ceiling) answer(dst, frame []byte) ([]byte, error) {
	hdr, body, err := broker.ParseRequest(frame)
	handled := err == nil && ceilingHandles(hdr.APIKey, hdr.APIVersion)
	if !handled && hdr.APIKey == apiVersionsKeyCeiling && (err == nil || errors.Is(err, broker.ErrUnsupported)) {
		// KIP-511: a version we do not know gets v0 with our range.
		resp := broker.UnsupportedApiVersionsResponse(ceilingAPIVersionsMin, ceilingAPIVersionsMax)
		return broker.AppendResponse(dst, apiVersionsKeyCeiling, 0, hdr.CorrelationID, resp), nil
	}
	if err != nil {
		return nil, err
	}
	if !handled {
		return nil, fmt.Errorf("ceiling: key %d version %d is not handled", hdr.APIKey, hdr.APIVersion)
	}
	req := kmsg.RequestForKey(hdr.APIKey)
	req.SetVersion(hdr.APIVersion)
	if err := req.ReadFrom(body); err != nil {
		return nil, err
	}
	resp := c.respond(req)
	if resp == nil {
		return dst, nil
	}
	return broker.AppendResponse(dst, hdr.APIKey, hdr.APIVersion, hdr.CorrelationID, resp), nil
}

func ceilingHandles(key, version int16) bool {
	for _, a := range ceilingAPIs {
		if a.key == key {
			return version >= a.min && version <= a.max
		}
	}
	return false
}

func (c *ceiling) respond(req kmsg.Request) kmsg.Response {
	switch r := req.(type) {
	case *kmsg.ApiVersionsRequest:
		return ceilingAPIVersions(r)
	case *kmsg.MetadataRequest:
		return c.metadata(r)
	case *kmsg.CreateTopicsRequest:
		return c.createTopics(r)
	case *kmsg.InitProducerIDRequest:
		return c.initProducerID(r)
	case *kmsg.ProduceRequest:
		return c.produce(r)
	}
	return nil
}

func ceilingAPIVersions(r *kmsg.ApiVersionsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
	for _, a := range ceilingAPIs {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp
}

func (c *ceiling) metadata(r *kmsg.MetadataRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = ceilingNodeID, c.host, c.port
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	resp.ClusterID, resp.ControllerID = kmsg.StringPtr("ceiling"), ceilingNodeID
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	if r.Topics == nil {
		for name := range c.topics {
			names = append(names, name)
		}
		slices.Sort(names) // map order never reaches output
	}
	for _, t := range r.Topics {
		if t.Topic != nil {
			names = append(names, *t.Topic)
		}
	}
	for _, name := range names {
		resp.Topics = append(resp.Topics, c.metadataTopic(name))
	}
	return resp
}

// metadataTopic is one topic's metadata; c.mu is held.
func (c *ceiling) metadataTopic(name string) kmsg.MetadataResponseTopic {
	out := kmsg.NewMetadataResponseTopic()
	out.Topic = kmsg.StringPtr(name)
	t := c.topics[name]
	if t == nil {
		out.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return out
	}
	out.TopicID = t.id
	for i := range t.next {
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Partition, p.Leader = int32(i), ceilingNodeID
		p.Replicas, p.ISR = []int32{ceilingNodeID}, []int32{ceilingNodeID}
		out.Partitions = append(out.Partitions, p)
	}
	return out
}

func (c *ceiling) createTopics(r *kmsg.CreateTopicsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range r.Topics {
		out := kmsg.NewCreateTopicsResponseTopic()
		out.Topic = t.Topic
		partitions := max(t.NumPartitions, 1)
		switch {
		case c.topics[t.Topic] != nil:
			out.ErrorCode = kerr.TopicAlreadyExists.Code
		case partitions > 10_000:
			out.ErrorCode = kerr.InvalidPartitions.Code
		case !r.ValidateOnly:
			id := [16]byte{15: byte(len(c.topics) + 1), 14: byte((len(c.topics) + 1) >> 8)}
			c.topics[t.Topic] = &ceilingTopic{id: id, next: make([]int64, partitions)}
			out.TopicID = id
		}
		out.NumPartitions, out.ReplicationFactor = partitions, 1
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

func (c *ceiling) initProducerID(r *kmsg.InitProducerIDRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.producerID++
	resp.ProducerID, resp.ProducerEpoch = c.producerID, 0
	return resp
}

// produce answers every partition with the offsets its batches would take;
// the records themselves are dropped. acks=0 gets no answer.
func (c *ceiling) produce(r *kmsg.ProduceRequest) kmsg.Response {
	if r.Acks == 0 {
		return nil
	}
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range r.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		topic := c.topics[t.Topic]
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition, rp.LogAppendTime = p.Partition, -1
			if topic == nil || p.Partition < 0 || int(p.Partition) >= len(topic.next) {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else {
				rp.BaseOffset = topic.next[p.Partition]
				topic.next[p.Partition] += batchRecords(p.Records)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// batchRecords counts the records of a run of v2 record batches from each
// header's lastOffsetDelta (bytes 23-27), stopping at anything cut short.
func batchRecords(b []byte) int64 {
	const headerBytes, lengthAt, deltaAt = 61, 8, 23
	var n int64
	for len(b) >= headerBytes {
		length := int64(int32(binary.BigEndian.Uint32(b[lengthAt:])))
		if length < headerBytes-12 || length+12 > int64(len(b)) {
			break
		}
		n += int64(int32(binary.BigEndian.Uint32(b[deltaAt:]))) + 1
		b = b[12+length:]
	}
	return n
}
