package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// A secret's value may come from a file, the way Docker and Kubernetes
// mount secrets (/run/secrets/NAME): for a Secret with the variable NAME,
// NAME_FILE names the file; a secret with a flag has --FLAG-file too, and
// FileFlag gives one to a secret read only from the environment.
//
// The rules, the same for every secret of every binary:
//   - NAME and NAME_FILE both set (or --FLAG and --FLAG-file both given) is
//     an error naming both; as for every setting, the command line wins over
//     the environment.
//   - Surrounding whitespace is dropped, as from a variable (echo's
//     newline, an editor's); lines inside are kept (UPSTREAM_KEYS_FILE holds
//     one key per line).
//   - A file that cannot be read, that is empty once trimmed, or that is
//     larger than MaxSecretFile is an error naming the setting, its file
//     variable or flag, and the path, never the contents.
//   - The file's permissions are not checked: Docker mounts secrets 0444
//     and Kubernetes 0644 by default, inside a container only its own
//     processes see them, and a warning on every start would be noise. Who
//     can read the file is the operator's choice, as who can read the
//     environment is.

// MaxSecretFile is the largest file a secret is read from. A secret is a
// password or a key, some kilobytes at most; a larger file is the wrong
// one (a log, an archive), and it is refused rather than read whole.
const MaxSecretFile = 1 << 20

// FileFlag gives the secret setting (its flag or first variable) a flag
// naming the file that holds its value, for a secret read only from the
// environment: its value on a command line would be visible to the other
// users of the machine, a path is not. A Secret with a flag gets
// --FLAG-file without it.
func (c *Command) FileFlag(flagName, setting string) {
	s := c.lookup(setting)
	if !s.secret || s.fileFlag != "" || flagName == "" {
		panic("cli: bad file flag " + flagName + " for " + setting)
	}
	c.addFileFlag(s, flagName)
}

func (c *Command) addFileFlag(s *setting, flagName string) {
	if _, dup := c.byName[flagName]; dup {
		panic("cli: setting " + flagName + " registered twice")
	}
	s.fileFlag = flagName
	c.byName[flagName] = s
}

// fileVars are the variables naming the setting's file: NAME_FILE for
// each of a secret's variables, none for other settings.
func (s *setting) fileVars() []string {
	if !s.secret {
		return nil
	}
	out := make([]string, len(s.env))
	for i, name := range s.env {
		out[i] = name + "_FILE"
	}
	return out
}

// fileBad is a SettingError for the file of the setting named by source
// (its file variable or "--" and its file flag).
func (s *setting) fileBad(source string, err error) *SettingError {
	return &SettingError{Flag: s.flag, Env: s.env, Secret: true, Source: source, Err: err}
}

// readSecretFile returns the contents of the file at path, trimmed. Its
// errors name the path and never hold the contents.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, pathCause(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return "", fmt.Errorf("%s is a directory, not a file", path)
	}
	// A pipe or a device has no size to check first: read one byte past
	// the bound.
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, pathCause(err))
	}
	if len(b) > MaxSecretFile {
		return "", fmt.Errorf("%s is larger than %s: not a secret", path, formatSize(MaxSecretFile))
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("the file %s is empty", path)
	}
	return v, nil
}

// pathCause is the cause of a *fs.PathError, whose own message repeats
// the path.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
