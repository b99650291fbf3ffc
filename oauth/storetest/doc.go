// Package storetest is the contract test suite of oauth.Store: every store
// implementation runs it, so they all behave alike, down to atomicity under
// concurrency, expiry, refresh-token rotation and the revocation feed.
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) oauth.Store {
//			s := mystore.New(&mystore.Options{Now: now})
//			t.Cleanup(func() { s.Close() })
//			return s
//		}, nil)
//	}
//
// The suite drives time with a Clock, so a store under test must take its
// clock from the factory's now for every expiry and window decision.
//
// A store that makes the contracts' decisions with oauth's store kit
// (oauth.RotateStep, oauth.PollDeviceStep, ... see oauth.Store) only has
// its loading, saving and atomicity to get right.
package storetest
