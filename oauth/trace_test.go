package oauth

import (
	"testing"
	"time"
)

// TestTracer: the latest event of each step per client, the first request
// a token let through (not every one), the latest refusal, and at most
// UnattributedRate unattributed events a second.
func TestTracer(t *testing.T) {
	store := NewMemoryStore(nil)
	defer store.Close()
	tr := NewTracer(store, &TracerOptions{UnattributedRate: 10, Logger: discardLogger()})
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, e := range []Event{
		{Step: StepRegister, ClientID: "c1", Time: at(0)},
		{Step: StepAuthorize, ClientID: "c1", Time: at(1), Error: ErrorInvalidRequest},
		{Step: StepAuthorize, ClientID: "c1", Time: at(2)},
		{Step: StepToken, ClientID: "c1", GrantType: "authorization_code", Time: at(3)},
		{Step: StepToken, ClientID: "c1", GrantType: "refresh_token", Time: at(4), Error: ErrorInvalidGrant},
		{Step: StepResource, ClientID: "c1", Time: at(5)},
		{Step: StepResource, ClientID: "c1", Time: at(6)},
		{Step: StepResource, ClientID: "c1", Time: at(7), Error: RefusedInsufficientScope},
		{Step: StepRegister, ClientID: "c2", Time: at(8)},
	} {
		tr.Observe(e)
	}
	for i := range 30 {
		tr.Observe(Event{Step: StepResourceMetadata, Time: t0, Resource: "r" + string(rune('a'+i))})
	}
	tr.Close()
	tr.Observe(Event{Step: StepLogin, ClientID: "c1", Time: at(9)}) // after Close: ignored
	got, err := store.TraceSteps(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"register": at(0), "authorize": at(2), "token/authorization_code": at(3), "token/refresh_token": at(4),
		"resource": at(5), "resource_refused": at(7)}
	if len(got) != len(want) {
		t.Fatalf("trace %+v", got)
	}
	for k, w := range want {
		if !got[k].Time.Equal(w) {
			t.Errorf("%s at %v, want %v", k, got[k].Time, w)
		}
	}
	if got["resource_refused"].Error != RefusedInsufficientScope || got["token/refresh_token"].Error != ErrorInvalidGrant {
		t.Errorf("outcomes %+v", got)
	}
	un, _ := store.TraceSteps(t.Context(), "")
	if len(un) != 10 {
		t.Errorf("%d unattributed events recorded, want 10 (the rate)", len(un))
	}
	if tr.Dropped() != 0 {
		t.Errorf("%d dropped", tr.Dropped())
	}
}
