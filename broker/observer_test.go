package broker

// Goal: the Observer hears of every served request exactly once, when its
// answer leaves, with its key, sizes, latency on the events' monotonic
// clock and every non-zero error code of the response; and the error walk
// finds codes at every depth of a kmsg response.

import (
	"reflect"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/controller/controllertest"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
)

type recordingObserver struct{ done []RequestDone }

func (o *recordingObserver) RequestDone(d RequestDone) {
	d.Errors = slices.Clone(d.Errors)
	o.done = append(o.done, d)
}

func observedBroker(t *testing.T, o Observer) *Broker {
	t.Helper()
	b := New(Config{NodeID: 1, AdvertisedHost: "127.0.0.1", AdvertisedPort: 9092, MaxRequestBytes: 1 << 20,
		NonDataRequestBytesMax: 64 << 10, QueuedRequestBytesMax: 1 << 20, NumPartitions: 1,
		ProducerIDBlock: 10, FetchMaxWaitMsMax: 500, Topics: stubTopics{}, Observer: o}, zap.NewNop())
	img, err := controllertest.Image(controllertest.Topic{Name: "t", Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.Step(ImagePublished{Image: img})
	b.Step(ConnOpened{Conn: 1})
	return b
}

func TestObserverHearsEachRequestOnce(t *testing.T) {
	o := &recordingObserver{}
	b := observedBroker(t, o)
	fm := kmsg.NewRequestFormatter(kmsg.FormatterClientID("obs"))

	api := kmsg.NewPtrApiVersionsRequest()
	api.SetVersion(3)
	api.ClientSoftwareName, api.ClientSoftwareVersion = "obs", "1"
	b.Step(FrameIn{Now: env.Time{Mono: 100}, Conn: 1, Frame: fm.AppendRequest(nil, api, 1)[4:]})
	meta := kmsg.NewPtrMetadataRequest()
	meta.SetVersion(9)
	topic := kmsg.NewMetadataRequestTopic()
	topic.Topic = kmsg.StringPtr("missing")
	meta.Topics = append(meta.Topics, topic, topic)
	metaFrame := fm.AppendRequest(nil, meta, 2)[4:]
	b.Step(FrameIn{Now: env.Time{Mono: 250}, Conn: 1, Frame: metaFrame})
	rd := b.Ready()
	b.Advance(rd)

	if len(o.done) != 2 || len(rd.Sends) != 2 {
		t.Fatalf("observed %d requests, sent %d frames; want 2 and 2", len(o.done), len(rd.Sends))
	}
	if d := o.done[0]; d.APIKey != 18 || d.APIVersion != 3 || d.LatencyNs != 0 || len(d.Errors) != 0 ||
		d.ResponseBytes != len(rd.Sends[0].Frame) {
		t.Errorf("ApiVersions observed as %+v", d)
	}
	d := o.done[1]
	if d.APIKey != 3 || d.RequestBytes != len(metaFrame)+env.FrameHeaderBytes || d.ResponseBytes != len(rd.Sends[1].Frame) {
		t.Errorf("Metadata observed as %+v", d)
	}
	code := kerr.UnknownTopicOrPartition.Code
	if !slices.Equal(d.Errors, []int16{code, code}) {
		t.Errorf("Metadata errors %v, want UNKNOWN_TOPIC_OR_PARTITION twice", d.Errors)
	}
}

// TestObserverLatencyAndFetchedBytes: a produce answered by a later event
// reports the time between, and a fetch reports its record bytes.
func TestObserverLatencyAndFetchedBytes(t *testing.T) {
	o := &recordingObserver{}
	b := observedBroker(t, o)
	fm := kmsg.NewRequestFormatter(kmsg.FormatterClientID("obs"))
	fetch := kmsg.NewPtrFetchRequest()
	fetch.SetVersion(12)
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	b.Step(FrameIn{Now: env.Time{Mono: 1_000}, Conn: 1, Frame: fm.AppendRequest(nil, fetch, 1)[4:]})
	rd := b.Ready()
	b.Advance(rd)
	if len(rd.ToPartitions) != 1 || len(o.done) != 0 {
		t.Fatalf("fetch: %d partition requests, %d observed before the reply; want 1 and 0", len(rd.ToPartitions), len(o.done))
	}
	batches := make([]byte, 123)
	b.Step(PartitionReply{Now: env.Time{Mono: 5_000}, Reply: replication.Reply{
		ID: replication.RequestIDOf(rd.ToPartitions[0].Event), Batches: batches, HighWatermark: 1}})
	if len(o.done) != 1 {
		t.Fatalf("observed %d requests after the reply, want 1", len(o.done))
	}
	if d := o.done[0]; d.APIKey != 1 || d.LatencyNs != 4_000 || d.FetchedBytes != 123 || len(d.Errors) != 0 {
		t.Errorf("Fetch observed as %+v", d)
	}
}

func TestAppendErrorCodes(t *testing.T) {
	produce := kmsg.NewPtrProduceResponse()
	for _, codes := range [][]int16{{0, 3}, {0}} {
		rt := kmsg.NewProduceResponseTopic()
		for _, c := range codes {
			p := kmsg.NewProduceResponseTopicPartition()
			p.ErrorCode = c
			rt.Partitions = append(rt.Partitions, p)
		}
		produce.Topics = append(produce.Topics, rt)
	}
	fetch := kmsg.NewPtrFetchResponse()
	fetch.ErrorCode = 7
	ft := kmsg.NewFetchResponseTopic()
	fp := kmsg.NewFetchResponseTopicPartition()
	fp.ErrorCode, fp.RecordBatches = 6, []byte{1, 2, 3}
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	for _, tc := range []struct {
		name string
		resp kmsg.Response
		want []int16
	}{
		{"empty", kmsg.NewPtrApiVersionsResponse(), nil},
		{"top-level", &kmsg.InitProducerIDResponse{ErrorCode: 15}, []int16{15}},
		{"per-partition", produce, []int16{3}},
		{"both levels", fetch, []int16{7, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := appendErrorCodes(nil, reflect.ValueOf(tc.resp)); !slices.Equal(got, tc.want) {
				t.Errorf("codes %v, want %v", got, tc.want)
			}
		})
	}
}
