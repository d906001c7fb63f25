//go:build integration

package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelstrata/strata/internal/e2e"
)

// TestIntegrationReportInChromium opens report.html in a real headless Chromium: the DOM it renders has every
// timeline, and its screenshot is a page of the expected size with the alert shading drawn.
func TestIntegrationReportInChromium(t *testing.T) {
	chromium := e2e.RequireProgram(t, "chromium")
	out := t.TempDir()
	res := replay(t, options{config: "testdata/load.yaml", csv: []string{writeCSV(t, loadHistory())}, out: out})
	require.NoError(t, writeOutputs(out, res, summarize(res)))
	page := "file://" + filepath.Join(out, "report.html")
	run := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, append([]string{"--headless", "--no-sandbox", "--disable-gpu",
			"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "%s", stderr.String())
		return stdout.Bytes()
	}

	dom := string(run("--dump-dom", page))
	assert.Equal(t, 2, strings.Count(dom, `<div class="series">`), "a timeline for each alerting series")
	assert.Equal(t, 2, strings.Count(dom, "<svg"))
	assert.Contains(t, dom, `HighLoad{host_name="web-1",region="eu",severity="warning"}`)

	shot := filepath.Join(out, "report.png")
	run("--window-size=1040,1200", "--screenshot="+shot, page)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 1040, img.Bounds().Dx())
	assert.Equal(t, 1200, img.Bounds().Dy())
	reddish := 0 // the alerts' shading: #e53935 at a quarter over the plot's background
	for y := 0; y < img.Bounds().Dy(); y += 2 {
		for x := 0; x < img.Bounds().Dx(); x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 > 230 && g>>8 < 215 && b>>8 < 215 && r>>8-g>>8 > 25 {
				reddish++
			}
		}
	}
	assert.Positive(t, reddish, "the alert shading is drawn")
}
