// Package metrickey identifies metric series: the resource, the scope, the metric's name and type, and the data
// point's attributes, hashed into 16 bytes (contrib's pdatautil.MapHash, which orders attributes).
package metrickey // import "github.com/otelstrata/strata/internal/metrickey"

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatautil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Key is a series identity.
type Key [16]byte

// Resource is the hash of a resource's attributes, computed once per ResourceMetrics.
func Resource(r pcommon.Resource) Key { return pdatautil.MapHash(r.Attributes()) }

// Of is the key of the series of a data point with attrs, of metric m in scope, under a resource (its Resource
// key); extra tells apart several series made from one point (a histogram's mean and quantile).
func Of(resource Key, scope pcommon.InstrumentationScope, m pmetric.Metric, attrs pcommon.Map, extra string) Key {
	id := pcommon.NewMap()
	id.PutStr("\x00scope", scope.Name()+"\x00"+scope.Version())
	id.PutStr("\x00metric", m.Name()+"\x00"+m.Type().String()+"\x00"+extra)
	id.PutStr("\x00resource", string(resource[:]))
	h := pdatautil.MapHash(id)
	a := pdatautil.MapHash(attrs)
	for i := range h {
		h[i] ^= a[i]
	}
	return h
}
