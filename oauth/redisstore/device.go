package redisstore

import (
	"context"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func (s *Store) PutDevice(ctx context.Context, deviceHash, userCode string, d *oauth.DeviceAuthorization) error {
	const op = "put device"
	if deviceHash == "" || userCode == "" || d == nil {
		return errEmpty(op)
	}
	if d.ExpiresAt.IsZero() {
		return errNoExpiry(op, deviceHash)
	}
	// The store-set fields (status, last poll, user, upstream credential)
	// live in fields of their own.
	data, err := encodeJSON(op, deviceHash, oauth.PutDeviceStep(d))
	if err != nil {
		return err
	}
	now := s.now()
	return s.runStatus(ctx, putDeviceScript, op, deviceHash,
		[]string{s.devicePrefix() + deviceHash, s.userCodePrefix() + userCode},
		ms(now), data, ms(d.ExpiresAt), ttl(d.ExpiresAt.Add(oauth.UsedCodeRetention), now),
		oauth.UsedCodeRetention.Milliseconds(), d.Interval.Milliseconds(), deviceHash, s.devicePrefix())
}

// device builds a DeviceAuthorization from a script's answer: status, d,
// x, st, iv, lp, u, at, up.
func device(op, key string, vals []any) (*oauth.DeviceAuthorization, error) {
	var d oauth.DeviceAuthorization
	if err := decodeJSON(op, key, field(vals, 1), &d); err != nil {
		return nil, err
	}
	d.Status = oauth.DeviceStatus(field(vals, 3))
	d.Interval = time.Duration(fieldInt(vals, 4)) * time.Millisecond
	d.LastPoll = fromMS(fieldInt(vals, 5))
	if u := field(vals, 6); u != "" {
		d.User = &oauth.Identity{}
		if err := decodeJSON(op, key, u, d.User); err != nil {
			return nil, err
		}
	}
	if at := field(vals, 7); at != "" {
		if err := d.AuthTime.UnmarshalText([]byte(at)); err != nil {
			return nil, wrap(op, key, err)
		}
	}
	if up := field(vals, 8); up != "" {
		d.Upstream = []byte(up)
	}
	return &d, nil
}

func (s *Store) GetDevice(ctx context.Context, userCode string) (*oauth.DeviceAuthorization, error) {
	const op = "get device"
	vals, err := getDeviceScript.Run(ctx, s.rdb, []string{s.userCodePrefix() + userCode}, ms(s.now()), s.devicePrefix()).Slice()
	if err != nil {
		return nil, wrap(op, "user code", err)
	}
	if st := field(vals, 0); st != "ok" {
		return nil, scriptStatus(op, "user code", st)
	}
	return device(op, "user code", vals)
}

func (s *Store) ApproveDevice(ctx context.Context, userCode string, u oauth.Identity, authTime time.Time, upstream []byte) error {
	const op = "approve device"
	user, err := encodeJSON(op, "user code", u)
	if err != nil {
		return err
	}
	at, err := authTime.MarshalText()
	if err != nil {
		return wrap(op, "user code", err)
	}
	return s.runStatus(ctx, decideDeviceScript, op, "user code", []string{s.userCodePrefix() + userCode},
		ms(s.now()), s.devicePrefix(), string(oauth.DeviceApproved), user, at, upstream)
}

func (s *Store) DenyDevice(ctx context.Context, userCode string) error {
	return s.runStatus(ctx, decideDeviceScript, "deny device", "user code", []string{s.userCodePrefix() + userCode},
		ms(s.now()), s.devicePrefix(), string(oauth.DeviceDenied), "", "", "")
}

func (s *Store) PollDevice(ctx context.Context, deviceHash string) (*oauth.DevicePoll, error) {
	const op = "poll device"
	vals, err := pollDeviceScript.Run(ctx, s.rdb, []string{s.devicePrefix() + deviceHash},
		ms(s.now()), oauth.UsedCodeRetention.Milliseconds(), oauth.SlowDownStep.Milliseconds()).Slice()
	if err != nil {
		return nil, wrap(op, deviceHash, err)
	}
	status := oauth.DeviceStatus(field(vals, 0))
	switch status {
	case oauth.DevicePending, oauth.DeviceSlowDown, oauth.DeviceApproved, oauth.DeviceDenied, oauth.DeviceExpired:
	default:
		return nil, scriptStatus(op, deviceHash, string(status))
	}
	d, err := device(op, deviceHash, vals)
	if err != nil {
		return nil, err
	}
	return &oauth.DevicePoll{Status: status, Interval: d.Interval, Device: d}, nil
}
