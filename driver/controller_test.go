package driver_test

// Goal: the controller loop over the metadata log. A created topic is
// answered only after its record is durable, with the image holding it
// published first; a restart on the same disk (after a power loss)
// publishes the topic again from the log; a log bootstrapped by another
// node id makes StartController fail, so the node refuses to start.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/driver"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

const metadataDir = "__cluster_metadata-0"

type controllerRig struct {
	t       *testing.T
	fs      *recordFS
	c       *driver.ControllerLoop
	replies *inbox[controller.RequestID, controller.Reply]
	fatals  *list[error]
	images  *list[*controller.Image]
}

// startController starts node nodeID's controller on fs; call it inside
// the bubble.
func startController(t *testing.T, fs *recordFS, nodeID int32) (*controllerRig, error) {
	r := &controllerRig{t: t, fs: fs, fatals: &list[error]{}, images: &list[*controller.Image]{}, replies: newInbox[controller.RequestID, controller.Reply]()}
	c, err := driver.StartController(driver.ControllerLoopConfig{
		FS: fs, Dir: metadataDir,
		Storage: storage.Config{SegmentBytes: 1 << 20, SegmentMs: 1 << 40, IndexIntervalBytes: 4096},
		Machine: controller.DefaultConfig(nodeID), Rand: env.NewRand(uint64(nodeID), "controller"),
		OnPublish: r.onPublish, OnReply: r.onReply, OnFatal: r.fatals.add,
	})
	r.c = c
	if err == nil {
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
	}
	return r, err
}

func (r *controllerRig) onPublish(img *controller.Image) {
	var names []string
	for _, topic := range img.Topics() {
		names = append(names, topic.Name)
	}
	r.fs.note(op{kind: opPublish, note: strings.Join(names, ",")})
	r.images.add(img)
}

func (r *controllerRig) onReply(rep controller.Reply) {
	if rep.Err == nil && rep.Offset >= 0 {
		r.fs.note(op{kind: opReply, base: rep.Offset, note: "proposal"})
	}
	r.replies.put(rep.ID, rep)
}

func (r *controllerRig) stop() {
	r.t.Helper()
	if err := r.c.Stop(context.Background()); err != nil {
		r.t.Fatalf("stop: %v", err)
	}
	if errs := r.fatals.all(); len(errs) != 0 {
		r.t.Fatalf("OnFatal: %v", errs)
	}
}

func mustStartController(t *testing.T, fs *recordFS, nodeID int32) *controllerRig {
	t.Helper()
	r, err := startController(t, fs, nodeID)
	if err != nil {
		t.Fatalf("start node %d: %v", nodeID, err)
	}
	synctest.Wait() // bootstrapped (a new log) or loaded
	if imgs := r.images.all(); len(imgs) == 0 || imgs[0].NodeID() != nodeID {
		t.Fatalf("node %d published no bootstrapped image", nodeID)
	}
	return r
}

func TestControllerCreatesATopicDurablyAndKeepsItAcrossARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newRecordFS(11)
		r := mustStartController(t, fs, 1)
		if err := r.c.Propose(7, controller.CreateTopic{Name: "orders", Partitions: 3}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		got, ok := r.replies.get(7)
		if !ok || got.reply.Err != nil || got.reply.TopicID.IsZero() || got.reply.Offset < 1 {
			t.Fatalf("create topic: %+v (answered %v)", got.reply, ok)
		}
		ops := fs.snapshot()
		checkDurableBeforeReplies(t, ops)
		last := -1 // the image holding the topic goes out before the reply
		for i, o := range ops {
			if o.kind == opPublish && o.note == "orders" {
				last = i
			}
			if o.kind == opReply && last < 0 {
				t.Fatalf("reply released before the image holding its change: %v", ops)
			}
		}
		r.stop()

		fs.crash(11)
		again := mustStartController(t, fs, 1)
		topic, ok := again.images.all()[0].Topic("orders")
		if !ok || topic.ID != got.reply.TopicID || topic.Partitions != 3 {
			t.Fatalf("after a restart: %+v (found %v), want id %v with 3 partitions", topic, ok, got.reply.TopicID)
		}
		again.stop()
	})
}

func TestControllerRefusesALogOfAnotherNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newRecordFS(12)
		mustStartController(t, fs, 1).stop()
		if _, err := startController(t, fs, 2); !errors.Is(err, controller.ErrNodeIDMismatch) {
			t.Fatalf("node 2 on node 1's log: %v, want ErrNodeIDMismatch", err)
		}
		// Nothing was left open or running: node 1 starts again.
		mustStartController(t, fs, 1).stop()
	})
}
