package metadata

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// WithAttributesMetricAttribute adds attrs (a KPI's attributes) to the data point. It is not generated: mdatagen has
// no option for attributes that only the user's configuration names.
func WithAttributesMetricAttribute(attrs pcommon.Map) MetricAttributeOption {
	return metricAttributeOptionFunc(func(dp pmetric.NumberDataPoint) {
		dst := dp.Attributes()
		for k, v := range attrs.All() {
			v.CopyTo(dst.PutEmpty(k))
		}
	})
}
