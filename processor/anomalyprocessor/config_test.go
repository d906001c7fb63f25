package anomalyprocessor

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"

	"github.com/otelstrata/strata/internal/conftest"
)

func TestLoadConfig(t *testing.T) {
	assert.Equal(t, createDefaultConfig(), conftest.Named(t, "anomaly", createDefaultConfig()))
	storage := component.MustNewID("file_storage")
	assert.Equal(t, &Config{
		Include:           []string{"system.*", "http.server.request.duration"},
		Exclude:           []string{"system.network.*"},
		Conditions:        []string{`resource.attributes["service.name"] == "checkout"`},
		Quantile:          0.99,
		Emit:              "anomalous",
		Threshold:         0.999,
		AlarmBudget:       0.05,
		AlarmAfter:        6 * time.Hour,
		MaxSeries:         500,
		MaxClockSkew:      time.Minute,
		KeepForeignScores: true,
		Storage:           &storage,
		SaveInterval:      time.Minute,
		WarmUp:            100,
		Risk:              0.001,
		Holdoff:           10,
		RangeMargin:       0.5,
	}, conftest.Named(t, "anomaly/full", createDefaultConfig()))
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Include = []string{"["} }, `"[" is not a pattern`},
		{func(c *Config) { c.Conditions = []string{"attributes[ =="} }, "conditions:"},
		{func(c *Config) { c.Quantile = 1 }, "quantile: 1 is not in (0, 1)"},
		{func(c *Config) { c.Emit = "some" }, `emit: "some" is not all or anomalous`},
		{func(c *Config) { c.Threshold = 0 }, "threshold: 0 is not in (0, 1)"},
		{func(c *Config) { c.Threshold = math.NaN() }, "threshold: NaN is not in (0, 1)"},
		{func(c *Config) { c.Quantile = math.NaN() }, "quantile: NaN is not in (0, 1)"},
		{func(c *Config) { c.Risk = math.NaN() }, "risk in (0, 0.5)"},
		{func(c *Config) { c.AlarmBudget = 0 }, "alarm_budget: 0 is not in (0, 1000]"},
		{func(c *Config) { c.AlarmBudget = math.Inf(1) }, "alarm_budget: +Inf is not in (0, 1000]"},
		{func(c *Config) { c.AlarmAfter = -time.Hour }, "alarm_after: -1h0m0s is negative"},
		{func(c *Config) { c.MaxClockSkew = 0 }, "max_clock_skew: must be positive"},
		{func(c *Config) { c.MaxSeries = 0 }, "max_series: must be positive"},
		{func(c *Config) { c.Risk = 0.7 }, "risk in (0, 0.5)"},
		{func(c *Config) { c.RangeMargin = -0.1 }, "range_margin: -0.1 is not 0 or more"},
		{func(c *Config) { id := component.MustNewID("file_storage"); c.Storage = &id; c.SaveInterval = 0 }, "save_interval: must be positive"},
	} {
		cfg := createDefaultConfig().(*Config)
		tc.edit(cfg)
		assert.ErrorContains(t, cfg.Validate(), tc.want)
	}
	assert.NoError(t, createDefaultConfig().(*Config).Validate())
}
