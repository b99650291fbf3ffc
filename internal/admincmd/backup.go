package admincmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// backupFormat names the backup document.
const backupFormat = "mcp-oauth-gateway-backup"

// backup is the document: what a restart needs so that no client has to
// register again and no user has to sign in again. Secrets are only there
// hashed (client secrets, registration and refresh tokens) or sealed
// (GitHub tokens); the signing keys are there in full, so the file is as
// private as the store.
//
// Left out: sign-ins in progress, authorization codes and device
// authorizations (minutes long), quota counters and traces.
type backup struct {
	Format        string              `json:"format"`
	Version       int                 `json:"version"`
	Created       time.Time           `json:"created"`
	Clients       []*oauth.Client     `json:"clients"`
	RefreshTokens []refreshRecord     `json:"refresh_tokens"`
	Revocations   []oauth.Revocation  `json:"revocations"`
	SigningKeys   []*oauth.SigningKey `json:"signing_keys"`
}

type refreshRecord struct {
	Hash  string              `json:"hash"`
	Token *oauth.RefreshToken `json:"token"`
}

func (r *runner) backup(ctx context.Context, path string) error {
	b := backup{Format: backupFormat, Version: 1, Created: r.now().UTC(),
		Clients: []*oauth.Client{}, RefreshTokens: []refreshRecord{}, Revocations: []oauth.Revocation{}}
	if err := r.s.Clients(ctx, func(c *oauth.Client) error { b.Clients = append(b.Clients, c); return nil }); err != nil {
		return err
	}
	err := r.s.RefreshTokens(ctx, func(h string, t *oauth.RefreshToken) error {
		b.RefreshTokens = append(b.RefreshTokens, refreshRecord{h, t})
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.s.Revocations(ctx, func(rv oauth.Revocation) error { b.Revocations = append(b.Revocations, rv); return nil }); err != nil {
		return err
	}
	if b.SigningKeys, err = r.s.ListKeys(ctx); err != nil {
		return err
	}
	data, err := json.MarshalIndent(&b, "", " ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = r.stdout.Write(data)
		return err
	}
	if err := writePrivate(path, data); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "backup %s: %d clients, %d refresh tokens, %d revocations, %d signing keys\n",
		path, len(b.Clients), len(b.RefreshTokens), len(b.Revocations), len(b.SigningKeys))
	return nil
}

// writePrivate writes data to path (mode 0600) through a temporary file,
// so that a failure leaves no half-written backup.
func writePrivate(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func (r *runner) restore(ctx context.Context, path string) error {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(r.stdin, 1<<30))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return err
	}
	var b backup
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("restore %s: not a backup: %v", path, err)
	}
	if b.Format != backupFormat || b.Version != 1 {
		return fmt.Errorf("restore %s: not a backup of this gateway (format %q, version %d)", path, b.Format, b.Version)
	}
	for _, c := range b.Clients {
		if c == nil || c.ID == "" {
			return fmt.Errorf("restore %s: a client without an id", path)
		}
		if err := r.s.RestoreClient(ctx, c); err != nil {
			return err
		}
	}
	for _, rt := range b.RefreshTokens {
		if rt.Token == nil || rt.Hash == "" {
			return fmt.Errorf("restore %s: a refresh token without its hash", path)
		}
		if err := r.s.RestoreRefresh(ctx, rt.Hash, rt.Token); err != nil {
			return err
		}
	}
	for _, rv := range b.Revocations {
		if err := r.s.RestoreRevocation(ctx, rv); err != nil {
			return err
		}
	}
	added, err := r.restoreKeys(ctx, b.SigningKeys)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "restored %d clients, %d refresh tokens, %d revocations, %d signing keys (%d already there)\n",
		len(b.Clients), len(b.RefreshTokens), len(b.Revocations), added, len(b.SigningKeys)-added)
	return nil
}

// restoreKeys adds the keys the store lacks, oldest first, each with the
// store's compare-and-set on its newest key.
func (r *runner) restoreKeys(ctx context.Context, keys []*oauth.SigningKey) (int, error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b *oauth.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	added := 0
	for _, k := range keys {
		if k == nil || k.ID == "" {
			return added, errors.New("restore: a signing key without an id")
		}
		for attempt := 0; ; attempt++ {
			have, err := r.s.ListKeys(ctx)
			if err != nil {
				return added, err
			}
			if slices.ContainsFunc(have, func(h *oauth.SigningKey) bool { return h.ID == k.ID }) {
				break
			}
			newest := ""
			if len(have) > 0 {
				newest = have[0].ID
			}
			err = r.s.AddKey(ctx, k, newest)
			if err == nil {
				added++
				break
			}
			if !errors.Is(err, oauth.ErrConflict) || attempt == 5 {
				return added, err
			}
		}
	}
	return added, nil
}
