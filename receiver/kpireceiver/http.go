package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/expr-lang/expr"

	"github.com/otelstrata/strata/internal/jsonpath"
)

// httpSource polls a JSON endpoint: the document (or each element of its rows array) is a row.
type httpSource struct {
	name    string
	cfg     *HTTPSourceConfig
	client  *http.Client
	defs    []*valueDef
	maxRows int
}

func newHTTPSource(name string, cfg *HTTPSourceConfig, client *http.Client, maxRows int) (*httpSource, error) {
	defs, err := newValueDefs(cfg.Values, false)
	if err != nil {
		return nil, err
	}
	return &httpSource{name: name, cfg: cfg, client: client, defs: defs, maxRows: maxRows}, nil
}

func (s *httpSource) fetch(ctx context.Context) []fetchResult {
	r, err := s.get(ctx)
	return []fetchResult{{reading: r, err: err, static: s.cfg.StaticAttributes}}
}

func (s *httpSource) get(ctx context.Context) (*reading, error) {
	req, err := http.NewRequestWithContext(ctx, s.cfg.Method, s.cfg.Endpoint, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, failf(reasonHTTPError, "%w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBodySize+1))
	if err != nil {
		return nil, failf(reasonHTTPError, "reading the response: %w", err)
	}
	if !slices.Contains(s.cfg.ValidStatusCodes, resp.StatusCode) {
		return nil, failf(reasonHTTPStatus, "status %d is not one of %v: %s", resp.StatusCode, s.cfg.ValidStatusCodes, excerpt(body))
	}
	if int64(len(body)) > s.cfg.MaxBodySize {
		return nil, failf(reasonTooLarge, "the response is longer than max_body_size (%d bytes)", s.cfg.MaxBodySize)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, failf(reasonInvalidJSON, "the response is not JSON: %v: %s", err, excerpt(body))
	}
	if dec.More() {
		return nil, failf(reasonInvalidJSON, "the response holds more than one JSON value")
	}
	rows := []any{doc}
	if s.cfg.Rows != "" {
		v, ok := jsonpath.Lookup(doc, s.cfg.Rows)
		if !ok {
			return nil, failf(reasonMissing, "the response has no %s", s.cfg.Rows)
		}
		if rows, ok = v.([]any); !ok {
			return nil, failf(reasonMissing, "%s is not an array but %s", s.cfg.Rows, excerpt([]byte(jsonpath.Text(v))))
		}
		if len(rows) > s.maxRows {
			return nil, failf(reasonTooManyRows, "%s has %d rows, more than max_rows (%d)", s.cfg.Rows, len(rows), s.maxRows)
		}
	}
	r := newReading(s.defs)
	var attrs attrSet
	for i, row := range rows {
		where := ""
		if s.cfg.Rows != "" {
			where = fmt.Sprintf("%s.%d: ", s.cfg.Rows, i)
		}
		attrs.reset()
		for _, a := range s.cfg.Attributes {
			v, ok := jsonpath.Lookup(row, a)
			if !ok {
				return nil, failf(reasonMissing, "%shas no field %s", where, a)
			}
			attrs.add(a, jsonpath.Text(v))
		}
		err := r.add(&attrs, func(name string) (any, error) { return s.field(row, name) })
		if err != nil {
			var pe *pollError
			if errors.As(err, &pe) {
				return nil, failf(pe.reason, "%s%w", where, pe.err)
			}
			return nil, failf(reasonNotANumber, "%s%w", where, err)
		}
	}
	return r, nil
}

// field returns a row's value of a value definition's field or expression (by the field's name, for the definition
// whose source it is), or the bound of a bucket row.
func (s *httpSource) field(row any, name string) (any, error) {
	for _, d := range s.defs {
		if d.prog != nil && d.cfg.Expr == name {
			out, err := expr.Run(d.prog, row)
			if err != nil {
				return nil, failf(reasonExpression, "expression %s: %w", name, err)
			}
			if out == nil {
				return nil, failf(reasonNull, "expression %s gives nil", name)
			}
			return out, nil
		}
	}
	v, ok := jsonpath.Lookup(row, name)
	switch {
	case !ok:
		return nil, failf(reasonMissing, "has no field %s", name)
	case v == nil:
		return nil, failf(reasonNull, "field %s is null", name)
	}
	return v, nil
}

// excerpt returns the start of a body, for error messages.
func excerpt(body []byte) string {
	const max = 200
	if len(body) > max {
		return string(body[:max]) + "..."
	}
	return string(body)
}

func (s *httpSource) close(context.Context) error {
	s.client.CloseIdleConnections()
	return nil
}
