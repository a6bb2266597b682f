// These tests pin, with kadm against a real node, config answers found
// to differ from Apache Kafka 4.0 in a review of the config APIs: a
// cluster-wide broker default that Kafka accepts and that conflicts with
// one topic's override never drops that topic's other overrides (its
// retention.ms=-1 and cleanup.policy=compact stay, before and after a
// restart); the cluster-wide default resource ("") lists only its own
// synonyms.
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

func TestDescribeClusterDefaultSynonyms(t *testing.T) {
	n := startConfigNode(t, t.TempDir()) // log.retention.ms=86400000 static
	defer stopNode(t, n)
	ctx, adm := testCtx(t), newAdmin(t, n)
	rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: kadm.StringPtr("120000")}})
	wantAlterErr(t, rs, err, nil, "")
	rcs, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := configOf(t, rcs, "", "log.retention.ms")
	wantValue(t, c, "120000", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	wantSynonyms(t, c, "log.retention.ms=120000/DYNAMIC_DEFAULT_BROKER_CONFIG")
}
