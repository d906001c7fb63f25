package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelstrata/strata/internal/confcheck"
	"github.com/otelstrata/strata/internal/jsonpath"
	"github.com/otelstrata/strata/receiver/kpireceiver/internal/metadata"
)

// Config is the kpi receiver's configuration.
type Config struct {
	// Interval of sources that set none, and of KPI evaluation. Default 10s.
	Interval time.Duration `mapstructure:"interval"`
	// Timeout of one poll of a source that sets none. Default 5s.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxBackoff bounds the wait before retrying a failing source (the interval doubles at each failure). Default 5m.
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
	// MaxRows a query or document may return; more is an error of that query (nothing of it is used). Default 10000.
	MaxRows int `mapstructure:"max_rows"`
	// MaxSeries bounds the attribute sets of the running totals of each value of an incremental query; rows of
	// further sets are dropped and counted. Default 10000.
	MaxSeries int `mapstructure:"max_series"`
	// Storage is a storage extension that keeps the positions of incremental queries across restarts.
	Storage *component.ID `mapstructure:"storage"`
	// Sources of values.
	Sources []SourceConfig `mapstructure:"sources"`
	// KPIs derived from the values.
	KPIs []KPIConfig `mapstructure:"kpis"`

	metadata.MetricsBuilderConfig `mapstructure:",squash"`
}

// SourceConfig is a database or an HTTP endpoint.
type SourceConfig struct {
	// Name of the source, unique.
	Name string `mapstructure:"name"`
	// Interval and Timeout override the receiver's.
	Interval time.Duration `mapstructure:"interval"`
	Timeout  time.Duration `mapstructure:"timeout"`
	// SQL is set for a database source.
	SQL *SQLConfig `mapstructure:"sql"`
	// HTTP is set for an HTTP JSON source.
	HTTP *HTTPSourceConfig `mapstructure:"http"`
}

// SQLConfig is a database source.
type SQLConfig struct {
	// Driver is sqlite, postgres or mysql.
	Driver string `mapstructure:"driver"`
	// DSN of the database (a secret: never logged).
	DSN configopaque.String `mapstructure:"dsn"`
	// Connection pool bounds.
	MaxOpenConnections    int           `mapstructure:"max_open_connections"`
	MaxIdleConnections    int           `mapstructure:"max_idle_connections"`
	ConnectionMaxLifetime time.Duration `mapstructure:"connection_max_lifetime"`
	// Queries run at each poll, in one read-only transaction.
	Queries []QueryConfig `mapstructure:"queries"`
}

// QueryConfig is one query and what its rows mean.
type QueryConfig struct {
	// Name of the query, unique within the source.
	Name string `mapstructure:"name"`
	// SQL is the query: one SELECT (or WITH ... SELECT) statement.
	SQL string `mapstructure:"sql"`
	// TrackingColumn makes the query incremental: the query says $last where the largest value of this column
	// seen so far goes (WHERE id > $last), so each poll reads only new rows.
	TrackingColumn string `mapstructure:"tracking_column"`
	// TrackingStart is $last before any row was seen. Default 0.
	TrackingStart string `mapstructure:"tracking_start"`
	// Values are the columns that become metrics (and variables of KPI expressions).
	Values []ValueConfig `mapstructure:"values"`
	// Attributes are the columns that become attributes of every value of a row.
	Attributes []string `mapstructure:"attributes"`
	// StaticAttributes are added to every value of the query.
	StaticAttributes map[string]string `mapstructure:"static_attributes"`
}

// HTTPSourceConfig is a JSON endpoint.
type HTTPSourceConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`
	// Method of the request. Default GET.
	Method string `mapstructure:"method"`
	// ValidStatusCodes the response may have. Default 200.
	ValidStatusCodes []int `mapstructure:"valid_status_codes"`
	// MaxBodySize is how much of the response is read; a longer body is an error. Default 4 MiB.
	MaxBodySize int64 `mapstructure:"max_body_size"`
	// Values are the fields that become metrics: `field` is a dot-separated path in the document.
	Values []ValueConfig `mapstructure:"values"`
	// Rows, when set, is the path of an array whose elements are the rows: then value fields and attributes are
	// paths within each element.
	Rows string `mapstructure:"rows"`
	// Attributes are the fields of a row that become attributes.
	Attributes []string `mapstructure:"attributes"`
	// StaticAttributes are added to every value of the source.
	StaticAttributes map[string]string `mapstructure:"static_attributes"`
}

// ValueConfig maps a column (SQL) or field (HTTP) to a metric, and names it for KPI expressions.
type ValueConfig struct {
	// Column (SQL) or field path (HTTP) holding the value.
	Column string `mapstructure:"column"`
	Field  string `mapstructure:"field"`
	// ID is the variable KPI expressions use. Default: the metric name with dots as underscores.
	ID string `mapstructure:"id"`
	// Metric is the metric's name; empty: the value is only a variable, not emitted.
	Metric string `mapstructure:"metric"`
	// Description and Unit (UCUM) of the metric.
	Description string `mapstructure:"description"`
	Unit        string `mapstructure:"unit"`
	// Type is gauge, sum or histogram. Default gauge (sum in an incremental query).
	Type string `mapstructure:"type"`
	// Monotonic, for sums: the value only grows (a total). Sums are cumulative.
	Monotonic bool `mapstructure:"monotonic"`
	// ValueType is int or double. Default double.
	ValueType string `mapstructure:"value_type"`
	// Expr, for HTTP values instead of field: an expression (expr-lang) over the row's fields, such as
	// `len(items)` or `sum(items, .amount)`.
	Expr string `mapstructure:"expr"`
	// Buckets, for histograms: the explicit upper bounds. A histogram observes the value of each row of a poll
	// (delta temporality: each poll's rows).
	Buckets []float64 `mapstructure:"buckets"`
	// BucketBound, for histograms from bucket rows: the column (field) holding each row's upper bound, one of
	// buckets or +Inf (or NULL); the value is then that bucket's count.
	BucketBound string `mapstructure:"bucket_bound"`
}

// Unmarshal fills the defaults of a database source before the configuration's keys.
func (q *SQLConfig) Unmarshal(conf *confmap.Conf) error {
	*q = SQLConfig{Driver: "sqlite", MaxOpenConnections: 2, MaxIdleConnections: 2, ConnectionMaxLifetime: 30 * time.Minute}
	return conf.Unmarshal(q)
}

// Unmarshal fills the defaults of an HTTP source (the collector's HTTP client defaults among them).
func (h *HTTPSourceConfig) Unmarshal(conf *confmap.Conf) error {
	*h = HTTPSourceConfig{
		ClientConfig:     confighttp.NewDefaultClientConfig(),
		Method:           "GET",
		ValidStatusCodes: []int{200},
		MaxBodySize:      4 << 20,
	}
	return conf.Unmarshal(h)
}

// KPIConfig is a KPI: an expression over values.
type KPIConfig struct {
	// Name of the KPI (strata.kpi.name), unique.
	Name string `mapstructure:"name"`
	// Metric is the metric's name. Default: the name.
	Metric string `mapstructure:"metric"`
	// Expr is the expression (expr-lang syntax) over value IDs, with the window functions rate(x[, n]) (per
	// minute, from a growing total, over the last n readings; default 1), delta(x[, n]) and avg(x, n).
	Expr        string `mapstructure:"expr"`
	Description string `mapstructure:"description"`
	Unit        string `mapstructure:"unit"`
	// Owner is who answers for the KPI (an attribute of its points).
	Owner string `mapstructure:"owner"`
	// Ratio says the KPI is a fraction of good events (0..1), for the error-budget burn rate.
	Ratio bool `mapstructure:"ratio"`
	// Of names the KPI, a rate, that a ratio is a share of (orders, for a success ratio of orders): its metric is
	// the strata.kpi.of attribute of the ratio's points, so that an incident counts what the ratio lost in orders.
	Of string `mapstructure:"of"`
	// Target, when set, makes the receiver emit whether the KPI meets it (and, for ratios, the burn rate).
	Target *TargetConfig `mapstructure:"target"`
}

// TargetConfig is a KPI's objective.
type TargetConfig struct {
	// Value the KPI should reach.
	Value float64 `mapstructure:"value"`
	// Direction is at_least (default) or at_most.
	Direction string `mapstructure:"direction"`
}

var (
	_ component.Config   = (*Config)(nil)
	_ xconfmap.Validator = (*Config)(nil)
)

var (
	drivers    = []string{"sqlite", "postgres", "mysql"}
	valueTypes = []string{typeGauge, typeSum, typeHistogram}
	identRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	metricRe   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.\-/]*$`)
)

// Validate reports every problem at once, naming the source, query, value or KPI.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := confcheck.Duration("interval", cfg.Interval, confcheck.MinInterval, 0); err != nil {
		errs = append(errs, err)
	}
	if cfg.Timeout <= 0 || cfg.Timeout >= cfg.Interval && cfg.Interval > 0 {
		add("timeout: must be positive and shorter than the interval")
	}
	if cfg.MaxBackoff < cfg.Interval {
		add("max_backoff: must be at least the interval")
	}
	if cfg.MaxRows < 1 {
		add("max_rows: must be positive")
	}
	if cfg.MaxSeries < 1 {
		add("max_series: must be positive")
	}
	if len(cfg.Sources) == 0 {
		add("sources: must contain at least one source")
	}
	ids := map[string]string{} // value ID -> where it is defined
	sourceNames := map[string]bool{}
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		where := fmt.Sprintf("sources[%d] (%s)", i, s.Name)
		if s.Name == "" {
			add("sources[%d]: name: must be set", i)
		} else if sourceNames[s.Name] {
			add("%s: name: used by another source", where)
		}
		sourceNames[s.Name] = true
		if s.Interval < 0 || s.Timeout < 0 {
			add("%s: interval, timeout: must not be negative", where)
		}
		if s.Interval > 0 && s.Interval < confcheck.MinInterval {
			add("%s: interval: must be at least %s, not %s", where, confcheck.MinInterval, s.Interval)
		}
		if iv, to := s.interval(cfg), s.timeout(cfg); to >= iv {
			add("%s: timeout: %s must be shorter than the interval %s", where, to, iv)
		}
		switch {
		case (s.SQL == nil) == (s.HTTP == nil):
			add("%s: must have exactly one of sql, http", where)
		case s.SQL != nil:
			errs = append(errs, s.SQL.validate(where, ids)...)
		default:
			errs = append(errs, s.HTTP.validate(where, ids)...)
		}
	}
	kpiNames := map[string]bool{}
	kpiUnits := map[string]string{}
	for _, k := range cfg.KPIs {
		kpiUnits[k.Name] = k.Unit
	}
	for i := range cfg.KPIs {
		k := &cfg.KPIs[i]
		where := fmt.Sprintf("kpis[%d] (%s)", i, k.Name)
		if k.Name == "" {
			add("kpis[%d]: name: must be set", i)
		} else if kpiNames[k.Name] {
			add("%s: name: used by another KPI", where)
		}
		kpiNames[k.Name] = true
		if m := k.metricName(); !metricRe.MatchString(m) {
			add("%s: metric: %q is not a metric name", where, m)
		}
		if _, err := compileKPI(k, ids); err != nil {
			add("%s: expr: %w", where, err)
		}
		if k.Of != "" {
			unit, known := kpiUnits[k.Of]
			switch {
			case !k.Ratio:
				add("%s: of: only a ratio (ratio: true) is a share of a rate", where)
			case !known || k.Of == k.Name:
				add("%s: of: %q is not another KPI of this receiver", where, k.Of)
			case !isRate(unit):
				add("%s: of: KPI %q has unit %q, not a rate (a unit per s, min, h or d)", where, k.Of, unit)
			}
		}
		if k.Target != nil && k.Target.Direction != "" && k.Target.Direction != "at_least" && k.Target.Direction != "at_most" {
			add("%s: target: direction: %q is not at_least or at_most", where, k.Target.Direction)
		}
		switch {
		case k.Target != nil && (math.IsNaN(k.Target.Value) || math.IsInf(k.Target.Value, 0)):
			add("%s: target: value: must be a finite number, not %v", where, k.Target.Value)
		case k.Ratio && k.Target != nil && (k.Target.Value <= 0 || k.Target.Value >= 1):
			add("%s: target: value: a ratio's target must be between 0 and 1, not %v", where, k.Target.Value)
		}
	}
	return errors.Join(errs...)
}

// isRate reports whether a unit counts per unit of time ("{order}/min").
func isRate(unit string) bool {
	for _, suffix := range []string{"/s", "/min", "/h", "/d"} {
		if strings.HasSuffix(unit, suffix) {
			return true
		}
	}
	return false
}

func (s *SourceConfig) interval(cfg *Config) time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return cfg.Interval
}

func (s *SourceConfig) timeout(cfg *Config) time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return cfg.Timeout
}

func (q *SQLConfig) validate(where string, ids map[string]string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !slices.Contains(drivers, q.Driver) {
		add("%s: sql: driver: %q is not one of %s", where, q.Driver, strings.Join(drivers, ", "))
	}
	if q.DSN == "" {
		add("%s: sql: dsn: must be set", where)
	} else if err := checkDSN(q.Driver, string(q.DSN)); err != nil {
		add("%s: sql: dsn: %w", where, err)
	}
	if q.MaxOpenConnections < 1 || q.MaxIdleConnections < 0 || q.MaxIdleConnections > q.MaxOpenConnections {
		add("%s: sql: max_open_connections must be positive and max_idle_connections between 0 and it", where)
	}
	if len(q.Queries) == 0 {
		add("%s: sql: queries: must contain at least one query", where)
	}
	names := map[string]bool{}
	for j := range q.Queries {
		qc := &q.Queries[j]
		qwhere := fmt.Sprintf("%s: queries[%d] (%s)", where, j, qc.Name)
		if qc.Name == "" || names[qc.Name] {
			add("%s: name: must be set and unique within the source", qwhere)
		}
		names[qc.Name] = true
		if err := checkReadOnly(qc.SQL); err != nil {
			add("%s: sql: %w", qwhere, err)
		}
		hasLast := strings.Contains(qc.SQL, "$last")
		if qc.TrackingColumn != "" && !hasLast {
			add("%s: sql: an incremental query (tracking_column) must say $last where the position goes", qwhere)
		}
		if qc.TrackingColumn == "" && hasLast {
			add("%s: sql: $last needs tracking_column", qwhere)
		}
		errs = append(errs, validateValues(qwhere, qc.Values, true, qc.TrackingColumn != "", ids)...)
		for k := range qc.Values {
			if qc.TrackingColumn != "" && qc.Values[k].Type == typeGauge {
				add("%s: values[%d]: type: the values of an incremental query add up over its new rows: sum or histogram, not gauge", qwhere, k)
			}
		}
	}
	return errs
}

func (h *HTTPSourceConfig) validate(where string, ids map[string]string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if h.Endpoint == "" {
		add("%s: http: endpoint: must be set", where)
	}
	if err := h.ClientConfig.Validate(); err != nil {
		add("%s: http: %w", where, err)
	}
	for _, code := range h.ValidStatusCodes {
		if code < 100 || code > 599 {
			add("%s: http: valid_status_codes: %d is not an HTTP status code", where, code)
		}
	}
	if h.MaxBodySize <= 0 {
		add("%s: http: max_body_size: must be positive", where)
	}
	for _, p := range append([]string{h.Rows}, h.Attributes...) {
		if p != "" && !jsonpath.Valid(p) {
			add("%s: http: %q is not a dot-separated path", where, p)
		}
	}
	errs = append(errs, validateValues(where+": http", h.Values, false, false, ids)...)
	return errs
}

func validateValues(where string, values []ValueConfig, sql, incremental bool, ids map[string]string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(values) == 0 {
		add("%s: values: must map at least one value", where)
	}
	for k := range values {
		v := &values[k]
		vwhere := fmt.Sprintf("%s: values[%d]", where, k)
		switch {
		case sql && v.Column == "":
			add("%s: column: must be set", vwhere)
		case sql && v.Expr != "":
			add("%s: expr: only for HTTP values (compute in the query instead)", vwhere)
		case !sql && (v.Field == "") == (v.Expr == ""):
			add("%s: must have exactly one of field, expr", vwhere)
		case !sql && v.Field != "" && !jsonpath.Valid(v.Field):
			add("%s: field: %q is not a dot-separated path", vwhere, v.Field)
		case v.Expr != "":
			if _, err := compileValueExpr(v.Expr); err != nil {
				add("%s: expr: %w", vwhere, err)
			}
		}
		if v.Metric != "" && !metricRe.MatchString(v.Metric) {
			add("%s: metric: %q is not a metric name", vwhere, v.Metric)
		}
		id := v.id()
		switch {
		case id == "":
			add("%s: id: must be set when metric is not", vwhere)
		case !identRe.MatchString(id):
			add("%s: id: %q is not an identifier (letters, digits, _)", vwhere, id)
		case reservedIDs[id]:
			add("%s: id: %q is a name of the expression language", vwhere, id)
		case ids[id] != "":
			add("%s: id: %q is already used by %s", vwhere, id, ids[id])
		default:
			ids[id] = vwhere
		}
		if v.Type != "" && !slices.Contains(valueTypes, v.Type) {
			add("%s: type: %q is not one of %s", vwhere, v.Type, strings.Join(valueTypes, ", "))
		}
		if v.ValueType != "" && v.ValueType != "int" && v.ValueType != "double" {
			add("%s: value_type: %q is not int or double", vwhere, v.ValueType)
		}
		kind := v.kind(incremental)
		if kind == typeHistogram && (len(v.Buckets) == 0 || !slices.IsSorted(v.Buckets)) {
			add("%s: buckets: a histogram needs increasing bucket bounds", vwhere)
		}
		if kind == typeHistogram && v.Metric == "" {
			add("%s: metric: a histogram must be emitted", vwhere)
		}
		if v.BucketBound != "" && kind != typeHistogram {
			add("%s: bucket_bound: only for histograms", vwhere)
		}
		if v.Monotonic && kind != typeSum {
			add("%s: monotonic: only for sums", vwhere)
		}
	}
	return errs
}

// kind returns the value's type: as configured, or gauge (sum in an incremental query, whose rows add up).
func (v *ValueConfig) kind(incremental bool) string {
	switch {
	case v.Type != "":
		return v.Type
	case incremental:
		return typeSum
	}
	return typeGauge
}

// id returns the variable name of a value in KPI expressions.
func (v *ValueConfig) id() string {
	if v.ID != "" {
		return v.ID
	}
	return strings.NewReplacer(".", "_", "-", "_", "/", "_").Replace(v.Metric)
}

func (k *KPIConfig) metricName() string {
	if k.Metric != "" {
		return k.Metric
	}
	return k.Name
}

// reservedIDs are names value IDs may not take: the expression language's functions and the receiver's own.
var reservedIDs = map[string]bool{
	"rate": true, "delta": true, "avg": true, "interval_seconds": true, "min": true, "max": true, "abs": true,
	"ceil": true, "floor": true, "round": true, "len": true, "true": true, "false": true, "nil": true, "in": true,
	"and": true, "or": true, "not": true, "matches": true, "contains": true, "startsWith": true, "endsWith": true,
}

var (
	leadingComments = regexp.MustCompile(`^(\s+|--[^\n]*\n|/\*(?s:.*?)\*/)*`)
	stringLiterals  = regexp.MustCompile(`'(?:[^']|'')*'`)
)

// checkDSN returns an error when the driver cannot parse dsn; the error never shows the DSN (a secret).
func checkDSN(driver, dsn string) error {
	var err error
	switch driver {
	case "postgres":
		_, err = pgconn.ParseConfig(dsn)
		for inner := errors.Unwrap(err); inner != nil; inner = errors.Unwrap(inner) {
			err = inner // pgconn's outer error quotes the connection string
		}
	case "mysql":
		_, err = mysql.ParseDSN(dsn)
	}
	if err != nil {
		return fmt.Errorf("the %s driver cannot read it: %v", driver, err)
	}
	return nil
}

// checkReadOnly rejects what is certainly not one read-only query: another statement after a semicolon, or a
// statement that does not start with SELECT or WITH. Queries also run in a read-only transaction where the driver
// has one; this check catches mistakes before start.
func checkReadOnly(query string) error {
	q := leadingComments.ReplaceAllString(query, "")
	words := strings.Fields(q)
	if len(words) == 0 {
		return errors.New("must be set")
	}
	head := strings.ToUpper(words[0])
	if head != "SELECT" && head != "WITH" {
		return fmt.Errorf("must be a query (SELECT or WITH ...), not %s", head)
	}
	if i := strings.Index(stringLiterals.ReplaceAllString(q, "''"), ";"); i >= 0 && strings.TrimSpace(stringLiterals.ReplaceAllString(q, "''")[i+1:]) != "" {
		return errors.New("must be one statement: nothing may follow a semicolon")
	}
	return nil
}
