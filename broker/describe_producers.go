package broker

// DescribeProducers (key 61), version 0, as Kafka 4.0.1: each partition's
// active idempotent producers (those not yet expired by
// producer.id.expiration.ms): id, epoch, last sequence. LastTimestamp is
// the broker time of the producer's last append (Kafka reports the last
// batch's max timestamp). No transactions: CoordinatorEpoch and
// CurrentTxnStartOffset are -1.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/replication"
)

func handleDescribeProducers(b *Broker, r *request) {
	req := r.kreq.(*kmsg.DescribeProducersRequest)
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	g := &gather{finish: func() { b.respond(r, resp) }}
	g.add()
	resp.Topics = make([]kmsg.DescribeProducersResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewDescribeProducersResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.DescribeProducersResponseTopicPartition, len(t.Partitions))
		topic, ok := b.topic(t.Topic)
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			*rp = kmsg.NewDescribeProducersResponseTopicPartition()
			rp.Partition = p
			if !ok || p < 0 || p >= topic.Partitions {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			}
			g.add()
			b.toPartition(r, topic.ID, p, func(id replication.RequestID) replication.Event {
				return replication.Producers{Now: b.now, ID: id}
			}, func(rep replication.Reply) {
				rp.ErrorCode = partitionCode(rep.Err)
				for _, e := range rep.Producers {
					ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
					ap.ProducerID, ap.ProducerEpoch = e.ProducerID, int32(e.Epoch)
					ap.LastSequence, ap.LastTimestamp = -1, e.LastAppendMs
					if n := len(e.Batches); n > 0 {
						ap.LastSequence = e.Batches[n-1].LastSeq
					}
					ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = -1, -1
					rp.ActiveProducers = append(rp.ActiveProducers, ap)
				}
				g.doneOne()
			})
		}
	}
	g.doneOne()
}
