package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// The revocation feed: every change that records a revocation publishes
// it on the prefix's channel from inside its script. Each Store holds one
// subscription, opened by the first SubscribeRevocations, and fans the
// messages out to its local subscribers.

// SubscribeRevocations returns once Redis confirmed the subscription, so
// every revocation recorded after it returns is delivered.
func (s *Store) SubscribeRevocations(ctx context.Context) (<-chan oauth.Revocation, error) {
	if err := s.listen(ctx); err != nil {
		return nil, err
	}
	return s.feed.Subscribe(ctx)
}

// listen opens the store's subscription if it is not open yet.
func (s *Store) listen(ctx context.Context) error {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	select {
	case <-s.closed:
		return errors.New("redisstore: subscribe revocations: store closed")
	default:
	}
	if s.sub != nil {
		return nil
	}
	sub := s.rdb.Subscribe(ctx, s.channel())
	// The first reply confirms the subscription.
	msg, err := sub.Receive(ctx)
	if err != nil {
		_ = sub.Close()
		return fmt.Errorf("redisstore: subscribe revocations: %w", err)
	}
	if _, ok := msg.(*redis.Subscription); !ok {
		_ = sub.Close()
		return fmt.Errorf("redisstore: subscribe revocations: unexpected reply %T", msg)
	}
	s.sub, s.subDone = sub, make(chan struct{})
	go s.relay(sub, s.subDone)
	return nil
}

// relay passes the channel's messages to the local feed until the store
// closes. After a broken connection go-redis subscribes again on the next
// Receive; messages published in between are lost, so the feed announces a
// RevocationReset when the connection breaks and again once the
// subscription is back.
func (s *Store) relay(sub *redis.PubSub, done chan struct{}) {
	defer close(done)
	ctx := context.Background()
	broken := false
	backoff := 50 * time.Millisecond
	for {
		msg, err := sub.Receive(ctx)
		if err != nil {
			select {
			case <-s.closed:
				return
			default:
			}
			if !broken {
				// Until the subscription is back, events may be lost:
				// verifiers stop trusting their cached answers now, and
				// ask the store (which fails while Redis is away), rather
				// than accept a token revoked meanwhile by another
				// replica. A second reset follows the reconnection.
				broken = true
				s.feed.Publish(oauth.Revocation{Kind: oauth.RevocationReset, At: s.now()})
			}
			select {
			case <-s.closed:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if broken && m.Kind == "subscribe" {
				broken = false
				s.feed.Publish(oauth.Revocation{Kind: oauth.RevocationReset, At: s.now()})
			}
		case *redis.Message:
			var r oauth.Revocation
			if err := json.Unmarshal([]byte(m.Payload), &r); err != nil || r.Kind == "" {
				// Not ours, or garbled: a verifier must not trust its cache.
				s.feed.Publish(oauth.Revocation{Kind: oauth.RevocationReset, At: s.now()})
				continue
			}
			s.feed.Publish(r)
		}
	}
}
