package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// ErrHelp is returned by Parse after it printed the help text asked for
// with --help or -h.
var ErrHelp = flag.ErrHelp

// SettingError is a bad value of one setting. Its message names the flag
// and every environment variable of the setting, the value (unless the
// setting is a secret) and where it came from.
type SettingError struct {
	Flag   string   // the flag's name without dashes; empty for a setting read only from the environment
	Env    []string // the setting's environment variables
	Value  string   // the value refused
	Secret bool     // the value is a secret: the message leaves it out
	Source string   // "--flag", the variable that gave the value (a secret's file: NAME_FILE or --FLAG-file), or "" for the default
	Err    error    // what is wrong with it
}

func (e *SettingError) Error() string {
	var b strings.Builder
	b.WriteString("bad value ")
	if !e.Secret {
		fmt.Fprintf(&b, "%q ", e.Value)
	}
	b.WriteString("for ")
	b.WriteString(settingNames(e.Flag, e.Env))
	switch {
	case e.Source == "":
		b.WriteString(" (its default)")
	case e.Source == "--"+e.Flag || (e.Flag == "" && len(e.Env) == 1 && e.Source == e.Env[0]):
		// The only name shown: no need to say it again.
	default:
		fmt.Fprintf(&b, " (from %s)", e.Source)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *SettingError) Unwrap() error { return e.Err }

// settingNames is "--flag / VAR1 / VAR2".
func settingNames(flagName string, env []string) string {
	var names []string
	if flagName != "" {
		names = append(names, "--"+flagName)
	}
	names = append(names, env...)
	return strings.Join(names, " / ")
}

// UsageError is a command line that cannot run: an unknown flag, a stray
// argument, settings that contradict each other, a missing one.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage error (exit status 2). A nil err stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: err}
}

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Status is the exit status for the error a binary ends with: 0 for nil
// and ErrHelp, 2 for a SettingError or UsageError, 1 for anything else
// (the server could not run).
func Status(err error) int {
	var se *SettingError
	var ue *UsageError
	switch {
	case err == nil || errors.Is(err, ErrHelp):
		return 0
	case errors.As(err, &se) || errors.As(err, &ue):
		return 2
	}
	return 1
}

// Exit writes err to stderr as "name: message" (nothing for nil or
// ErrHelp) and returns its Status.
func Exit(stderr io.Writer, name string, err error) int {
	if err != nil && !errors.Is(err, ErrHelp) {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}
	return Status(err)
}
