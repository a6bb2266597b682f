// Package controllertest builds controller Images for tests of the layers
// above, by driving a real Controller (no I/O: its metadata log's Persist
// requests are acknowledged in memory as written and synced).
package controllertest

import (
	"errors"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// Topic names a topic to create and its partition count.
type Topic struct {
	Name       string
	Partitions int32
}

// Image returns node 1's image after bootstrap and the creation of
// topics, in order.
func Image(topics ...Topic) (*controller.Image, error) {
	h := &harness{c: controller.New(controller.DefaultConfig(1), env.NewRand(1, "controllertest"), zap.NewNop())}
	if err := h.step(controller.Loaded{}); err != nil {
		return nil, err
	}
	for i, t := range topics {
		err := h.step(controller.Propose{ID: controller.RequestID(i + 1), Change: controller.CreateTopic{Name: t.Name, Partitions: t.Partitions}})
		if err != nil {
			return nil, err
		}
	}
	if h.img == nil {
		return nil, errors.New("controllertest: no image was published")
	}
	return h.img, nil
}

type harness struct {
	c   *controller.Controller
	img *controller.Image
	end storage.Offset
}

// step delivers ev and every completion its Ready asks for.
func (h *harness) step(first controller.Event) error {
	queue := []controller.Event{first}
	for len(queue) > 0 {
		ev := queue[0]
		queue = queue[1:]
		if err := h.c.Step(ev); err != nil {
			return err
		}
		for h.c.HasReady() {
			rd := h.c.Ready()
			h.c.Advance(rd)
			if rd.Failure != nil {
				return rd.Failure.Err
			}
			if rd.Published != nil {
				h.img = rd.Published
			}
			for _, r := range rd.Replies {
				if r.Err != nil {
					return r.Err
				}
			}
			if p := rd.Persist; p != nil {
				for _, b := range p.Batches {
					h.end = storage.DecodeBatchHeader(b).NextOffset()
				}
				queue = append(queue, replication.Written{Op: p.Op, UpTo: h.end}, replication.Synced{Op: p.Op, UpTo: h.end})
			}
		}
	}
	return nil
}
