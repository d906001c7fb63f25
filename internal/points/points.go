// Package points reads metric data points the same way in every component.
package points // import "github.com/otelstrata/strata/internal/points"

import "go.opentelemetry.io/collector/pdata/pmetric"

// Value returns a number data point's value as a float64, whether it holds an int or a double.
func Value(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

// Numbers returns the number data points of a gauge or a sum, and none of any other metric.
func Numbers(m pmetric.Metric) pmetric.NumberDataPointSlice {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints()
	}
	return pmetric.NewNumberDataPointSlice()
}
