package broker

// DescribeLogDirs (key 35), versions 1-4, as Kafka 4.0.1 (v0 was removed
// in 4.0): the node's one log directory with the size of each partition
// asked (null topics: every partition), measured on disk by the
// partition's executor; v4 adds the volume's total and usable bytes (-1
// when no partition could measure them). A partition that failed is left
// out, as Kafka leaves out partitions of an offline directory. No
// partition is ever "future" (no directory moves) and none lags (one
// replica).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/replication"
)

func handleDescribeLogDirs(b *Broker, r *request) {
	req := r.kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir, dir.TotalBytes, dir.UsableBytes = b.cfg.LogDir, -1, -1
	type target struct {
		topic controller.Topic
		parts []int32
	}
	var targets []target
	if req.Topics == nil && b.image != nil {
		for _, t := range b.image.Topics() {
			tg := target{topic: t}
			for p := int32(0); p < t.Partitions; p++ {
				tg.parts = append(tg.parts, p)
			}
			targets = append(targets, tg)
		}
	}
	for _, rt := range req.Topics {
		if t, ok := b.topic(rt.Topic); ok {
			targets = append(targets, target{topic: t, parts: rt.Partitions})
		}
	}
	sizes := make([][]int64, len(targets))
	g := &gather{finish: func() {
		for i, tg := range targets {
			dt := kmsg.NewDescribeLogDirsResponseDirTopic()
			dt.Topic = tg.topic.Name
			for j, p := range tg.parts {
				if sizes[i][j] < 0 {
					continue
				}
				dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
				dp.Partition, dp.Size = p, sizes[i][j]
				dt.Partitions = append(dt.Partitions, dp)
			}
			if len(dt.Partitions) > 0 {
				dir.Topics = append(dir.Topics, dt)
			}
		}
		resp.Dirs = []kmsg.DescribeLogDirsResponseDir{dir}
		b.respond(r, resp)
	}}
	g.add()
	for i, tg := range targets {
		sizes[i] = make([]int64, len(tg.parts))
		for j, p := range tg.parts {
			sizes[i][j] = -1
			if p < 0 || p >= tg.topic.Partitions {
				continue
			}
			g.add()
			b.toPartition(r, tg.topic.ID, p, func(id replication.RequestID) replication.Event {
				return replication.LogSize{Now: b.now, ID: id}
			}, func(rep replication.Reply) {
				if rep.Err == nil {
					sizes[i][j] = rep.SizeBytes
					if rep.TotalBytes >= 0 {
						dir.TotalBytes, dir.UsableBytes = rep.TotalBytes, rep.UsableBytes
					}
				}
				g.doneOne()
			})
		}
	}
	g.doneOne()
}
