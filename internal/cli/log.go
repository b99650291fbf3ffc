package cli

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// LogFile is the --log-file setting (LOG_FILE), as the echo and proxy
// originals had it: a file the logs are appended to besides stderr.
type LogFile struct {
	c    *Command
	path *string
}

// LogFile registers --log-file, read from LOG_FILE.
func (c *Command) LogFile() *LogFile {
	return &LogFile{c: c, path: c.String("log-file", "", "also append the logs to this `FILE` (its directory is created)", "LOG_FILE")}
}

// Path is the file, or "" for none.
func (f *LogFile) Path() string { return *f.path }

// Logger returns a text logger at level that writes to w and, with a log
// file, appends the same lines to it (its directory is created). A file
// that cannot be opened is a SettingError of --log-file. closeLog closes
// the file; call it when the binary ends.
func (f *LogFile) Logger(w io.Writer, level slog.Leveler) (log *slog.Logger, closeLog func(), err error) {
	closeLog = func() {}
	if path := *f.path; path != "" {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, nil, f.c.Bad("log-file", err)
			}
		}
		file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, f.c.Bad("log-file", err)
		}
		w, closeLog = io.MultiWriter(w, file), func() { file.Close() }
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closeLog, nil
}
