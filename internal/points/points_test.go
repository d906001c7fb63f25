package points

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestValue(t *testing.T) {
	dp := pmetric.NewNumberDataPoint()
	dp.SetIntValue(-7)
	assert.Equal(t, -7.0, Value(dp))
	dp.SetDoubleValue(2.5)
	assert.Equal(t, 2.5, Value(dp))
	assert.Equal(t, 0.0, Value(pmetric.NewNumberDataPoint()), "a point without a value")
}

func TestNumbers(t *testing.T) {
	m := pmetric.NewMetric()
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
	assert.Equal(t, 1, Numbers(m).Len())
	m.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(2)
	assert.Equal(t, 2.0, Value(Numbers(m).At(0)))
	m.SetEmptyHistogram().DataPoints().AppendEmpty()
	assert.Zero(t, Numbers(m).Len(), "a histogram has no number points")
}
