// These tests pin, with kadm against a real node, config answers found
// to differ from Apache Kafka 4.0 in a review of the config APIs: a
// cluster-wide broker default that Kafka accepts and that conflicts with
// one topic's override never drops that topic's other overrides (its
// retention.ms=-1 and cleanup.policy=compact stay, before and after a
// restart).
package driver

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestBrokerDefaultConflictKeepsTopicOverrides(t *testing.T) {
	dir := t.TempDir()
	n := startConfigNode(t, dir)
	ctx, adm := testCtx(t), newAdmin(t, n)
	configs := map[string]*string{"cleanup.policy": kadm.StringPtr("compact"), "retention.ms": kadm.StringPtr("-1"),
		"max.compaction.lag.ms": kadm.StringPtr("3600000")}
	if _, err := adm.CreateTopic(ctx, 1, 1, configs, "kept"); err != nil {
		t.Fatal(err)
	}
	// Kafka checks a topic's lag pair only when the topic is altered.
	rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.cleaner.min.compaction.lag.ms", Value: kadm.StringPtr("7200000")}})
	wantAlterErr(t, rs, err, nil, "")
	check := func() {
		t.Helper()
		wantValue(t, describeTopic(t, ctx, adm, "kept", "retention.ms"), "-1", kmsg.ConfigSourceDynamicTopicConfig)
		wantValue(t, describeTopic(t, ctx, adm, "kept", "cleanup.policy"), "compact", kmsg.ConfigSourceDynamicTopicConfig)
		wantValue(t, describeTopic(t, ctx, adm, "kept", "min.compaction.lag.ms"), "7200000",
			kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	}
	check()
	stopNode(t, n)
	n = startConfigNode(t, dir)
	defer stopNode(t, n)
	adm = newAdmin(t, n)
	check()
}
