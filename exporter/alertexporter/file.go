package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// file appends each notification to a file as one JSON line, in the webhook's payload.
type file struct {
	receiver, path, externalURL string
}

// notify appends the notification. A file that cannot be written is a permanent error: retrying would not make
// it writable.
func (n file) notify(_ context.Context, alerts []amAlert) error {
	data, err := json.Marshal(webhookPayloadOf(n.receiver, n.externalURL, alerts))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	if err := os.MkdirAll(filepath.Dir(n.path), 0o755); err != nil {
		return consumererror.NewPermanent(err)
	}
	f, err := os.OpenFile(n.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
