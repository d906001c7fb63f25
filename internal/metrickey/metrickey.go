// Package metrickey identifies metric series: the resource, the scope, the metric's name and type, and the data
// point's attributes, hashed into 16 bytes (contrib's pdatautil.MapHash, which orders attributes).
package metrickey // import "github.com/otelstrata/strata/internal/metrickey"

import (
	"github.com/cespare/xxhash/v2"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatautil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Key is a series identity.
type Key [16]byte

// Resource is the hash of a resource's attributes, computed once per ResourceMetrics.
func Resource(r pcommon.Resource) Key { return pdatautil.MapHash(r.Attributes()) }

// Of returns the key of the series of a data point with attrs, of metric m in scope, under a resource (its Resource
// key); extra tells apart several series made from one point (a histogram's mean and quantile). Keys are stable
// across processes (xxhash), so that they can be saved.
func Of(resource Key, scope pcommon.InstrumentationScope, m pmetric.Metric, attrs pcommon.Map, extra string) Key {
	d := xxhash.New()
	_, _ = d.Write(resource[:])
	for _, s := range [...]string{scope.Name(), scope.Version(), m.Name(), m.Type().String(), extra} {
		_, _ = d.WriteString(s)
		_, _ = d.Write([]byte{0})
	}
	h := pdatautil.MapHash(attrs)
	x := d.Sum64()
	for i := range 8 {
		h[i] ^= byte(x >> (8 * i))
		h[8+i] ^= byte(x >> (8 * (7 - i)))
	}
	return h
}
