package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// readCSV adds the points of a CSV file to the store. Its header names the columns: time (RFC 3339, or Unix
// seconds or milliseconds), value, metric (or __name__), and any others, each a label of the series; an empty
// label is left out. A line that cannot be read is an error naming the file and the line.
func readCSV(path string, s *seriesStore) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	in := bufio.NewReaderSize(f, 1<<16)
	if st, err := f.Stat(); err == nil {
		head, _ := in.Peek(1 << 16)
		if lines := bytes.Count(head, []byte{'\n'}); lines > 0 {
			// One allocation for the whole file, estimated from its first lines: growing by doubling would
			// hold both the old and the new array at once.
			s.reserve(int(st.Size()) / (len(head) / lines) * 21 / 20)
		}
	}
	return parseCSV(path, in, s)
}

// parseCSV adds the points of CSV text to the store; path names it in errors.
func parseCSV(path string, in io.Reader, s *seriesStore) error {
	r := csv.NewReader(in)
	r.ReuseRecord = true
	r.Comment = '#'
	first, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: no header: %w", path, err)
	}
	header := slices.Clone(first) // the reader reuses its record
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.TrimSpace(h)] = i
	}
	timeCol, okT := cols["time"]
	valueCol, okV := cols["value"]
	nameCol, okN := cols["metric"]
	if !okN {
		nameCol, okN = cols["__name__"]
	}
	if !okT || !okV || !okN {
		return fmt.Errorf("%s: the header must name a time, a value and a metric (or __name__) column, not %q", path, header)
	}
	var labelCols []int
	for i := range header {
		if i != timeCol && i != valueCol && i != nameCol {
			labelCols = append(labelCols, i)
		}
	}
	descs := map[string]seriesDesc{} // by the line's name and labels, to build each series once
	var key strings.Builder
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		t, err := parseTime(rec[timeCol])
		if err != nil {
			return fmt.Errorf("%s:%d: time: %w", path, line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[valueCol]), 64)
		if err != nil {
			return fmt.Errorf("%s:%d: value %q is not a number", path, line, rec[valueCol])
		}
		key.Reset()
		key.WriteString(rec[nameCol])
		for _, i := range labelCols {
			key.WriteByte(0)
			key.WriteString(rec[i])
		}
		d, ok := descs[key.String()]
		if !ok {
			labels := map[string]string{}
			for _, i := range labelCols {
				if rec[i] != "" {
					labels[header[i]] = rec[i]
				}
			}
			if rec[nameCol] == "" {
				return fmt.Errorf("%s:%d: no metric name", path, line)
			}
			d = newSeriesDesc(rec[nameCol], labels)
			descs[key.String()] = d
		}
		s.add(d, t, v)
	}
}

// parseTime reads RFC 3339, or a Unix time in seconds (with a fraction) or, above 1e11, in milliseconds.
func parseTime(text string) (time.Time, error) {
	text = strings.TrimSpace(text)
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		if math.IsNaN(f) || f < 0 || f > 1e15 {
			return time.Time{}, fmt.Errorf("%q is not a Unix time", text)
		}
		if f > 1e11 {
			f /= 1e3
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor a Unix time", text)
	}
	return t, nil
}
