package correlationconnector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// FuzzTopologyFile: no content of a topology file crashes its reading; what is read has no dependency on itself and
// no entity without a name.
func FuzzTopologyFile(f *testing.F) {
	for _, seed := range []string{
		"frontend: [checkout]\ncheckout: [payments, \"host:db-1\", \"endpoint:10.0.0.7:5432\"]\n",
		"a: [a]\n", "host:: [x]\n", "[1, 2]\n", "a: {b: c}\n", "a: [\n", "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		deps, err := parseTopology(data)
		if err != nil {
			return
		}
		for _, d := range deps {
			assert.NotEqual(t, d[0], d[1])
			assert.NotEmpty(t, d[0].Name)
			assert.NotEmpty(t, d[1].Name)
		}
	})
}
