package broker

// Produce (key 0), versions 3-12 handled, 0-12 advertised, as Kafka 4.0.1
// (v0-2 are advertised for librdkafka, KAFKA-18659, and refused).
//
// acks: 0 is never answered (the connection takes its next request at
// once), but when a partition fails its connection is closed, as Kafka
// does, so that the client notices and refreshes its metadata; 1 is
// answered once the batch is written, -1 once it is below the
// high watermark, which on one node is the fsynced end. Each partition
// gets exactly one batch (v3+), validated before it reaches the log (CRC,
// lengths, records, timestamps against message.timestamp.before/after,
// compression, max.message.bytes, keys for compacted topics; see
// validate.go). acks=-1 with min.insync.replicas above the one live
// replica is NOT_ENOUGH_REPLICAS, as Kafka does. Internal topics are
// INVALID_TOPIC_EXCEPTION. Not implemented: transactions (a transactional
// id or batch is TRANSACTIONAL_ID_AUTHORIZATION_FAILED, non-retriable, so
// a transactional producer fails fast); topic IDs (v13); throttling.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/replication"
)

func handleProduce(b *Broker, r *request) {
	req := r.kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	g := &gather{finish: func() {
		if req.Acks != 0 {
			b.respond(r, resp)
			return
		}
		if code := firstProduceError(resp); code != 0 && !r.c.closing {
			b.closeConn(r.c, "acks=0 produce failed", zap.Int16("error", code))
		}
	}}
	g.add()
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			*rp = kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			b.producePartition(r, req, t.Topic, p, rp, g)
		}
	}
	if req.Acks == 0 {
		b.done(r) // Kafka never answers acks=0: the connection moves on
	}
	g.doneOne()
}

// firstProduceError is the first partition error of a produce response,
// 0 when every partition succeeded.
func firstProduceError(resp *kmsg.ProduceResponse) int16 {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return p.ErrorCode
			}
		}
	}
	return 0
}

// producePartition validates one partition's batch and sends it on.
func (b *Broker) producePartition(r *request, req *kmsg.ProduceRequest, topic string, p kmsg.ProduceRequestTopicPartition,
	rp *kmsg.ProduceResponseTopicPartition, g *gather) {
	fail := func(code int16, msg string) {
		rp.ErrorCode = code
		if msg != "" {
			rp.ErrorMessage = strp(msg)
		}
	}
	switch {
	case req.Acks != 0 && req.Acks != 1 && req.Acks != -1:
		fail(kerr.InvalidRequiredAcks.Code, "acks must be -1, 0 or 1")
		return
	case req.TransactionID != nil:
		fail(kerr.TransactionalIDAuthorizationFailed.Code, "transactions are not supported yet")
		return
	case internalTopic(topic):
		fail(kerr.InvalidTopicException.Code, "internal topics cannot be produced to")
		return
	}
	t, ok := b.topic(topic)
	if !ok || p.Partition < 0 || p.Partition >= t.Partitions {
		fail(kerr.UnknownTopicOrPartition.Code, "")
		return
	}
	tc := b.topicConfig(t)
	if req.Acks == -1 && tc.MinInsyncReplicas > 1 {
		fail(kerr.NotEnoughReplicas.Code, "min.insync.replicas is above the 1 live replica")
		return
	}
	batch, v := b.validateProduce(p.Records, r.hdr.APIVersion, tc)
	if v.code != 0 {
		fail(v.code, v.msg)
		rp.ErrorRecords = v.recordErrors
		return
	}
	g.add()
	b.toPartition(r, t.ID, p.Partition, func(id replication.RequestID) replication.Event {
		return replication.Produce{Now: b.now, ID: id, Batch: batch, Acks: req.Acks}
	}, func(rep replication.Reply) {
		rp.ErrorCode = partitionCode(rep.Err)
		if rep.Err == nil {
			rp.BaseOffset, rp.LogStartOffset = int64(rep.Base), int64(rep.LogStart)
			rp.LogAppendTime = rep.Timestamp // the time stamped into the batch
			if rep.Timestamp < 0 && tc.LogAppendTime {
				rp.LogAppendTime = b.now.WallMs // a duplicate: Kafka answers its original's time
			}
		}
		g.doneOne()
	})
}

// topicConfig is a topic's effective config, resolved once per image.
func (b *Broker) topicConfig(t controller.Topic) TopicConfig {
	if tc, ok := b.topicConfigs[t.ID]; ok {
		return tc
	}
	tc := b.dynamicTopics().Effective(t.Configs)
	b.topicConfigs[t.ID] = tc
	return tc
}

// topic looks a topic up by name in the current image.
func (b *Broker) topic(name string) (controller.Topic, bool) {
	if b.image == nil {
		return controller.Topic{}, false
	}
	return b.image.Topic(name)
}

// topicByID looks a topic up by id in the current image.
func (b *Broker) topicByID(id controller.TopicID) (controller.Topic, bool) {
	if b.image == nil || id == (controller.TopicID{}) {
		return controller.Topic{}, false
	}
	return b.image.TopicByID(id)
}
