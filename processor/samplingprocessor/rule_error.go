package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

// errorRule matches a trace with a span whose status is an error (or an HTTP server error: isError).
type errorRule struct{}

func (errorRule) matches(t *trace) bool { return t.hasError }
