// Package sharedcomponent shares one component between the pipelines of several signals (a receiver that emits
// logs and metrics from one reader, a connector that keeps one state across signals), as collector core's
// internal/sharedcomponent does for the OTLP receiver: created once per key, started once, shut down once.
package sharedcomponent // import "github.com/otelstrata/strata/internal/sharedcomponent"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Map holds the shared components by key (usually the component's *Config).
type Map[K comparable, V component.Component] struct {
	mu         sync.Mutex
	components map[K]*Component[V]
}

// NewMap returns an empty map.
func NewMap[K comparable, V component.Component]() *Map[K, V] {
	return &Map[K, V]{components: map[K]*Component[V]{}}
}

// LoadOrStore returns the component of key, creating it with create the first time.
func (m *Map[K, V]) LoadOrStore(key K, create func() (V, error)) (*Component[V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.components[key]; ok {
		return c, nil
	}
	v, err := create()
	if err != nil {
		return nil, err
	}
	c := &Component[V]{component: v, remove: func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.components, key)
	}}
	m.components[key] = c
	return c, nil
}

// Component is a shared component; it is itself a component.Component, returned to every pipeline.
type Component[V component.Component] struct {
	component V
	remove    func()

	startOnce, stopOnce sync.Once
	startErr, stopErr   error
}

// Unwrap returns the shared component.
func (c *Component[V]) Unwrap() V { return c.component }

// Start starts the component the first time it is called.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	c.startOnce.Do(func() { c.startErr = c.component.Start(ctx, host) })
	return c.startErr
}

// Shutdown shuts the component down the first time it is called, and forgets it, so that a new configuration
// (after a reload) creates a new one.
func (c *Component[V]) Shutdown(ctx context.Context) error {
	c.stopOnce.Do(func() {
		c.stopErr = c.component.Shutdown(ctx)
		c.remove()
	})
	return c.stopErr
}
