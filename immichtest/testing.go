package immichtest

import "testing"

// NewTestServer starts a server for the test t and closes it when t ends.
// At the end it fails t if the fake ever answered something the spec
// rejects (a bug of the fake, never of the client under test); request
// validation failures are left to the test to check with
// ValidationFailures, since tests may send bad requests on purpose.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		for _, f := range s.ValidationFailures() {
			if f.Response {
				t.Errorf("immichtest: response of the fake violates the spec: %s %s (%s): %s", f.Method, f.Path, f.OperationID, f.Err)
			}
		}
	})
	return s
}
