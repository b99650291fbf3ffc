package mcpauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gofrs/flock"
)

// FileFormat and FileVersion identify the credentials file format. The
// format is documented in the package README and changes only with a new
// version number, never with the program's version: a newer program reads
// every older version, and a file of a version it does not know is refused
// rather than overwritten.
const (
	FileFormat  = "mcp-oauth-gateway/credentials"
	FileVersion = 1
)

// fileData is the file's content.
type fileData struct {
	Format        string         `json:"format"`
	Version       int            `json:"version"`
	Registrations []Registration `json:"registrations"`
	Tokens        []Tokens       `json:"tokens"`
}

// FileStore is a Store in one JSON file of mode 0600, shared safely by
// every process of the user: each change is a read-modify-write under an
// exclusive file lock, written to a temporary file and renamed into place,
// so a reader never sees half a file and a crash loses no entry. Named
// locks (Lock) are lock files in the "locks" directory next to it.
type FileStore struct {
	path string
}

var _ Store = (*FileStore)(nil)

// DefaultFilePath returns the credentials file of a program called name
// under the user's configuration directory (os.UserConfigDir), e.g.
// ~/.config/NAME/credentials.json on Linux.
func DefaultFilePath(name string) (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("mcpauth: %w", err)
	}
	return filepath.Join(dir, name, "credentials.json"), nil
}

// NewFileStore returns a FileStore at path. The file and its directory
// (mode 0700) are created on the first save.
func NewFileStore(path string) (*FileStore, error) {
	if path == "" {
		return nil, errors.New("mcpauth: empty credentials file path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("mcpauth: %w", err)
	}
	return &FileStore{path: abs}, nil
}

// Path returns the file's path.
func (s *FileStore) Path() string { return s.path }

func (s *FileStore) read() (*fileData, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &fileData{Format: FileFormat, Version: FileVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mcpauth: read %s: %w", s.path, err)
	}
	var d fileData
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("mcpauth: %s is not a credentials file: %w", s.path, err)
	}
	if d.Format != FileFormat {
		return nil, fmt.Errorf("mcpauth: %s is not a credentials file (format %q)", s.path, d.Format)
	}
	if d.Version < 1 || d.Version > FileVersion {
		return nil, fmt.Errorf("mcpauth: %s has format version %d; this program reads versions 1 to %d", s.path, d.Version, FileVersion)
	}
	return &d, nil
}

// update applies fn to the file's content under the file lock.
func (s *FileStore) update(ctx context.Context, fn func(*fileData)) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("mcpauth: %w", err)
	}
	unlock, err := lockFile(ctx, s.path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	d, err := s.read()
	if err != nil {
		return err
	}
	fn(d)
	d.Format, d.Version = FileFormat, FileVersion
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("mcpauth: %w", err)
	}
	if err := writeAtomic(s.path, append(b, '\n')); err != nil {
		return fmt.Errorf("mcpauth: write %s: %w", s.path, err)
	}
	return nil
}

// writeAtomic writes b to a temporary file of mode 0600 next to path,
// syncs it and renames it to path.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(b)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (s *FileStore) Tokens(_ context.Context, server string) (*Tokens, error) {
	d, err := s.read()
	if err != nil {
		return nil, err
	}
	for i := range d.Tokens {
		if d.Tokens[i].Server == server {
			return &d.Tokens[i], nil
		}
	}
	return nil, ErrNotFound
}

func (s *FileStore) SaveTokens(ctx context.Context, t *Tokens) error {
	return s.update(ctx, func(d *fileData) {
		d.Tokens = slices.DeleteFunc(d.Tokens, func(x Tokens) bool { return x.Server == t.Server })
		d.Tokens = append(d.Tokens, *t)
	})
}

func (s *FileStore) DeleteTokens(ctx context.Context, server string) error {
	return s.update(ctx, func(d *fileData) {
		d.Tokens = slices.DeleteFunc(d.Tokens, func(x Tokens) bool { return x.Server == server })
	})
}

func (s *FileStore) Registration(_ context.Context, issuer string) (*Registration, error) {
	d, err := s.read()
	if err != nil {
		return nil, err
	}
	for i := range d.Registrations {
		if d.Registrations[i].Issuer == issuer {
			return &d.Registrations[i], nil
		}
	}
	return nil, ErrNotFound
}

func (s *FileStore) SaveRegistration(ctx context.Context, r *Registration) error {
	return s.update(ctx, func(d *fileData) {
		d.Registrations = slices.DeleteFunc(d.Registrations, func(x Registration) bool { return x.Issuer == r.Issuer })
		d.Registrations = append(d.Registrations, *r)
	})
}

func (s *FileStore) DeleteRegistration(ctx context.Context, issuer string) error {
	return s.update(ctx, func(d *fileData) {
		d.Registrations = slices.DeleteFunc(d.Registrations, func(x Registration) bool { return x.Issuer == issuer })
	})
}

// Lock takes the lock file locks/HASH.lock next to the credentials file,
// HASH being derived from name.
func (s *FileStore) Lock(ctx context.Context, name string) (func(), error) {
	dir := filepath.Join(filepath.Dir(s.path), "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mcpauth: %w", err)
	}
	sum := sha256.Sum256([]byte(name))
	return lockFile(ctx, filepath.Join(dir, hex.EncodeToString(sum[:8])+".lock"))
}

// lockFile takes an exclusive flock on path, polling until ctx ends.
func lockFile(ctx context.Context, path string) (func(), error) {
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("mcpauth: lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("mcpauth: lock %s: not acquired", path)
	}
	return func() { _ = fl.Unlock() }, nil
}
