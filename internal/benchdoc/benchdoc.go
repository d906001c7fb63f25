// Package benchdoc writes a command's results into its section of BENCHMARKS.md.
package benchdoc // import "github.com/otelstrata/strata/internal/benchdoc"

import (
	"fmt"
	"os"
	"strings"
)

// Update replaces the text between the markers `<!-- name:start ... -->` and `<!-- name:end -->` of the file at
// path with body; the markers must be there.
func Update(path, name, body string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(data)
	start, end := "<!-- "+name+":start", "<!-- "+name+":end -->"
	i := strings.Index(text, start)
	j := strings.Index(text, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q section", path, start, end)
	}
	i += strings.Index(text[i:], "-->") + len("-->")
	text = text[:i] + "\n" + body + text[j:]
	return os.WriteFile(path, []byte(text), 0o644)
}
