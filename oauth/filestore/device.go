package filestore

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// device is a stored device authorization with its user code.
type device struct {
	UserCode string                     `json:"user_code"`
	Auth     *oauth.DeviceAuthorization `json:"auth"`
}

// dropTime is when the sweep deletes d: UsedCodeRetention after expiry,
// so a late poll still learns that it expired.
func (d *device) dropTime() time.Time {
	return d.Auth.ExpiresAt.Add(oauth.UsedCodeRetention)
}

func (s *Store) PutDevice(ctx context.Context, deviceHash, userCode string, d *oauth.DeviceAuthorization) error {
	if deviceHash == "" || userCode == "" || d == nil {
		return errEmpty("put device")
	}
	if d.ExpiresAt.IsZero() {
		return errNoExpiry("put device", deviceHash)
	}
	if err := ctxErr(ctx, "put device"); err != nil {
		return err
	}
	now := s.now()
	return s.update("put device", deviceHash, func(tx *bolt.Tx) error {
		b := tx.Bucket(bDevices)
		var old device
		ok, err := get(b, []byte(deviceHash), &old)
		if err != nil {
			return err
		}
		if ok && !expired(old.dropTime(), now) {
			return oauth.ErrExists
		}
		if _, live, err := liveDevice(tx, userCode, now); err != nil {
			return err
		} else if live != nil {
			return fmt.Errorf("user code: %w", oauth.ErrExists)
		}
		rec := device{UserCode: userCode, Auth: oauth.PutDeviceStep(d)}
		if err := put(b, []byte(deviceHash), rec.dropTime(), &rec); err != nil {
			return err
		}
		return tx.Bucket(bUserCodes).Put([]byte(userCode), []byte(deviceHash))
	})
}

// liveDevice returns the unexpired device authorization of a user code and
// its device hash, or nil.
func liveDevice(tx *bolt.Tx, userCode string, now time.Time) ([]byte, *device, error) {
	h := tx.Bucket(bUserCodes).Get([]byte(userCode))
	if h == nil {
		return nil, nil, nil
	}
	var d device
	ok, err := get(tx.Bucket(bDevices), h, &d)
	if err != nil || !ok || d.Auth == nil || d.UserCode != userCode || expired(d.Auth.ExpiresAt, now) {
		return nil, nil, err
	}
	return append([]byte(nil), h...), &d, nil
}

// dropDevice removes a device authorization and its user code.
func dropDevice(tx *bolt.Tx, deviceHash []byte) error {
	b := tx.Bucket(bDevices)
	var d device
	ok, err := get(b, deviceHash, &d)
	if err != nil || !ok {
		return err
	}
	if err := b.Delete(deviceHash); err != nil {
		return err
	}
	codes := tx.Bucket(bUserCodes)
	if h := codes.Get([]byte(d.UserCode)); h != nil && string(h) == string(deviceHash) {
		return codes.Delete([]byte(d.UserCode))
	}
	return nil
}

func (s *Store) GetDevice(ctx context.Context, userCode string) (*oauth.DeviceAuthorization, error) {
	if err := ctxErr(ctx, "get device"); err != nil {
		return nil, err
	}
	now := s.now()
	var d *device
	err := s.view("get device", "user code", func(tx *bolt.Tx) (err error) {
		_, d, err = liveDevice(tx, userCode, now)
		if err == nil && d == nil {
			err = oauth.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d.Auth, nil
}

func (s *Store) ApproveDevice(ctx context.Context, userCode string, u oauth.Identity, authTime time.Time, upstream []byte) error {
	return s.decideDevice(ctx, userCode, oauth.DeviceApproved, &u, authTime, upstream)
}

func (s *Store) DenyDevice(ctx context.Context, userCode string) error {
	return s.decideDevice(ctx, userCode, oauth.DeviceDenied, nil, time.Time{}, nil)
}

func (s *Store) decideDevice(ctx context.Context, userCode string, status oauth.DeviceStatus, u *oauth.Identity, authTime time.Time, upstream []byte) error {
	if err := ctxErr(ctx, "decide device"); err != nil {
		return err
	}
	now := s.now()
	return s.update("decide device", "user code", func(tx *bolt.Tx) error {
		h, d, err := liveDevice(tx, userCode, now)
		if err != nil {
			return err
		}
		if d == nil {
			return oauth.ErrNotFound
		}
		if err := oauth.DecideDeviceStep(d.Auth, status, u, authTime, upstream); err != nil {
			return err
		}
		return put(tx.Bucket(bDevices), h, d.dropTime(), d)
	})
}

func (s *Store) PollDevice(ctx context.Context, deviceHash string) (*oauth.DevicePoll, error) {
	if err := ctxErr(ctx, "poll device"); err != nil {
		return nil, err
	}
	now := s.now()
	var out *oauth.DevicePoll
	err := s.update("poll device", deviceHash, func(tx *bolt.Tx) error {
		b := tx.Bucket(bDevices)
		var d device
		ok, err := get(b, []byte(deviceHash), &d)
		if err != nil {
			return err
		}
		if !ok || d.Auth == nil || expired(d.dropTime(), now) {
			return oauth.ErrNotFound
		}
		status := oauth.PollDeviceStep(d.Auth, now)
		out = &oauth.DevicePoll{Status: status, Interval: d.Auth.Interval, Device: d.Auth}
		switch status {
		case oauth.DeviceApproved, oauth.DeviceDenied:
			return dropDevice(tx, []byte(deviceHash))
		case oauth.DeviceExpired:
			return nil
		}
		return put(b, []byte(deviceHash), d.dropTime(), &d)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
