package broker

// Goal: no request can crash the broker machine or make it allocate far
// beyond what it was sent (issue 4, criterion 6). Arbitrary frames, and
// valid requests of every handled key with mutated bodies, are fed to a
// broker with one topic; every partition and controller request it emits
// is answered with a canned reply; every frame it sends must be a whole
// size-prefixed frame. Run longer with `make fuzz`.

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/controller/controllertest"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// stubTopics accepts every config.
type stubTopics struct{}

func (stubTopics) Check([]controller.ConfigEntry) error { return nil }
func (stubTopics) Effective([]controller.ConfigEntry) TopicConfig {
	return DefaultTopicConfig()
}
func (stubTopics) Describe([]controller.ConfigEntry) []DescribedConfig      { return nil }
func (s stubTopics) WithDynamic(_, _ []controller.ConfigEntry) TopicConfigs { return s }
func (stubTopics) DescribeTopic([]controller.ConfigEntry) []DescribedConfig { return nil }
func (stubTopics) DescribeBroker(bool) []DescribedConfig                    { return nil }
func (stubTopics) PlanAlter(a ConfigAlter) ([]controller.ConfigEntry, []string, *ConfigError) {
	return nil, nil, nil
}

func fuzzBroker() *Broker {
	b := New(Config{NodeID: 1, AdvertisedHost: "127.0.0.1", AdvertisedPort: 9092, MaxRequestBytes: 1 << 20,
		NonDataRequestBytesMax: 64 << 10, QueuedRequestBytesMax: 1 << 20, AutoCreateTopics: true, NumPartitions: 1,
		ProducerIDBlock: 10, FetchMaxWaitMsMax: 500, Topics: stubTopics{}}, zap.NewNop())
	img, err := controllertest.Image(controllertest.Topic{Name: "t", Partitions: 2})
	if err != nil {
		panic(err) // a broken test harness, not input
	}
	b.Step(ImagePublished{Image: img})
	b.Step(ConnOpened{Conn: 1})
	return b
}

// settle answers everything the broker asks of partitions and the
// controller until it is quiet, checking every frame it sends.
func settle(t *testing.T, b *Broker) {
	for i := 0; i < 100 && b.HasReady(); i++ {
		rd := b.Ready()
		b.Advance(rd)
		for _, s := range rd.Sends {
			if len(s.Frame) < 4 || int(binary.BigEndian.Uint32(s.Frame)) != len(s.Frame)-4 {
				t.Fatalf("a sent frame's size prefix does not match its %d bytes", len(s.Frame))
			}
		}
		for _, pr := range rd.ToPartitions {
			b.Step(PartitionReply{Reply: replication.Reply{ID: replication.RequestIDOf(pr.Event), HighWatermark: 1}})
		}
		for _, p := range rd.Proposals {
			b.Step(ControllerReply{Reply: controller.Reply{ID: p.ID, Offset: -1, ProducerIDs: controller.ProducerIDBlock{Start: 1, Size: 10}}})
		}
		if rd.Deadline != 0 {
			b.Step(Tick{Now: env.Time{Mono: rd.Deadline}})
		}
	}
}

func FuzzBrokerRequest(f *testing.F) {
	fm := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	for _, e := range apiTable() {
		for _, v := range []int16{e.handledMin, e.max} {
			r := kmsg.RequestForKey(e.key)
			r.SetVersion(v)
			f.Add(fm.AppendRequest(nil, r, 1)[4:])
		}
	}
	f.Add([]byte{0, 18, 0, 99, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, frame []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b := fuzzBroker()
		b.Step(FrameIn{Conn: 1, Frame: frame})
		settle(t, b)
		runtime.ReadMemStats(&after)
		// kmsg may allocate arrays sized by counts the request claims,
		// bounded by its bytes; the broker must not go further.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(256*len(frame))+(4<<20) {
			t.Fatalf("a %d-byte request allocated %d bytes", len(frame), grew)
		}
	})
}

// TestLongPollAnsweredOnce: two partitions waking a long-poll (or a wake
// and the deadline) while its final read is under way must not answer the
// fetch twice (found by the load tool: an assertion killed the broker).
func TestLongPollAnsweredOnce(t *testing.T) {
	b := fuzzBroker()
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 500, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	for p := int32(0); p < 2; p++ {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = p, 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	fm := kmsg.NewRequestFormatter()
	b.Step(FrameIn{Conn: 1, Frame: fm.AppendRequest(nil, req, 7)[4:]})
	// The first reads find nothing: the fetch long-polls.
	rd := b.Ready()
	b.Advance(rd)
	for _, pr := range rd.ToPartitions {
		b.Step(PartitionReply{Reply: replication.Reply{ID: replication.RequestIDOf(pr.Event)}})
	}
	polls := b.Ready()
	b.Advance(polls)
	if len(polls.ToPartitions) != 2 {
		t.Fatalf("want a long-poll per partition, got %d requests", len(polls.ToPartitions))
	}
	// Both partitions wake it before the re-read completes.
	batch := []byte("not inspected")
	for _, pr := range polls.ToPartitions {
		b.Step(PartitionReply{Reply: replication.Reply{ID: replication.RequestIDOf(pr.Event), Batches: batch, HighWatermark: 1}})
	}
	sends := 0
	for i := 0; i < 10 && b.HasReady(); i++ {
		rd := b.Ready()
		b.Advance(rd)
		sends += len(rd.Sends)
		for _, pr := range rd.ToPartitions {
			b.Step(PartitionReply{Reply: replication.Reply{ID: replication.RequestIDOf(pr.Event), HighWatermark: 1}})
		}
	}
	if sends != 1 {
		t.Fatalf("the fetch was answered %d times", sends)
	}
}

// TestFetchAtTheEndHasEmptyNotNullRecords: a caught-up consumer gets an
// empty records field (length 0), never null (-1), in every version
// (found by the client matrix: librdkafka, Sarama and kafka-go reject -1).
func TestFetchAtTheEndHasEmptyNotNullRecords(t *testing.T) {
	for _, v := range []int16{4, 11, 12} {
		b := fuzzBroker()
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(v)
		req.ReplicaID, req.MaxBytes = -1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "t"
		for _, p := range []int32{0, 7} { // 7 does not exist: an error partition
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = p, 1<<20, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp := roundTrip(t, b, req, nil).(*kmsg.FetchResponse)
		for _, p := range resp.Topics[0].Partitions {
			if p.RecordBatches == nil {
				t.Fatalf("v%d partition %d: null records", v, p.Partition)
			}
		}
	}
}

// TestPipelineAnswersInOrder: requests of one connection are served
// together, but a quick answer (ApiVersions) waits for the slower request
// before it (an acks=all produce waiting for its fsync).
func TestPipelineAnswersInOrder(t *testing.T) {
	b := fuzzBroker()
	fm := kmsg.NewRequestFormatter()
	prod := kmsg.NewPtrProduceRequest()
	prod.SetVersion(9)
	prod.Acks, prod.TimeoutMillis = -1, 1000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = storage.EncodeBatch([]kmsg.Record{{Value: []byte("v")}}, 1)
	rt.Partitions = append(rt.Partitions, rp)
	prod.Topics = append(prod.Topics, rt)
	b.Step(FrameIn{Conn: 1, Frame: fm.AppendRequest(nil, prod, 1)[4:]})
	b.Step(FrameIn{Conn: 1, Frame: fm.AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 2)[4:]})
	rd := b.Ready()
	b.Advance(rd)
	if len(rd.Sends) != 0 || len(rd.ToPartitions) != 1 {
		t.Fatalf("before the produce is answered: %d sends, %d partition requests", len(rd.Sends), len(rd.ToPartitions))
	}
	b.Step(PartitionReply{Reply: replication.Reply{ID: replication.RequestIDOf(rd.ToPartitions[0].Event), HighWatermark: 1}})
	rd = b.Ready()
	b.Advance(rd)
	if len(rd.Sends) != 2 {
		t.Fatalf("after the produce: %d sends, want both", len(rd.Sends))
	}
	for i, s := range rd.Sends {
		if corr := int32(binary.BigEndian.Uint32(s.Frame[4:])); corr != int32(i+1) {
			t.Fatalf("response %d has correlation id %d", i, corr)
		}
	}
}
