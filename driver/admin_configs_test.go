// These tests drive the config APIs with kadm against a real node, as an
// operator would: DescribeConfigs of topics and brokers (values, sources,
// synonyms, read-only flags, documentation, key filters, refusals),
// IncrementalAlterConfigs with each operation and AlterConfigs' full
// replacement, validate-only writing nothing, Kafka's error codes for
// unknown, invalid, unsupported and read-only configs, changes applied to
// the data path without a restart (max.message.bytes, per topic and
// cluster-wide), every change surviving a restart, and DescribeCluster and
// ListClientMetricsResources.
package driver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/driver/osfs"
)

// startConfigNode starts node 1 over dir with a static log.retention.ms,
// so that topic configs have a static broker synonym to show.
func startConfigNode(t *testing.T, dir string) *Node {
	t.Helper()
	cfg, err := config.LoadBroker(nil, map[string]string{"node.id": "1", "log.retention.ms": "86400000"})
	if err != nil {
		t.Fatal(err)
	}
	nc := testNodeConfig(t, osfs.New(dir))
	nc.Broker.AutoCreateTopics, nc.Broker.Topics = false, config.TopicConfigs{Broker: cfg}
	n, err := StartNode(nc)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// configOf finds one config of one described resource.
func configOf(t *testing.T, rcs kadm.ResourceConfigs, resource, key string) kadm.Config {
	t.Helper()
	rc, err := rcs.On(resource, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe %q: %v %v %s", resource, err, rc.Err, rc.ErrMessage)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("%s: %s not described", resource, key)
	return kadm.Config{}
}

func describeTopic(t *testing.T, ctx context.Context, adm *kadm.Client, topic, key string) kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	return configOf(t, rcs, topic, key)
}

// wantValue checks a config's value and source.
func wantValue(t *testing.T, c kadm.Config, value string, source kmsg.ConfigSource) {
	t.Helper()
	if c.MaybeValue() != value || c.Source != source {
		t.Errorf("%s = %q from %v, want %q from %v", c.Key, c.MaybeValue(), c.Source, value, source)
	}
}

// wantAlterErr checks one alter's outcome: err nil for success.
func wantAlterErr(t *testing.T, rs kadm.AlterConfigsResponses, err error, want *kerr.Error, msg string) {
	t.Helper()
	if err != nil {
		t.Fatalf("alter: %v", err)
	}
	if len(rs) != 1 {
		t.Fatalf("alter answered %d resources", len(rs))
	}
	switch {
	case want == nil && rs[0].Err != nil:
		t.Errorf("alter %s: %v %s", rs[0].Name, rs[0].Err, rs[0].ErrMessage)
	case want != nil && (!errors.Is(rs[0].Err, want) || !strings.Contains(rs[0].ErrMessage, msg)):
		t.Errorf("alter %s: %v %q, want %v containing %q", rs[0].Name, rs[0].Err, rs[0].ErrMessage, want, msg)
	}
}

func TestDescribeConfigsTopicsAndBrokers(t *testing.T) {
	n := startConfigNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx, adm := testCtx(t), newAdmin(t, n)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("1000")}, "described"); err != nil {
		t.Fatal(err)
	}
	c := describeTopic(t, ctx, adm, "described", "retention.ms")
	wantValue(t, c, "1000", kmsg.ConfigSourceDynamicTopicConfig)
	wantSynonyms(t, c, "retention.ms=1000/DYNAMIC_TOPIC_CONFIG", "log.retention.ms=86400000/STATIC_BROKER_CONFIG",
		"log.retention.hours=168/DEFAULT_CONFIG")
	wantValue(t, describeTopic(t, ctx, adm, "described", "segment.bytes"), "1073741824", kmsg.ConfigSourceDefaultConfig)
	rcs, err := adm.DescribeTopicConfigs(ctx, "missing")
	if err != nil || len(rcs) != 1 || !errors.Is(rcs[0].Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("describe of a missing topic: %+v %v", rcs, err)
	}

	rcs, err = adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, configOf(t, rcs, "1", "node.id"), "1", kmsg.ConfigSourceStaticBrokerConfig)
	wantValue(t, configOf(t, rcs, "1", "log.retention.ms"), "86400000", kmsg.ConfigSourceStaticBrokerConfig)
	wantValue(t, configOf(t, rcs, "1", "num.partitions"), "1", kmsg.ConfigSourceDefaultConfig)
	if rcs, err = adm.DescribeBrokerConfigs(ctx); err != nil || len(rcs) != 1 || len(rcs[0].Configs) != 0 || rcs[0].Err != nil {
		t.Errorf("cluster-wide defaults before any: %+v %v", rcs, err)
	}
	describeRaw(t, ctx, n)
}

// wantSynonyms checks a config's synonyms as name=value/SOURCE.
func wantSynonyms(t *testing.T, c kadm.Config, want ...string) {
	t.Helper()
	var got []string
	for _, s := range c.Synonyms {
		value := ""
		if s.Value != nil {
			value = *s.Value
		}
		got = append(got, s.Key+"="+value+"/"+s.Source.String())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s synonyms\n got %q\nwant %q", c.Key, got, want)
	}
}

// nodeRequest sends req to node 1 itself (kadm and kgo route a broker
// resource to the broker it names, and refuse one that does not exist).
func nodeRequest(t *testing.T, ctx context.Context, n *Node, req kmsg.Request) kmsg.Response {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := cl.Broker(1).Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// describeRaw checks what kadm does not show: v4's documentation and
// types, read-only flags, a key filter, another broker's id and
// BROKER_LOGGER's refusal.
func describeRaw(t *testing.T, ctx context.Context, n *Node) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeDocumentation = true
	for _, r := range []struct {
		typ  kmsg.ConfigResourceType
		name string
	}{{kmsg.ConfigResourceTypeBroker, "1"}, {kmsg.ConfigResourceTypeTopic, "described"},
		{kmsg.ConfigResourceTypeBrokerLogger, "1"}, {kmsg.ConfigResourceTypeBroker, "2"}} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.typ, r.name
		rr.ConfigNames = []string{"node.id", "message.max.bytes", "retention.ms", "no.such"}
		req.Resources = append(req.Resources, rr)
	}
	resp := nodeRequest(t, ctx, n, req).(*kmsg.DescribeConfigsResponse)
	brokerRes, topicRes, loggerRes, otherRes := resp.Resources[0], resp.Resources[1], resp.Resources[2], resp.Resources[3]
	if otherRes.ErrorCode != kerr.InvalidRequest.Code ||
		*otherRes.ErrorMessage != "Unexpected broker id, expected 1 or empty string, but received 2" {
		t.Errorf("describe of broker 2: %+v", otherRes)
	}
	if len(brokerRes.Configs) != 2 || brokerRes.Configs[0].Name != "message.max.bytes" || brokerRes.Configs[0].ReadOnly ||
		brokerRes.Configs[1].Name != "node.id" || !brokerRes.Configs[1].ReadOnly || brokerRes.Configs[1].ConfigType != kmsg.ConfigTypeInt {
		t.Errorf("filtered broker configs %+v", brokerRes.Configs)
	}
	if len(topicRes.Configs) != 1 || topicRes.Configs[0].ReadOnly || topicRes.Configs[0].Documentation == nil ||
		topicRes.Configs[0].ConfigType != kmsg.ConfigTypeLong || len(topicRes.Configs[0].ConfigSynonyms) != 0 {
		t.Errorf("filtered topic configs %+v", topicRes.Configs)
	}
	if loggerRes.ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("BROKER_LOGGER answered %+v", loggerRes)
	}
}

func TestIncrementalAlterTopicConfigs(t *testing.T) {
	n := startConfigNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx, adm := testCtx(t), newAdmin(t, n)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "altered"); err != nil {
		t.Fatal(err)
	}
	alter := func(ops ...kadm.AlterConfig) (kadm.AlterConfigsResponses, error) {
		return adm.AlterTopicConfigs(ctx, ops, "altered")
	}
	set := func(name, value string) kadm.AlterConfig {
		return kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: kadm.StringPtr(value)}
	}
	rs, err := alter(set("retention.ms", "5000"), set("max.message.bytes", "2000"))
	wantAlterErr(t, rs, err, nil, "")
	wantValue(t, describeTopic(t, ctx, adm, "altered", "retention.ms"), "5000", kmsg.ConfigSourceDynamicTopicConfig)
	wantTooLarge(t, ctx, n, "altered", true) // applied without a restart

	throttled := "leader.replication.throttled.replicas"
	for _, step := range []struct {
		op    kadm.IncrementalOp
		value string
		want  string
	}{{kadm.AppendConfig, "0:1", "0:1"}, {kadm.AppendConfig, "1:1,0:1", "0:1,1:1"}, {kadm.SubtractConfig, "0:1", "1:1"}} {
		rs, err := alter(kadm.AlterConfig{Op: step.op, Name: throttled, Value: kadm.StringPtr(step.value)})
		wantAlterErr(t, rs, err, nil, "")
		wantValue(t, describeTopic(t, ctx, adm, "altered", throttled), step.want, kmsg.ConfigSourceDynamicTopicConfig)
	}
	rs, err = alter(kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "retention.ms"}, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "max.message.bytes"})
	wantAlterErr(t, rs, err, nil, "")
	wantValue(t, describeTopic(t, ctx, adm, "altered", "retention.ms"), "86400000", kmsg.ConfigSourceStaticBrokerConfig)
	wantTooLarge(t, ctx, n, "altered", false)

	rs, err = adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{set("retention.ms", "7")}, "altered")
	wantAlterErr(t, rs, err, nil, "")
	wantValue(t, describeTopic(t, ctx, adm, "altered", "retention.ms"), "86400000", kmsg.ConfigSourceStaticBrokerConfig)

	refusals := []struct {
		op   kadm.AlterConfig
		want *kerr.Error
		msg  string
	}{
		{kadm.AlterConfig{Op: kadm.AppendConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}, kerr.InvalidConfig, "because its type is not LIST"},
		{set("no.such.config", "1"), kerr.InvalidConfig, "Unknown topic config name: no.such.config"},
		{set("retention.ms", "-5"), kerr.InvalidConfig, "value must be at least -1"},
		{set("compression.type", "gzip"), kerr.InvalidConfig, "not supported by Takhin"},
		{set("cleanup.policy", "delete,nonsense"), kerr.InvalidConfig, `"nonsense" is not one of`},
	}
	for _, r := range refusals {
		rs, err := alter(r.op)
		wantAlterErr(t, rs, err, r.want, r.msg)
	}
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{set("retention.ms", "1")}, "missing")
	wantAlterErr(t, rs, err, kerr.UnknownTopicOrPartition, "does not exist")
}

// wantTooLarge produces a 3,000-byte record and checks whether it is
// refused as MESSAGE_TOO_LARGE.
func wantTooLarge(t *testing.T, ctx context.Context, n *Node, topic string, tooLarge bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.RecordRetries(2), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: make([]byte, 3000)}).FirstErr()
	if errors.Is(err, kerr.MessageTooLarge) != tooLarge || !tooLarge && err != nil {
		t.Errorf("a 3,000-byte record to %s: %v (want too large: %v)", topic, err, tooLarge)
	}
}

func TestAlterConfigsReplacesAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	n := startConfigNode(t, dir)
	ctx, adm := testCtx(t), newAdmin(t, n)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("1000")}, "replaced"); err != nil {
		t.Fatal(err)
	}
	rs, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.ms", Value: kadm.StringPtr("60000")}}, "replaced")
	wantAlterErr(t, rs, err, nil, "")
	wantValue(t, describeTopic(t, ctx, adm, "replaced", "retention.ms"), "86400000", kmsg.ConfigSourceStaticBrokerConfig)
	wantValue(t, describeTopic(t, ctx, adm, "replaced", "segment.ms"), "60000", kmsg.ConfigSourceDynamicTopicConfig)
	rs, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.ms", Value: kadm.StringPtr("soon")}}, "replaced")
	wantAlterErr(t, rs, err, kerr.InvalidConfig, `invalid value "soon" for configuration segment.ms`)
	rs, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.retention.bytes", Value: kadm.StringPtr("1048576")}})
	wantAlterErr(t, rs, err, nil, "")
	rs, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "min.insync.replicas", Value: kadm.StringPtr("1")}}, 1)
	wantAlterErr(t, rs, err, nil, "")
	stopNode(t, n)

	n = startConfigNode(t, dir)
	defer stopNode(t, n)
	adm = newAdmin(t, n)
	wantValue(t, describeTopic(t, ctx, adm, "replaced", "segment.ms"), "60000", kmsg.ConfigSourceDynamicTopicConfig)
	wantValue(t, describeTopic(t, ctx, adm, "replaced", "retention.bytes"), "1048576", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	wantValue(t, describeTopic(t, ctx, adm, "replaced", "min.insync.replicas"), "1", kmsg.ConfigSourceDynamicBrokerConfig)
	rcs, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, configOf(t, rcs, "", "log.retention.bytes"), "1048576", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
}

func TestBrokerConfigsDynamic(t *testing.T) {
	n := startConfigNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx, adm := testCtx(t), newAdmin(t, n)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "plain"); err != nil {
		t.Fatal(err)
	}
	set := func(name, value string) []kadm.AlterConfig {
		return []kadm.AlterConfig{{Op: kadm.SetConfig, Name: name, Value: kadm.StringPtr(value)}}
	}
	rs, err := adm.AlterBrokerConfigs(ctx, set("message.max.bytes", "2000")) // cluster-wide
	wantAlterErr(t, rs, err, nil, "")
	wantValue(t, describeTopic(t, ctx, adm, "plain", "max.message.bytes"), "2000", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	wantTooLarge(t, ctx, n, "plain", true)
	rs, err = adm.AlterBrokerConfigs(ctx, set("message.max.bytes", "1000000"), 1) // this node beats the cluster
	wantAlterErr(t, rs, err, nil, "")
	c := describeTopic(t, ctx, adm, "plain", "max.message.bytes")
	wantValue(t, c, "1000000", kmsg.ConfigSourceDynamicBrokerConfig)
	wantSynonyms(t, c, "message.max.bytes=1000000/DYNAMIC_BROKER_CONFIG", "message.max.bytes=2000/DYNAMIC_DEFAULT_BROKER_CONFIG",
		"message.max.bytes=1048588/DEFAULT_CONFIG")
	wantTooLarge(t, ctx, n, "plain", false)
	rcs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, configOf(t, rcs, "1", "message.max.bytes"), "1000000", kmsg.ConfigSourceDynamicBrokerConfig)

	rs, err = adm.ValidateAlterBrokerConfigs(ctx, set("log.retention.ms", "1"))
	wantAlterErr(t, rs, err, nil, "")
	wantValue(t, describeTopic(t, ctx, adm, "plain", "retention.ms"), "86400000", kmsg.ConfigSourceStaticBrokerConfig)
	for _, r := range []struct {
		configs []kadm.AlterConfig
		brokers []int32
		msg     string
	}{
		{set("node.id", "2"), []int32{1}, "Cannot update these configs dynamically: Set(node.id)"},
		{set("log.retention.hours", "1"), nil, "Cannot update these configs dynamically: Set(log.retention.hours)"},
		{set("no.such.config", "1"), nil, "Unknown broker config name: no.such.config"},
		{set("message.max.bytes", "-1"), nil, "value must be at least 0"},
	} {
		rs, err := adm.AlterBrokerConfigs(ctx, r.configs, r.brokers...)
		wantAlterErr(t, rs, err, kerr.InvalidRequest, r.msg)
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "2"
	req.Resources = append(req.Resources, res)
	resp := nodeRequest(t, ctx, n, req).(*kmsg.IncrementalAlterConfigsResponse)
	if r := resp.Resources[0]; r.ErrorCode != kerr.InvalidRequest.Code || *r.ErrorMessage != "Unexpected broker id, expected 1, but received 2" {
		t.Errorf("alter of broker 2: %+v", r)
	}
}

func TestInternalTopicConfigsRefused(t *testing.T) {
	n := startConfigNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx, adm := testCtx(t), newAdmin(t, n)
	deadline := time.Now().Add(30 * time.Second)
	for { // FindCoordinator creates __consumer_offsets
		if adm.FindGroupCoordinators(ctx, "g").Ok() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no coordinator in 30s")
		}
		time.Sleep(50 * time.Millisecond) // pacing a poll, not an assertion
	}
	describeTopic(t, ctx, adm, "__consumer_offsets", "cleanup.policy") // described, not altered
	rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1")}}, "__consumer_offsets")
	wantAlterErr(t, rs, err, kerr.InvalidRequest, "internal topic")
}

func TestDescribeClusterAndClientMetrics(t *testing.T) {
	n := startConfigNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx, adm := testCtx(t), newAdmin(t, n)
	meta, err := adm.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeClusterRequest()
	req.IncludeClusterAuthorizedOperations = true
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	host, port := meta.Brokers[0].Host, meta.Brokers[0].Port
	if resp.ErrorCode != 0 || resp.ClusterID != meta.Cluster || resp.ControllerID != 1 || len(resp.Brokers) != 1 ||
		resp.Brokers[0].NodeID != 1 || resp.Brokers[0].Host != host || resp.Brokers[0].Port != port || resp.Brokers[0].Rack != nil ||
		resp.EndpointType != 1 || resp.ClusterAuthorizedOperations != 8096 {
		t.Errorf("DescribeCluster v%d: %+v (metadata cluster %q broker %s:%d)", resp.Version, resp, meta.Cluster, host, port)
	}
	req.EndpointType = 2
	if resp, err := req.RequestWith(ctx, cl); err != nil || resp.ErrorCode != kerr.MismatchedEndpointType.Code {
		t.Errorf("DescribeCluster of controllers: %+v %v", resp, err)
	}
	listed, err := adm.ListConfigResources(ctx)
	if err != nil || listed.Err != nil || len(listed.Resources) != 0 {
		t.Errorf("ListClientMetricsResources: %+v %v", listed, err)
	}
}
