package wrapper

import (
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/goimmich/goimmich/api/apispec"
)

// operations (request_ops.gen.go, made by go generate) lists exactly the
// operations of the pinned spec, and each is found by a request to a
// concrete path.
func TestOperationsMatchSpec(t *testing.T) {
	spec, err := apispec.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	var want []operationInfo
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			want = append(want, operationInfo{method: method, path: path, id: op.OperationID, binary: answersBinary(op)})
		}
	}
	key := func(o operationInfo) string { return o.path + " " + o.method }
	slices.SortFunc(want, func(a, b operationInfo) int { return strings.Compare(key(a), key(b)) })
	if !slices.Equal(operations, want) {
		t.Fatalf("request_ops.gen.go differs from the pinned spec (%d operations, %d in the spec): run go generate ./...", len(operations), len(want))
	}
	for _, o := range want {
		concrete := strings.NewReplacer("{", "x", "}", "").Replace(o.path)
		if got := lookupOperation(o.method, concrete); got == nil || got.id != o.id {
			t.Errorf("%s %s: found %+v, want %s", o.method, concrete, got, o.id)
		}
	}
}

// answersBinary reports whether op declares a 2xx answer with content that
// is not JSON.
func answersBinary(op *openapi3.Operation) bool {
	for code, r := range op.Responses.Map() {
		if !strings.HasPrefix(code, "2") || r.Value == nil {
			continue
		}
		for ct := range r.Value.Content {
			if !isJSONType(ct) {
				return true
			}
		}
	}
	return false
}
