package test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
)

// The collector configuration of each tier, as examples/<tier>/collector.yaml has it; every Kubernetes form of a
// tier carries the same.
var tiers = []string{"agent", "gateway", "sidecar"}

// kubernetesSchema checks objects against the schemas of Kubernetes' built-in types (those client-go's
// server-side apply uses, generated from the API's OpenAPI definitions): unknown fields, wrong types, wrong shapes
// are errors. A strict decode into the Go types then catches what the schemas leave to the types (quantities,
// int-or-string).
type kubernetesSchema struct {
	check  func(*unstructured.Unstructured) error
	strict runtime.Decoder
}

func newKubernetesSchema() kubernetesSchema {
	converter := applyconfigurations.NewTypeConverter(scheme.Scheme)
	return kubernetesSchema{
		check: func(u *unstructured.Unstructured) error {
			_, err := converter.ObjectToTyped(u)
			return err
		},
		strict: serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer(),
	}
}

func (k kubernetesSchema) validate(u *unstructured.Unstructured) error {
	if err := k.check(u); err != nil {
		return fmt.Errorf("%s %s: schema: %w", u.GetKind(), u.GetName(), err)
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	if _, _, err := k.strict.Decode(data, nil, nil); err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// podOf wraps the pod-level fields of a Helm chart's values or an operator's resource (env, volumes, mounts,
// resources, security contexts, tolerations) into a Pod, so that they are checked against the Pod's schema.
func podOf(fields map[string]any, keys map[string]string) *unstructured.Unstructured {
	container := map[string]any{"name": "otelcol-strata", "image": "otelcol-strata:0.1.0"}
	spec := map[string]any{"containers": []any{container}}
	for from, to := range keys {
		v, ok := fields[from]
		if !ok {
			continue
		}
		if field, ok := strings.CutPrefix(to, "container."); ok {
			container[field] = v
		} else {
			spec[to] = v
		}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "fields"}, "spec": spec,
	}}
}

// readObjects reads the objects of a multi-document YAML file.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	decoder := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objects []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := decoder.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objects
		}
		require.NoError(t, err, path)
		if len(u.Object) > 0 {
			objects = append(objects, u)
		}
	}
}

// exampleConfig is the parsed examples/<tier>/collector.yaml.
func exampleConfig(t *testing.T, tier string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", tier, "collector.yaml"))
	require.NoError(t, err)
	var config map[string]any
	require.NoError(t, yaml.Unmarshal(data, &config))
	return config
}

// validateConfig runs the built binary's `validate` on a configuration, as validateExample does.
func validateConfig(t *testing.T, config any) {
	t.Helper()
	validateExample(t, writeYAML(t, "collector.yaml", config))
}

// TestKubernetesManifests checks examples/kubernetes/*.yaml against Kubernetes' schemas, that each ConfigMap holds
// its tier's examples/<tier>/collector.yaml unchanged, and that what the workloads refer to (ConfigMaps, service
// accounts, the health_check port of their probes) is there.
func TestKubernetesManifests(t *testing.T) {
	k := newKubernetesSchema()
	files, err := filepath.Glob(filepath.Join(repoRoot, "examples", "kubernetes", "*.yaml"))
	require.NoError(t, err)
	require.Len(t, files, 4)
	configMaps := map[string]string{}
	accounts := map[string]bool{}
	var workloads []*unstructured.Unstructured
	for _, file := range files {
		for _, u := range readObjects(t, file) {
			assert.NoError(t, k.validate(u), file)
			switch u.GetKind() {
			case "ConfigMap":
				config, _, _ := unstructured.NestedString(u.Object, "data", "collector.yaml")
				configMaps[u.GetName()] = config
			case "ServiceAccount":
				accounts[u.GetName()] = true
			case "DaemonSet", "Deployment":
				workloads = append(workloads, u)
			}
		}
	}
	for _, tier := range tiers {
		want, err := os.ReadFile(filepath.Join(repoRoot, "examples", tier, "collector.yaml"))
		require.NoError(t, err)
		assert.Equal(t, string(want), configMaps["strata-"+tier],
			"ConfigMap strata-%s must hold examples/%s/collector.yaml unchanged", tier, tier)
	}
	require.Len(t, workloads, 3) // the agent, the gateway, the sidecar's application
	for _, w := range workloads {
		spec, _, _ := unstructured.NestedMap(w.Object, "spec", "template", "spec")
		if sa, ok := spec["serviceAccountName"].(string); ok {
			assert.True(t, accounts[sa], "%s: service account %s is not defined", w.GetName(), sa)
		}
		volumes, _, _ := unstructured.NestedSlice(spec, "volumes")
		for _, v := range volumes {
			if name, ok, _ := unstructured.NestedString(v.(map[string]any), "configMap", "name"); ok {
				_, defined := configMaps[name]
				assert.True(t, defined, "%s: ConfigMap %s is not defined", w.GetName(), name)
			}
		}
		containers, _, _ := unstructured.NestedSlice(spec, "containers")
		init, _, _ := unstructured.NestedSlice(spec, "initContainers")
		for _, c := range append(containers, init...) {
			port, ok, _ := unstructured.NestedInt64(c.(map[string]any), "livenessProbe", "httpGet", "port")
			if ok {
				assert.EqualValues(t, 13133, port, "%s: the probes ask health_check", w.GetName())
			}
		}
	}
	for _, tier := range tiers {
		t.Run("validate "+tier, func(t *testing.T) { validateConfig(t, exampleConfig(t, tier)) })
	}
}

// withoutNulls is a Helm values map after Helm's merge removed the keys set to null.
func withoutNulls(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, e := range m {
		if e != nil {
			out[k] = withoutNulls(e)
		}
	}
	return out
}

// TestKubernetesHelmValues checks the values for the official opentelemetry-collector chart: the collector
// configuration is the tier's (once the nulls that remove the chart's defaults are gone) and validates, and the
// pod-level values are valid Kubernetes fields.
func TestKubernetesHelmValues(t *testing.T) {
	k := newKubernetesSchema()
	for _, tier := range []string{"agent", "gateway"} {
		t.Run(tier, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "kubernetes", "helm", tier+"-values.yaml"))
			require.NoError(t, err)
			var values map[string]any
			require.NoError(t, yaml.Unmarshal(data, &values))
			assert.Contains(t, []any{"daemonset", "deployment", "statefulset"}, values["mode"])
			assert.Equal(t, map[string]any{"name": "otelcol-strata"}, values["command"])
			config := withoutNulls(values["config"])
			assert.Equal(t, exampleConfig(t, tier), config)
			validateConfig(t, config)
			pod := podOf(jsonCompatible(t, values), map[string]string{
				"extraEnvs": "container.env", "extraVolumeMounts": "container.volumeMounts",
				"resources": "container.resources", "securityContext": "container.securityContext",
				"extraVolumes": "volumes", "podSecurityContext": "securityContext", "tolerations": "tolerations",
			})
			assert.NoError(t, k.validate(pod))
			if role, ok := values["clusterRole"].(map[string]any); ok {
				rules := role["rules"]
				assert.NoError(t, k.validate(&unstructured.Unstructured{Object: map[string]any{
					"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
					"metadata": map[string]any{"name": "rules"}, "rules": jsonCompatible(t, map[string]any{"r": rules})["r"],
				}}))
			}
		})
	}
}

// TestKubernetesOperator checks the OpenTelemetry Operator's OpenTelemetryCollector resources: the configuration
// is the tier's and validates, and the pod-level fields are valid Kubernetes fields.
func TestKubernetesOperator(t *testing.T) {
	k := newKubernetesSchema()
	for _, tier := range tiers {
		t.Run(tier, func(t *testing.T) {
			objects := readObjects(t, filepath.Join(repoRoot, "examples", "kubernetes", "operator", tier+".yaml"))
			require.Len(t, objects, 1)
			u := objects[0]
			assert.Equal(t, schema.GroupVersionKind{Group: "opentelemetry.io", Version: "v1beta1", Kind: "OpenTelemetryCollector"},
				u.GroupVersionKind())
			spec, _, _ := unstructured.NestedMap(u.Object, "spec")
			assert.Contains(t, []any{"daemonset", "deployment", "statefulset", "sidecar"}, spec["mode"])
			assert.Equal(t, jsonCompatible(t, exampleConfig(t, tier)), spec["config"])
			validateConfig(t, spec["config"])
			pod := podOf(spec, map[string]string{
				"env": "container.env", "volumeMounts": "container.volumeMounts", "resources": "container.resources",
				"securityContext": "container.securityContext", "volumes": "volumes",
				"podSecurityContext": "securityContext", "tolerations": "tolerations",
				"terminationGracePeriodSeconds": "terminationGracePeriodSeconds",
			})
			assert.NoError(t, k.validate(pod))
		})
	}
}

// jsonCompatible is v as JSON would carry it (the form Kubernetes' decoders read: int64 and float64 numbers).
func jsonCompatible(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	data, err := yaml.Marshal(v)
	require.NoError(t, err)
	out := map[string]any{}
	require.NoError(t, k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(&out))
	return out
}
