package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// GatewayGroup is the consumer group of examples/gateway/collector.yaml, and KafkaTopics the topics its agents
// write: spans, logs, metrics.
const GatewayGroup = "strata-gateways"

var KafkaTopics = []string{"otlp_spans", "otlp_logs", "otlp_metrics"}

// Kafka is a Kafka protocol broker on loopback (franz-go's kfake) with KafkaTopics, each of the given partitions;
// it closes when the test ends.
type Kafka struct {
	Broker string      // host:port
	Client *kgo.Client // a producer that writes each record to the partition it names
	Admin  *kadm.Client
}

func StartKafka(t testing.TB, partitions int32) Kafka {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, KafkaTopics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	broker := cluster.ListenAddrs()[0]
	client, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return Kafka{Broker: broker, Client: client, Admin: kadm.NewClient(client)}
}

// Assignment reads the gateways' consumer group: once it is stable, each member's partitions by topic, by client id.
func (k Kafka) Assignment() (map[string]map[string][]int32, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	groups, err := k.Admin.DescribeGroups(ctx, GatewayGroup)
	if err != nil {
		return nil, err
	}
	g := groups[GatewayGroup]
	if g.Err != nil {
		return nil, g.Err
	}
	if g.State != "Stable" {
		return nil, fmt.Errorf("group %s", g.State)
	}
	assignment := map[string]map[string][]int32{}
	for _, m := range g.Members {
		a, ok := m.Assigned.AsConsumer()
		if !ok {
			return nil, fmt.Errorf("member %s: no consumer assignment", m.MemberID)
		}
		if assignment[m.ClientID] == nil {
			assignment[m.ClientID] = map[string][]int32{}
		}
		for _, topic := range a.Topics {
			p := slices.Clone(topic.Partitions)
			slices.Sort(p)
			assignment[m.ClientID][topic.Topic] = p
		}
	}
	return assignment, nil
}

// Tier is a running agent or gateway of the deployment examples.
type Tier struct {
	*Process
	Name      string
	Telemetry string    // URL of its own metrics
	OTLP      string    // agent: host:port of its OTLP/HTTP receiver
	Sink      *OTLPSink // gateway: where it exports (OTLP)
	Metrics   string    // gateway: URL of its prometheus exporter (the service graph)
}

// StartGateway runs root/examples/gateway/collector.yaml as the named gateway (its HOSTNAME) on broker, with ports
// of its own, exporting OTLP to a sink of its own and remote write and alerts to accept (any HTTP server); env
// adds variables of the configuration (NAME=value).
func StartGateway(t testing.TB, binary, root, name, broker, accept string, env ...string) *Tier {
	t.Helper()
	gw := &Tier{Name: name, Sink: NewOTLPSink(t)}
	health, telemetry := FreePort(t), FreePort(t)
	gw.Telemetry = fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetry)
	metrics := FreePort(t)
	gw.Metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics)
	ports := WriteYAML(t, filepath.Join(t.TempDir(), name+".yaml"), map[string]any{
		"extensions": map[string]any{"health_check": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", health)}},
		"exporters":  map[string]any{"prometheus": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", metrics)}},
		"service":    telemetryOn(telemetry),
	})
	cmd := exec.Command(binary, "--config="+filepath.Join(root, "examples", "gateway", "collector.yaml"), "--config="+ports)
	cmd.Env = append(os.Environ(),
		"HOSTNAME="+name,
		"MY_POD_IP=127.0.0.1",
		"KAFKA_BROKERS="+broker,
		"STRATA_STATE_DIR="+t.TempDir(),
		"BACKEND_OTLP_ENDPOINT="+gw.Sink.URL,
		"PROMETHEUS_REMOTE_WRITE_URL="+accept,
		"ALERTMANAGER_URL="+accept,
	)
	cmd.Env = append(cmd.Env, env...)
	gw.Process = StartCmd(t, cmd)
	gw.waitHealthy(t, health)
	return gw
}

// StartAgent runs root/examples/agent/collector.yaml on broker with its Kubernetes-only receivers and processor left
// out of the pipelines (there is no kubelet nor API server on loopback) and ports of its own: OTLP in, Kafka out.
func StartAgent(t testing.TB, binary, root, broker string) *Tier {
	t.Helper()
	health, telemetry := FreePort(t), FreePort(t)
	a := &Tier{Name: "agent", OTLP: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), Telemetry: fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetry)}
	processors := []any{"memory_limiter", "resourcedetection", "batch"}
	service := telemetryOn(telemetry)
	service["pipelines"] = map[string]any{
		"traces":  map[string]any{"processors": processors},
		"metrics": map[string]any{"receivers": []any{"otlp"}, "processors": processors},
		"logs":    map[string]any{"receivers": []any{"otlp"}, "processors": processors},
	}
	local := WriteYAML(t, filepath.Join(t.TempDir(), "agent.yaml"), map[string]any{
		"extensions": map[string]any{"health_check": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", health)}},
		"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"grpc": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", FreePort(t))},
			"http": map[string]any{"endpoint": a.OTLP},
		}}},
		"service": service,
	})
	cmd := exec.Command(binary, "--config="+filepath.Join(root, "examples", "agent", "collector.yaml"), "--config="+local)
	cmd.Env = append(os.Environ(),
		"MY_POD_IP=127.0.0.1",
		"K8S_NODE_NAME=node-1",
		"KAFKA_BROKERS="+broker,
		"STRATA_STATE_DIR="+t.TempDir(),
	)
	a.Process = StartCmd(t, cmd)
	a.waitHealthy(t, health)
	return a
}

// telemetryOn returns a service section whose own metrics are served on port.
func telemetryOn(port int) map[string]any {
	return map[string]any{"telemetry": map[string]any{"metrics": map[string]any{"readers": []any{
		map[string]any{"pull": map[string]any{"exporter": map[string]any{"prometheus": map[string]any{"host": "127.0.0.1", "port": port}}}},
	}}}}
}

func (tier *Tier) waitHealthy(t testing.TB, port int) {
	t.Helper()
	tier.WaitFor(t, "health", 30*time.Second, func() error {
		_, err := HTTPGet(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return err
	})
}
