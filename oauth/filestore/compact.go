package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	bolt "go.etcd.io/bbolt"
)

// Compaction. bbolt reuses the pages that deleted records free, but never
// gives them back to the file system: a flood that was swept since leaves
// the file as large as it was at the flood's peak. Compact rewrites the
// live records into a fresh file next to the store's and renames it over
// the old one:
//
//   - Writers and readers wait: Compact holds the store's lock
//     exclusively, so no change made meanwhile can be lost, and no
//     transaction sees the file change under it.
//   - Crash-safe: the old file is not touched until the new one is
//     complete and synced to disk; the rename replaces it atomically, and
//     the directory is synced after. A crash before the rename leaves the
//     old file as it was (and a stray path+".compact", removed by the next
//     compaction); a crash after it leaves the new one.
//   - The file lock is never released: the new file is opened (and
//     locked) before the rename, and the store goes on with that handle,
//     so another process cannot slip in between. (On Windows, where an
//     open file cannot be replaced, both files are closed for the rename
//     and the store's file is opened again.)
//
// The store compacts by itself at Open and after each periodic sweep when
// at least Options.CompactRatio of a file of at least
// Options.CompactMinBytes holds no data.

const (
	compactSuffix          = ".compact"
	defaultCompactRatio    = 0.5
	defaultCompactMinBytes = 1 << 20
	// compactTxBytes is how much one transaction of the copy writes.
	compactTxBytes = 4 << 20
)

// Stats describe the store's file.
type Stats struct {
	// Records counts the records of each kind (by bucket name: "clients",
	// "pending", "devices", ...), expired ones not yet swept included.
	Records map[string]int
	// FileBytes is the size of the file; FreeBytes how much of it holds no
	// data, which a compaction gives back (up to bbolt's growth step).
	FileBytes, FreeBytes int64
	// QuotaWindows is how many quota counters are kept (in memory).
	QuotaWindows int
}

// Stats reports the records and the size of the file.
func (s *Store) Stats() (Stats, error) {
	st := Stats{Records: make(map[string]int), QuotaWindows: s.quotas.Len()}
	err := s.view("stats", s.path, func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if b := tx.Bucket(name); b != nil && string(name) != string(bMeta) {
				st.Records[string(name)] = b.Stats().KeyN
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st.FileBytes, st.FreeBytes, err = s.space()
	return st, err
}

// space returns the file's size and how much of it is free: pages on
// bbolt's free list and the tail past its high-water mark. s.mu is held.
func (s *Store) space() (size, free int64, err error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, 0, fmt.Errorf("filestore: %w", err)
	}
	var used, pageSize int64
	err = s.db.View(func(tx *bolt.Tx) error {
		used = tx.Size()
		// Info reads the mapping, which a write transaction that grows
		// the file replaces; an open read transaction holds that off.
		pageSize = int64(tx.DB().Info().PageSize)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("filestore: stats: %w", err)
	}
	st := s.db.Stats()
	used -= int64(st.FreePageN+st.PendingPageN) * pageSize
	return fi.Size(), max(0, fi.Size()-used), nil
}

// maybeCompact compacts the file when enough of it is free; a failure is
// logged, the store goes on with the old file.
func (s *Store) maybeCompact() {
	if s.compactRatio < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	size, free, err := s.space()
	if err != nil || size < s.compactMinBytes || float64(free) < s.compactRatio*float64(size) {
		return
	}
	if err := s.compact(); err != nil {
		s.log.Warn("filestore: compaction failed; the store goes on with the old file", "path", s.path, "error", err)
		return
	}
	after, _, _ := s.space()
	s.log.Info("filestore: compacted", "path", s.path, "bytes_before", size, "bytes_after", after)
}

// Compact rewrites the file without its free space now (see the comment
// at the top of compact.go); every call waits for it. The store also
// compacts by itself (Options.CompactRatio).
func (s *Store) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stop:
		return fmt.Errorf("filestore: compact %s: the store is closed", s.path)
	default:
	}
	return s.compact()
}

// compact does the work of Compact. s.mu is held exclusively.
func (s *Store) compact() (err error) {
	defer recoverCorrupt("compact", s.path, &err)
	tmp := s.path + compactSuffix
	if err := os.Remove(tmp); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("filestore: compact: remove the stale %s: %w", tmp, err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: s.lockTimeout})
	if err != nil {
		return fmt.Errorf("filestore: compact: %w", err)
	}
	done := false
	defer func() {
		if !done {
			dst.Close()
			os.Remove(tmp)
		}
	}()
	if err := bolt.Compact(dst, s.db, compactTxBytes); err != nil {
		return fmt.Errorf("filestore: compact %s: %w", s.path, err)
	}
	// Every transaction of the copy was synced when it committed; this
	// also flushes the file's size.
	if err := dst.Sync(); err != nil {
		return fmt.Errorf("filestore: compact: %w", err)
	}
	if runtime.GOOS == "windows" {
		return s.replaceClosed(dst, tmp, &done)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("filestore: compact: %w", err)
	}
	done = true
	syncDir(filepath.Dir(s.path))
	old := s.db
	s.db = dst
	_ = old.Close() // the old file is unlinked already; nothing is lost
	return nil
}

// replaceClosed is compact's last step where an open file cannot be
// replaced: close both, rename, open the store's file again.
func (s *Store) replaceClosed(dst *bolt.DB, tmp string, done *bool) error {
	if err := dst.Close(); err != nil {
		return fmt.Errorf("filestore: compact: %w", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("filestore: compact: %w", err)
	}
	*done = true
	renameErr := os.Rename(tmp, s.path)
	if renameErr != nil {
		os.Remove(tmp)
	}
	db, err := openBolt(s.path, s.lockTimeout)
	if err != nil {
		return fmt.Errorf("filestore: compact: reopen %s: %w", s.path, err)
	}
	s.db = db
	if renameErr != nil {
		return fmt.Errorf("filestore: compact: %w", renameErr)
	}
	return nil
}

// syncDir makes a rename in dir durable. Not every system can sync a
// directory; the rename is atomic all the same.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
