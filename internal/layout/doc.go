// Package layout has no code of its own: its tests check that the repository keeps the layout of DESIGN.md §3 and
// docs/architecture.md. Every component has the same files in the same places, its internal/metadata holds
// generated files only, no component imports another, and internal/ imports no component.
package layout // import "github.com/otelstrata/strata/internal/layout"
