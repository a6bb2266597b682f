package broker

// Goal: the data-path APIs answer edge cases as Apache Kafka 4.0's broker
// does, each case named after the Kafka code it follows: the request is
// framed with kmsg, the partition machines' replies are canned, and the
// one response is decoded with kmsg.

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/controller/controllertest"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// roundTrip sends req on connection 1 of b, answers every partition
// request with answer (nil: an empty reply) and decodes the one response.
func roundTrip(t *testing.T, b *Broker, req kmsg.Request, answer func(PartitionRequest) replication.Reply) kmsg.Response {
	t.Helper()
	b.Step(FrameIn{Conn: 1, Frame: kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)[4:]})
	var sent [][]byte
	for i := 0; i < 10 && b.HasReady(); i++ {
		rd := b.Ready()
		b.Advance(rd)
		for _, s := range rd.Sends {
			sent = append(sent, s.Frame)
		}
		for _, pr := range rd.ToPartitions {
			rep := replication.Reply{}
			if answer != nil {
				rep = answer(pr)
			}
			rep.ID = replication.RequestIDOf(pr.Event)
			b.Step(PartitionReply{Reply: rep})
		}
	}
	if len(sent) != 1 {
		t.Fatalf("%d responses, want 1", len(sent))
	}
	resp := req.ResponseKind()
	body := sent[0][8:] // size and correlation id
	if resp.IsFlexible() {
		body = body[1:] // no tagged fields in the response header
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestMetadataEmptyTopicListPerVersion: in v0 an empty topic list asks
// for every topic; from v1 it asks for none and a null list for all
// (Kafka's MetadataRequest.isAllTopics).
func TestMetadataEmptyTopicListPerVersion(t *testing.T) {
	for _, c := range []struct {
		version int16
		null    bool
		topics  int
	}{
		{0, false, 1},
		{1, false, 0},
		{1, true, 1},
		{12, false, 0},
		{12, true, 1},
	} {
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(c.version)
		req.Topics = []kmsg.MetadataRequestTopic{}
		if c.null {
			req.Topics = nil
		}
		resp := roundTrip(t, fuzzBroker(), req, nil).(*kmsg.MetadataResponse)
		if len(resp.Topics) != c.topics {
			t.Errorf("v%d, null list %v: %d topics, want %d", c.version, c.null, len(resp.Topics), c.topics)
		}
	}
}

// TestProduceAcksZeroClosesOnError: an acks=0 produce gets no response, so
// when a partition fails Kafka closes the connection (KafkaApis'
// handleProduceRequest), and the client, seeing it drop, refreshes its
// metadata; a produce that succeeds leaves it open. Errors found before
// the log (an unknown partition) and by it (a storage error) both count.
func TestProduceAcksZeroClosesOnError(t *testing.T) {
	for _, c := range []struct {
		name      string
		partition int32
		err       error
		closed    bool
	}{
		{"ok", 0, nil, false},
		{"unknown partition", 7, nil, true},
		{"storage error", 0, replication.ErrStorage, true},
	} {
		b := fuzzBroker()
		req := kmsg.NewPtrProduceRequest()
		req.SetVersion(9)
		req.Acks = 0
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = c.partition
		rp.Records = storage.EncodeBatch([]kmsg.Record{{Value: []byte("v")}}, 1)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		b.Step(FrameIn{Conn: 1, Frame: kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)[4:]})
		closed, sends := false, 0
		for i := 0; i < 10 && b.HasReady(); i++ {
			rd := b.Ready()
			b.Advance(rd)
			closed = closed || len(rd.Closes) > 0
			sends += len(rd.Sends)
			for _, pr := range rd.ToPartitions {
				b.Step(PartitionReply{Reply: replication.Reply{ID: replication.RequestIDOf(pr.Event), Err: c.err}})
			}
		}
		if closed != c.closed || sends != 0 {
			t.Errorf("%s: connection closed %v, %d responses; want closed %v and none", c.name, closed, sends, c.closed)
		}
	}
}

// TestDeleteTopicsWhenDeletionIsDisabled: with delete.topic.enable=false
// every topic is refused, TOPIC_DELETION_DISABLED from v3 and
// INVALID_REQUEST below (Kafka's ControllerApis.deleteTopics), by name or
// by ID, and nothing is proposed (roundTrip answers no proposal, so a
// proposal would leave the request unanswered).
func TestDeleteTopicsWhenDeletionIsDisabled(t *testing.T) {
	for version := int16(1); version <= 6; version++ {
		b := New(Config{NodeID: 1, AdvertisedHost: "127.0.0.1", AdvertisedPort: 9092, MaxRequestBytes: 1 << 20,
			NonDataRequestBytesMax: 64 << 10, QueuedRequestBytesMax: 1 << 20, NumPartitions: 1,
			FetchMaxWaitMsMax: 500, Topics: stubTopics{}, TopicDeletionDisabled: true}, zap.NewNop())
		img, err := controllertest.Image(controllertest.Topic{Name: "t", Partitions: 2})
		if err != nil {
			t.Fatal(err)
		}
		b.Step(ImagePublished{Image: img})
		b.Step(ConnOpened{Conn: 1})
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.SetVersion(version)
		req.TopicNames = []string{"t", "missing"}
		if version >= 6 {
			id := [16]byte{1}
			req.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("t")}, {TopicID: id}}
		}
		resp := roundTrip(t, b, req, nil).(*kmsg.DeleteTopicsResponse)
		want := kerr.TopicDeletionDisabled.Code
		if version < 3 {
			want = kerr.InvalidRequest.Code
		}
		if len(resp.Topics) != 2 || resp.Topics[0].ErrorCode != want || resp.Topics[1].ErrorCode != want {
			t.Errorf("v%d: %+v, want every topic refused with %d", version, resp.Topics, want)
		}
	}
}

// TestCreateTopicsRefusesNullConfigValues: a config with a null value is
// INVALID_CONFIG naming every such config, as Kafka's
// ReplicationControlManager answers, not silently dropped.
func TestCreateTopicsRefusesNullConfigValues(t *testing.T) {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(7)
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = "n", 1, 1
	for _, name := range []string{"retention.ms", "segment.bytes"} {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name = name
		topic.Configs = append(topic.Configs, c)
	}
	req.Topics = append(req.Topics, topic)
	resp := roundTrip(t, fuzzBroker(), req, nil).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.InvalidConfig.Code || resp.Topics[0].ErrorMessage == nil ||
		*resp.Topics[0].ErrorMessage != "Null value not supported for topic configs: retention.ms,segment.bytes" {
		t.Fatalf("%+v, want INVALID_CONFIG naming both null configs", resp.Topics)
	}
}
